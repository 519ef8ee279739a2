package conformance

import (
	"context"
	"encoding/xml"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// bucketURL is the URL a form posts to (path style).
func (tg Target) bucketURL(bucket string) string { return tg.Endpoint + "/" + bucket }

// testPresignedPost checks browser-form uploads: forms built by
// aws-sdk-go-v2's PresignPostObject and minio-go's PresignedPostPolicy,
// every success answer (204, 200, 201 with PostResponse, 303 redirect),
// ${filename}, metadata, tags, checksums, encryption, a file larger than
// any buffer — and each refusal, after which nothing is stored.
func testPresignedPost(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "post")

	t.Run("AWSSDK", func(t *testing.T) {
		ps := s3.NewPresignClient(c)
		req, err := ps.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("uploads/${filename}")}, func(o *s3.PresignPostOptions) {
			o.Expires = 10 * time.Minute
			o.Conditions = []any{
				[]any{"starts-with", "$key", "uploads/"},
				[]any{"content-length-range", 1, 1 << 20},
				map[string]string{"Content-Type": "text/plain"},
				map[string]string{"x-amz-meta-origin": "sdk"},
				map[string]string{"success_action_status": "201"},
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		fields := append(fieldsOf(req.Values), FormField{"Content-Type", "text/plain"}, FormField{"x-amz-meta-origin", "sdk"},
			FormField{"success_action_status", "201"})
		r := PostForm(t, req.URL, fields, postFile(`C:\Users\me\report.txt`, "hello from a form"))
		if r.Status != 201 {
			t.Fatalf("SDK form: %d %s", r.Status, r.Body)
		}
		var pr struct {
			Location, Bucket, Key, ETag string
		}
		if err := xml.Unmarshal(r.Body, &pr); err != nil || pr.Bucket != b || pr.Key != "uploads/report.txt" ||
			pr.ETag != `"`+MD5Hex([]byte("hello from a form"))+`"` || !strings.HasSuffix(pr.Location, "/"+b+"/uploads/report.txt") {
			t.Fatalf("PostResponse %+v (%v): %s", pr, err, r.Body)
		}
		if r.Header.Get("ETag") != pr.ETag || r.Header.Get("x-amz-version-id") == "" {
			t.Fatalf("headers %v", r.Header)
		}
		out, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("uploads/report.txt")})
		if string(body) != "hello from a form" || aws.ToString(out.ContentType) != "text/plain" || out.Metadata["origin"] != "sdk" ||
			aws.ToString(out.VersionId) != r.Header.Get("x-amz-version-id") {
			t.Fatalf("stored %q %v %v", body, aws.ToString(out.ContentType), out.Metadata)
		}
		// The same form with a file over the range: nothing stored.
		r = PostForm(t, req.URL, fields, &FormFile{Name: "big.txt", ContentType: "text/plain", Body: NewData(1, 1<<20+1)})
		wantPostError(t, "over content-length-range", r, "EntityTooLarge", 400, "exceeds the maximum allowed size")
		tg.headMissing(t, b, "uploads/big.txt")
		r = PostForm(t, req.URL, fields, postFile("empty.txt", ""))
		wantPostError(t, "under content-length-range", r, "EntityTooSmall", 400, "smaller than the minimum allowed size")
		tg.headMissing(t, b, "uploads/empty.txt")
		// Out of the key prefix.
		bad := append([]FormField(nil), fields...)
		bad[0].Value = "elsewhere/${filename}"
		r = PostForm(t, req.URL, bad, postFile("x.txt", "x"))
		wantPostError(t, "key outside the prefix", r, "AccessDenied", 403, `Invalid according to Policy: Policy Condition failed: ["starts-with","$key","uploads/"]`)
		tg.headMissing(t, b, "elsewhere/x.txt")
	})

	t.Run("Minio", func(t *testing.T) {
		mc := tg.Minio(t, false)
		body := []byte("posted through minio-go's policy")
		sum := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))
		p := minio.NewPostPolicy()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(p.SetBucket(b))
		must(p.SetKey("minio/object.bin"))
		must(p.SetExpires(time.Now().Add(10 * time.Minute)))
		must(p.SetContentType("application/octet-stream"))
		must(p.SetContentLengthRange(1, 1<<20))
		must(p.SetUserMetadata("who", "minio"))
		must(p.SetChecksum(minio.NewChecksum(minio.ChecksumCRC32C, []byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})))
		must(p.SetSuccessActionRedirect("http://app.example/done?from=form"))
		u, form, err := mc.PresignedPostPolicy(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		r := PostForm(t, u.String(), fieldsOf(form), &FormFile{Name: "object.bin", Body: strings.NewReader(string(body))})
		if r.Status != 303 {
			t.Fatalf("minio-go form: %d %s", r.Status, r.Body)
		}
		loc, err := url.Parse(r.Header.Get("Location"))
		if err != nil || loc.Host != "app.example" || loc.Query().Get("from") != "form" || loc.Query().Get("bucket") != b ||
			loc.Query().Get("key") != "minio/object.bin" || loc.Query().Get("etag") != `"`+MD5Hex(body)+`"` {
			t.Fatalf("redirect to %q", r.Header.Get("Location"))
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("minio/object.bin"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || head.Metadata["who"] != "minio" || aws.ToString(head.ContentType) != "application/octet-stream" ||
			aws.ToString(head.ChecksumCRC32C) != form["x-amz-checksum-crc32c"] {
			t.Fatalf("stored: %+v %v", head, err)
		}
		// The same form with other bytes: the checksum refuses them.
		r = PostForm(t, u.String(), fieldsOf(form), &FormFile{Name: "object.bin", Body: strings.NewReader("other bytes")})
		wantPostError(t, "checksum mismatch", r, "BadDigest", 400, "")
		if _, got := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("minio/object.bin")}); string(got) != string(body) {
			t.Fatalf("a refused form replaced the object: %q", got)
		}
	})

	t.Run("Answers", func(t *testing.T) {
		for _, tc := range []struct {
			status string
			want   int
		}{{"", 204}, {"200", 200}, {"204", 204}, {"404", 204}} {
			fields := []FormField{{"key", "answer-" + tc.status}}
			if tc.status != "" {
				fields = append(fields, FormField{"success_action_status", tc.status})
			}
			r := PostForm(t, tg.bucketURL(b), tg.SignedForm(b, fields), postFile("f", "x"))
			if r.Status != tc.want || len(r.Body) != 0 || r.Header.Get("ETag") == "" ||
				!strings.HasSuffix(r.Header.Get("Location"), "/"+b+"/answer-"+tc.status) {
				t.Fatalf("success_action_status %q: %d %q %v", tc.status, r.Status, r.Body, r.Header)
			}
		}
		// A redirect S3 cannot use is ignored; the status applies.
		r := PostForm(t, tg.bucketURL(b), tg.SignedForm(b, []FormField{{"key", "noredirect"}, {"success_action_redirect", "not a url"},
			{"success_action_status", "200"}}), postFile("f", "x"))
		if r.Status != 200 {
			t.Fatalf("unusable redirect: %d %s", r.Status, r.Body)
		}
	})

	t.Run("Fields", func(t *testing.T) {
		// Tags (a Tagging document), content headers, metadata with any
		// value a condition allows, x-ignore-* and fields after the file.
		tagging := `<Tagging><TagSet><Tag><Key>src</Key><Value>form</Value></Tag></TagSet></Tagging>`
		// Conditions see the key with ${filename} expanded.
		fields := tg.SignedForm(b, []FormField{{"tagging", tagging}, {"Cache-Control", "max-age=60"}, {"Content-Disposition", "inline"}},
			[]any{"starts-with", "$x-amz-meta-note", ""}, []any{"starts-with", "$key", "fields/a "})
		fields = append(fields, FormField{"key", "fields/${filename}"}, FormField{"x-amz-meta-note", "any note"},
			FormField{"x-ignore-widget", "not in the policy"})
		r := PostForm(t, tg.bucketURL(b), fields, postFile("a b.txt", "fields"), FormField{"after", "ignored"})
		if r.Status != 204 {
			t.Fatalf("form with fields: %d %s", r.Status, r.Body)
		}
		out, _ := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("fields/a b.txt")})
		if aws.ToString(out.CacheControl) != "max-age=60" || aws.ToString(out.ContentDisposition) != "inline" || out.Metadata["note"] != "any note" ||
			aws.ToInt32(out.TagCount) != 1 || aws.ToString(out.ContentType) != "binary/octet-stream" {
			t.Fatalf("stored %+v", out)
		}
		if got, _ := getTags(t, c, b, "fields/a b.txt", nil); got != "src=form;" {
			t.Fatalf("tags %q", got)
		}
		// A file far larger than any buffer streams through.
		data := NewData(2, 12<<20+5)
		r = PostForm(t, tg.bucketURL(b), tg.SignedForm(b, []FormField{{"key", "large"}}), &FormFile{Name: "large", Body: data})
		if r.Status != 204 {
			t.Fatalf("large form: %d %s", r.Status, r.Body)
		}
		got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("large")})
		if err != nil {
			t.Fatal(err)
		}
		n, sum, err := HashReader(got.Body)
		got.Body.Close()
		if err != nil || n != data.Size || sum != data.SHA256() {
			t.Fatalf("large object read back: %d bytes, %v", n, err)
		}
	})

	t.Run("Encrypted", func(t *testing.T) {
		r := PostForm(t, tg.bucketURL(b), tg.SignedForm(b, []FormField{{"key", "sse"}, {"x-amz-server-side-encryption", "AES256"}}),
			&FormFile{Name: "sse", Body: NewData(3, 200<<10+3)})
		if r.Status != 204 || r.Header.Get("x-amz-server-side-encryption") != "AES256" {
			t.Fatalf("SSE-B2 form: %d %s %v", r.Status, r.Body, r.Header)
		}
		out, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("sse")})
		if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || !bytesEqual(body, NewData(3, 200<<10+3).Bytes(0, 200<<10+3)) {
			t.Fatalf("SSE-B2 object read back: %v, %d bytes", out.ServerSideEncryption, len(body))
		}
	})

	t.Run("Refusals", func(t *testing.T) { testPostRefusals(t, tg, b) })
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// testPostRefusals: each malformed, unauthenticated or out-of-policy form
// gets S3's error, and nothing is stored.
func testPostRefusals(t *testing.T, tg Target, b string) {
	u := tg.bucketURL(b)
	file := func() *FormFile { return postFile("f.txt", "refused") }
	good := func(key string) []FormField { return tg.SignedForm(b, []FormField{{"key", key}}) }
	with := func(fields []FormField, name, value string) []FormField {
		out := append([]FormField(nil), fields...)
		for i, f := range out {
			if f.Name == name {
				out[i].Value = value
				return out
			}
		}
		return append(out, FormField{name, value})
	}
	without := func(fields []FormField, name string) []FormField {
		var out []FormField
		for _, f := range fields {
			if f.Name != name {
				out = append(out, f)
			}
		}
		return out
	}
	policyOf := func(conds ...any) []FormField {
		now := time.Now()
		p := Policy{Expiration: now.Add(time.Hour), Conditions: conds}
		for _, f := range tg.postAuth(tg.AccessKeyID, now) {
			p.Conditions = append(p.Conditions, map[string]string{f.Name: f.Value})
		}
		return append([]FormField{{"key", "k"}}, tg.SignPolicy(p.JSON(), now)...)
	}
	keyCond := map[string]string{"key": "k"}
	bucketCond := map[string]string{"bucket": b}

	cases := []struct {
		name   string
		send   func() Raw
		code   string
		status int
		msg    string
	}{
		{"not a form", func() Raw { return tg.rawPost(t, u, "application/x-www-form-urlencoded", "key=k") },
			"PreconditionFailed", 412, "Bucket POST must be of the enclosure-type multipart/form-data."},
		{"no boundary", func() Raw { return tg.rawPost(t, u, "multipart/form-data", "x") }, "MalformedPOSTRequest", 400, ""},
		{"broken body", func() Raw { return tg.rawPost(t, u, "multipart/form-data; boundary=zz", "--zz\r\nnonsense") }, "MalformedPOSTRequest", 400, ""},
		{"no file", func() Raw { return PostForm(t, u, good("k"), nil) }, "InvalidArgument", 400, "POST requires exactly one file upload per request."},
		{"no key", func() Raw { return PostForm(t, u, without(good("k"), "key"), file()) }, "InvalidArgument", 400,
			"Bucket POST must contain a field named 'key'."},
		{"no signature", func() Raw { return PostForm(t, u, without(good("k"), "x-amz-signature"), file()) }, "InvalidArgument", 400,
			"field named 'x-amz-signature'"},
		{"anonymous", func() Raw { return PostForm(t, u, []FormField{{"key", "k"}}, file()) }, "AccessDenied", 403, ""},
		{"sigv2", func() Raw {
			return PostForm(t, u, []FormField{{"key", "k"}, {"AWSAccessKeyId", tg.AccessKeyID}, {"signature", "c2ln"}, {"policy", "e30="}}, file())
		}, "InvalidRequest", 400, "AWS4-HMAC-SHA256"},
		{"wrong signature", func() Raw {
			return PostForm(t, u, with(good("k"), "x-amz-signature", strings.Repeat("0", 64)), file())
		}, "SignatureDoesNotMatch", 403, ""},
		{"signed by another secret", func() Raw {
			now := time.Now()
			return PostForm(t, u, append([]FormField{{"key", "k"}}, tg.SignPolicyWith(tg.AccessKeyID, "not the secret", []byte(`{}`), now)...), file())
		}, "SignatureDoesNotMatch", 403, ""},
		{"unknown key", func() Raw {
			return PostForm(t, u, append([]FormField{{"key", "k"}}, tg.SignPolicyWith("nosuchkey0000000", "s", []byte(`{}`), time.Now())...), file())
		}, "InvalidAccessKeyId", 403, ""},
		{"bad algorithm", func() Raw { return PostForm(t, u, with(good("k"), "x-amz-algorithm", "AWS4-HMAC-SHA1"), file()) }, "InvalidArgument", 400,
			"Only AWS4-HMAC-SHA256 is supported"},
		{"bad credential", func() Raw { return PostForm(t, u, with(good("k"), "x-amz-credential", "nonsense"), file()) }, "InvalidArgument", 400, "mal-formed"},
		{"policy not base64", func() Raw {
			return PostForm(t, u, append([]FormField{{"key", "k"}}, tg.signRaw("!!!", time.Now())...), file())
		}, "InvalidPolicyDocument", 400, "Invalid Policy: invalid Base64 encoding."},
		{"policy not JSON", func() Raw {
			return PostForm(t, u, append([]FormField{{"key", "k"}}, tg.SignPolicy([]byte("{"), time.Now())...), file())
		}, "InvalidPolicyDocument", 400, "Invalid Policy: Invalid JSON."},
		{"policy without expiration", func() Raw {
			return PostForm(t, u, append([]FormField{{"key", "k"}}, tg.SignPolicy([]byte(`{"conditions":[]}`), time.Now())...), file())
		}, "InvalidPolicyDocument", 400, "Invalid Policy: Policy missing expiration."},
		{"policy with another name", func() Raw {
			return PostForm(t, u, append([]FormField{{"key", "k"}}, tg.SignPolicy([]byte(`{"EXPIRATION":"2100-01-01T00:00:00Z","conditions":[]}`), time.Now())...), file())
		}, "InvalidPolicyDocument", 400, "Unexpected"},
		{"unknown operator", func() Raw {
			return PostForm(t, u, policyOf(bucketCond, keyCond, []string{"ends-with", "$key", "k"}), file())
		},
			"InvalidPolicyDocument", 400, "unknown operation 'ends-with'"},
		{"expired", func() Raw {
			now := time.Now()
			p := Policy{Expiration: now.Add(-time.Minute), Conditions: []any{bucketCond, keyCond}}
			for _, f := range tg.postAuth(tg.AccessKeyID, now) {
				p.Conditions = append(p.Conditions, map[string]string{f.Name: f.Value})
			}
			return PostForm(t, u, append([]FormField{{"key", "k"}}, tg.SignPolicy(p.JSON(), now)...), file())
		}, "AccessDenied", 403, "Invalid according to Policy: Policy expired."},
		{"field not in the policy", func() Raw { return PostForm(t, u, append(good("k"), FormField{"x-amz-meta-extra", "1"}), file()) },
			"AccessDenied", 403, "Invalid according to Policy: Extra input fields: x-amz-meta-extra"},
		{"no bucket condition", func() Raw { return PostForm(t, u, policyOf(keyCond), file()) }, "AccessDenied", 403, "Extra input fields: bucket"},
		{"another bucket's policy", func() Raw {
			return PostForm(t, u, policyOf(map[string]string{"bucket": "otherbucket"}, keyCond), file())
		},
			"AccessDenied", 403, `Policy Condition failed: ["eq", "$bucket", "otherbucket"]`},
		{"key differs", func() Raw { return PostForm(t, u, with(good("k"), "key", "other"), file()) }, "AccessDenied", 403, "Policy Condition failed"},
		{"content type differs", func() Raw {
			return PostForm(t, u, with(tg.SignedForm(b, []FormField{{"key", "k"}, {"Content-Type", "image/png"}}), "Content-Type", "text/html"), file())
		}, "AccessDenied", 403, "Policy Condition failed"},
		{"condition on a missing field", func() Raw {
			return PostForm(t, u, tg.SignedForm(b, []FormField{{"key", "k"}}, []string{"starts-with", "$x-amz-meta-need", ""}), file())
		}, "AccessDenied", 403, "Policy Condition failed"},
		{"bad tag", func() Raw {
			return PostForm(t, u, tg.SignedForm(b, []FormField{{"key", "k"}, {"tagging", `<Tagging><TagSet><Tag><Key>a,b</Key><Value></Value></Tag></TagSet></Tagging>`}}), file())
		}, "InvalidTag", 400, ""},
		{"unsupported field", func() Raw {
			return PostForm(t, u, tg.SignedForm(b, []FormField{{"key", "k"}, {"x-amz-website-redirect-location", "/x"}}), file())
		}, "NotImplemented", 501, ""},
		{"wrong Content-MD5", func() Raw {
			return PostForm(t, u, tg.SignedForm(b, []FormField{{"key", "k"}, {"Content-MD5", ContentMD5([]byte("other"))}}), file())
		}, "BadDigest", 400, ""},
		{"fields over 20 KB", func() Raw {
			return PostForm(t, u, tg.SignedForm(b, []FormField{{"key", "k"}, {"x-amz-meta-big", strings.Repeat("x", 21<<10)}}), file())
		}, "MaxPostPreDataLengthExceeded", 400, ""},
		{"missing bucket", func() Raw {
			return PostForm(t, tg.bucketURL("nosuchbucket-post"), tg.SignedForm("nosuchbucket-post", []FormField{{"key", "k"}}), file())
		}, "NoSuchBucket", 404, ""},
		{"missing bucket, forged", func() Raw {
			return PostForm(t, tg.bucketURL("nosuchbucket-post"), with(tg.SignedForm("nosuchbucket-post", []FormField{{"key", "k"}}), "x-amz-signature", strings.Repeat("1", 64)), file())
		}, "SignatureDoesNotMatch", 403, ""},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			r := tc.send()
			wantPostError(t, tc.name, r, tc.code, tc.status, tc.msg)
			if r.Header.Get("Content-Type") != "application/xml" {
				t.Fatalf("%s: error is not S3 XML: %v", tc.name, r.Header)
			}
		})
	}
	for _, key := range []string{"k", "other"} {
		tg.headMissing(t, b, key)
	}
}

// rawPost posts a body as is.
func (tg Target) rawPost(t testing.TB, url, contentType, body string) Raw {
	t.Helper()
	resp, err := httpPost(url, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// signRaw signs a policy field given as is (not necessarily base64).
func (tg Target) signRaw(policyField string, at time.Time) []FormField {
	return tg.signField(tg.AccessKeyID, tg.SecretKey, policyField, at)
}

func httpPost(url, contentType, body string) (Raw, error) {
	resp, err := http.DefaultClient.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		return Raw{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Raw{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}
