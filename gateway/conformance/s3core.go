package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// Sizes are the object sizes every client round-trips.
var Sizes = []int64{0, 1, 5<<20 + 1, 100 << 20}

// S3Core runs the S3 checks of every non-multipart operation against tg.
func S3Core(t *testing.T, tg Target) {
	t.Run("Buckets", func(t *testing.T) { testBuckets(t, tg) })
	t.Run("ObjectsAWS", func(t *testing.T) { testObjectsAWS(t, tg) })
	t.Run("ObjectsMinio", func(t *testing.T) { testObjectsMinio(t, tg, false) })
	t.Run("ObjectsMinioTrailers", func(t *testing.T) { testObjectsMinio(t, tg, true) })
	t.Run("Ranges", func(t *testing.T) { testRanges(t, tg) })
	t.Run("Metadata", func(t *testing.T) { testMetadata(t, tg) })
	t.Run("Listing", func(t *testing.T) { testListing(t, tg) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, tg) })
	t.Run("DeleteMarkers", func(t *testing.T) { testDeleteMarkers(t, tg) })
	t.Run("Conditional", func(t *testing.T) { testConditional(t, tg) })
	t.Run("Checksums", func(t *testing.T) { testChecksums(t, tg) })
	t.Run("Presigned", func(t *testing.T) { testPresigned(t, tg) })
	t.Run("Versioning", func(t *testing.T) { testVersioning(t, tg) })
	t.Run("ACLs", func(t *testing.T) { testACLs(t, tg) })
	t.Run("BucketEncryption", func(t *testing.T) { testBucketEncryption(t, tg) })
	t.Run("ObjectLockConfiguration", func(t *testing.T) { testObjectLockConfiguration(t, tg) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, tg) })
	t.Run("BucketCORS", func(t *testing.T) { testBucketCORS(t, tg) })
	t.Run("CORSAnswers", func(t *testing.T) { S3CORSAnswers(t, tg) })
	t.Run("CopyObject", func(t *testing.T) { testCopyObject(t, tg) })
	t.Run("DeleteObjects", func(t *testing.T) { testDeleteObjects(t, tg) })
	t.Run("ObjectLock", func(t *testing.T) { testObjectLock(t, tg) })
	t.Run("SSEC", func(t *testing.T) { testSSEC(t, tg) })
	t.Run("SSEB2", func(t *testing.T) { testSSEB2(t, tg) })
	t.Run("Tagging", func(t *testing.T) { testTagging(t, tg) })
	t.Run("ObjectAttributes", func(t *testing.T) { testObjectAttributes(t, tg) })
	t.Run("PresignedPost", func(t *testing.T) { testPresignedPost(t, tg) })
}

func newBucket(t *testing.T, c *s3.Client, prefix string) string {
	t.Helper()
	ctx := context.Background()
	b := BucketName(prefix)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatalf("create bucket %s: %v", b, err)
	}
	t.Cleanup(func() { EmptyBucket(context.Background(), t, c, b) })
	return b
}

func testBuckets(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := BucketName("buckets")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b}); err != nil {
		t.Fatalf("head bucket: %v", err)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	if want := tg.Region; want != "us-east-1" && string(loc.LocationConstraint) != want {
		t.Fatalf("location %q, want %q", loc.LocationConstraint, want)
	}
	list, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(list.Buckets, func(x types.Bucket) bool { return aws.ToString(x.Name) == b }) {
		t.Fatalf("ListBuckets lacks %s", b)
	}
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b})
	WantError(t, err, "BucketAlreadyOwnedByYou", 409)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b})
	WantError(t, err, "BucketNotEmpty", 409)
	EmptyBucket(ctx, t, c, b)
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b})
	WantError(t, err, "", 404)
	for _, bad := range []string{"ab", "Upper-Case-Name", "has_underscore", "-leading", "b2-reserved", "192.168.1.1", strings.Repeat("a", 64)} {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bad)})
		WantError(t, err, "InvalidBucketName", 400)
	}
}

func testObjectsAWS(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "objects-aws")
	for i, size := range Sizes {
		data := NewData(uint64(100+i), size)
		key := fmt.Sprintf("dir/obj-%d", size)
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &key, Body: data, ContentLength: aws.Int64(size)})
		if err != nil {
			t.Fatalf("put %d bytes: %v", size, err)
		}
		if aws.ToString(put.VersionId) == "" || aws.ToString(put.ETag) == "" {
			t.Fatalf("put %d: missing version id or etag", size)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
		if err != nil {
			t.Fatalf("head %d: %v", size, err)
		}
		if aws.ToInt64(head.ContentLength) != size || aws.ToString(head.ETag) != aws.ToString(put.ETag) {
			t.Fatalf("head %d: length %d etag %s", size, aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
		}
		get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key})
		if err != nil {
			t.Fatalf("get %d: %v", size, err)
		}
		n, sum, err := HashReader(get.Body)
		get.Body.Close()
		if err != nil || n != size || sum != data.SHA256() {
			t.Fatalf("get %d: read %d bytes, err %v, sha256 match %v", size, n, err, sum == data.SHA256())
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: &key}); err != nil {
			t.Fatalf("delete %d: %v", size, err)
		}
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
		WantError(t, err, "", 404)
	}
}

func testObjectsMinio(t *testing.T, tg Target, trailers bool) {
	ctx := context.Background()
	mc := tg.Minio(t, trailers)
	b := newBucket(t, tg.AWS(t), "objects-minio")
	for i, size := range Sizes {
		data := NewData(uint64(200+i), size)
		key := fmt.Sprintf("m/obj-%d", size)
		// minio-go would switch to multipart above 16 MiB; multipart is a
		// later issue, so force a single streaming-signed PUT.
		info, err := mc.PutObject(ctx, b, key, data, size, minio.PutObjectOptions{
			DisableMultipart: true, ContentType: "application/x-test", SendContentMd5: size > 0 && size < 1<<20,
		})
		if err != nil {
			t.Fatalf("put %d: %v", size, err)
		}
		if info.Size != size {
			t.Fatalf("put %d: size %d", size, info.Size)
		}
		st, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{})
		if err != nil || st.Size != size || st.ContentType != "application/x-test" {
			t.Fatalf("stat %d: %+v %v", size, st, err)
		}
		obj, err := mc.GetObject(ctx, b, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, sum, err := HashReader(obj)
		obj.Close()
		if err != nil || n != size || sum != data.SHA256() {
			t.Fatalf("get %d: read %d, err %v", size, n, err)
		}
		if err := mc.RemoveObject(ctx, b, key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Fatalf("stat after delete: %v", err)
		}
	}
}

func testRanges(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "ranges")
	const size = 1<<20 + 333
	data := NewData(7, size)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("r"), Body: data}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		rng        string
		start, end int64 // inclusive; start=-1 for the whole object
	}{
		{"bytes=0-0", 0, 0}, {"bytes=0-99", 0, 99}, {"bytes=1000-", 1000, size - 1},
		{"bytes=-500", size - 500, size - 1}, {"bytes=65530-65545", 65530, 65545},
		{"bytes=1000-99999999", 1000, size - 1}, {"bytes=-99999999", 0, size - 1},
		{"garbage", -1, 0}, {"bytes=5-1", -1, 0}, {"bytes=0-1,5-6", -1, 0},
	}
	for _, tc := range cases {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("r"), Range: aws.String(tc.rng)})
		if err != nil {
			t.Fatalf("%s: %v", tc.rng, err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := data.Bytes(0, size)
		if tc.start >= 0 {
			want = data.Bytes(tc.start, tc.end-tc.start+1)
			if cr := aws.ToString(out.ContentRange); cr != fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, size) {
				t.Fatalf("%s: Content-Range %q", tc.rng, cr)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: got %d bytes, want %d", tc.rng, len(got), len(want))
		}
	}
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("r"), Range: aws.String(fmt.Sprintf("bytes=%d-", size))})
	WantError(t, err, "InvalidRange", 416)
}

func testMetadata(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "metadata")
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	in := &s3.PutObjectInput{
		Bucket: &b, Key: aws.String("with meta/ü ñ+%.txt"), Body: strings.NewReader("hello"),
		ContentType: aws.String("text/plain; charset=utf-8"), ContentDisposition: aws.String(`attachment; filename="a.txt"`),
		ContentLanguage: aws.String("en"), CacheControl: aws.String("max-age=60"), ContentEncoding: aws.String("identity"),
		Expires:  &exp,
		Metadata: map[string]string{"color": "blue", "src_last_modified_millis": "1735732700000"},
	}
	if _, err := c.PutObject(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: in.Key})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body %q", body)
	}
	check := func(name, got, want string) {
		if got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	check("Content-Type", aws.ToString(out.ContentType), "text/plain; charset=utf-8")
	check("Content-Disposition", aws.ToString(out.ContentDisposition), `attachment; filename="a.txt"`)
	check("Content-Language", aws.ToString(out.ContentLanguage), "en")
	check("Cache-Control", aws.ToString(out.CacheControl), "max-age=60")
	check("Content-Encoding", aws.ToString(out.ContentEncoding), "identity")
	check("Expires", aws.ToString(out.ExpiresString), exp.Format(http.TimeFormat))
	check("x-amz-meta-color", out.Metadata["color"], "blue")
	check("x-amz-meta-src_last_modified_millis", out.Metadata["src_last_modified_millis"], "1735732700000")
	big := map[string]string{"big": strings.Repeat("x", 2100)}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("big"), Body: strings.NewReader("x"), Metadata: big})
	WantError(t, err, "MetadataTooLarge", 400)
}

// testListing writes a small tree and checks prefix, delimiter, start-after
// and pagination at every page size against the expected listing.
func testListing(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "listing")
	keys := []string{"a", "a/1", "a/2", "a/b/1", "a/b/2", "a//x", "a/../y", "b", "b/1", "c+d", "c d", "é/1", "z~"}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	sort.Strings(keys)
	type entry struct {
		key    string
		prefix bool
	}
	expect := func(prefix, delim, after string) []entry {
		var out []entry
		seen := map[string]bool{}
		for _, k := range keys {
			if !strings.HasPrefix(k, prefix) || k <= after {
				continue
			}
			if delim != "" {
				if i := strings.Index(k[len(prefix):], delim); i >= 0 {
					p := k[:len(prefix)+i+len(delim)]
					if !seen[p] && p > after {
						seen[p] = true
						out = append(out, entry{p, true})
					}
					continue
				}
			}
			out = append(out, entry{k, false})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
		return out
	}
	for _, q := range []struct{ prefix, delim, after string }{
		{"", "", ""}, {"", "/", ""}, {"a/", "/", ""}, {"a", "/", ""}, {"a/", "", "a/2"}, {"", "/", "a/"}, {"zz", "/", ""},
	} {
		want := expect(q.prefix, q.delim, q.after)
		for pageSize := 1; pageSize <= len(keys)+1; pageSize++ {
			var got []entry
			var token *string
			for pages := 0; ; pages++ {
				in := &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String(q.prefix), MaxKeys: aws.Int32(int32(pageSize)), ContinuationToken: token}
				if q.delim != "" {
					in.Delimiter = aws.String(q.delim)
				}
				if q.after != "" && token == nil {
					in.StartAfter = aws.String(q.after)
				}
				out, err := c.ListObjectsV2(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(out.Contents) + len(out.CommonPrefixes); int(aws.ToInt32(out.KeyCount)) != n || n > pageSize {
					t.Fatalf("KeyCount %d for %d entries, page size %d", aws.ToInt32(out.KeyCount), n, pageSize)
				}
				var page []entry
				for _, o := range out.Contents {
					page = append(page, entry{aws.ToString(o.Key), false})
				}
				for _, p := range out.CommonPrefixes {
					page = append(page, entry{aws.ToString(p.Prefix), true})
				}
				sort.Slice(page, func(i, j int) bool { return page[i].key < page[j].key })
				got = append(got, page...)
				if !aws.ToBool(out.IsTruncated) {
					break
				}
				if out.NextContinuationToken == nil || pages > len(keys)+2 {
					t.Fatal("truncated listing without a usable continuation token")
				}
				token = out.NextContinuationToken
			}
			if !slices.Equal(got, want) {
				t.Fatalf("prefix %q delim %q after %q page %d:\n got  %v\n want %v", q.prefix, q.delim, q.after, pageSize, got, want)
			}
		}
	}
	// minio-go lists with encoding-type=url and V2; V1 through UseV1.
	mc := tg.Minio(t, false)
	for _, v1 := range []bool{false, true} {
		var got []string
		for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "a/", Recursive: true, UseV1: v1, MaxKeys: 2}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			got = append(got, o.Key)
		}
		var want []string
		for _, e := range expect("a/", "", "") {
			want = append(want, e.key)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("minio (v1=%v) listing %v, want %v", v1, got, want)
		}
	}
	out, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: &b, Delimiter: aws.String("/"), MaxKeys: aws.Int32(3)})
	if err != nil || !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextMarker) == "" {
		t.Fatalf("ListObjects v1: %+v %v", out, err)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, ContinuationToken: aws.String("!!not-a-token!!")})
	WantError(t, err, "InvalidArgument", 400)
}

func testErrors(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "errors")
	missing := BucketName("missing")
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &missing, Key: aws.String("k")})
	WantError(t, err, "NoSuchBucket", 404)
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &missing})
	WantError(t, err, "NoSuchBucket", 404)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &missing, Key: aws.String("k"), Body: strings.NewReader("x")})
	WantError(t, err, "NoSuchBucket", 404)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("no/such/key")})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("no/such/key")})
	WantError(t, err, "", 404)
	bad := tg.AWSWithKeys(t, tg.AccessKeyID, tg.SecretKey+"x")
	_, err = bad.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	WantError(t, err, "SignatureDoesNotMatch", 403)
	_, err = bad.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: strings.NewReader("x")})
	WantError(t, err, "SignatureDoesNotMatch", 403)
	unknown := tg.AWSWithKeys(t, "00unknownkeyid0000000000", tg.SecretKey)
	_, err = unknown.ListBuckets(ctx, &s3.ListBucketsInput{})
	WantError(t, err, "InvalidAccessKeyId", 403)
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Invalid_Name")})
	WantError(t, err, "InvalidBucketName", 400)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
	WantError(t, err, "KeyTooLongError", 400)
	// A wrong Content-MD5 stores nothing.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("md5"), Body: strings.NewReader("hello"),
		ContentMD5: aws.String("AAAAAAAAAAAAAAAAAAAAAA==")})
	WantError(t, err, "BadDigest", 400)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("md5")})
	WantError(t, err, "", 404)
	// Anonymous requests to a private bucket are refused.
	resp, err := http.Get(tg.Endpoint + "/" + b + "/k")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
		t.Fatalf("anonymous GET: %d %s", resp.StatusCode, body)
	}
}

func testDeleteMarkers(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "markers")
	key := aws.String("doc")
	v1, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: key, Body: strings.NewReader("one")})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: key, Body: strings.NewReader("two")})
	if err != nil {
		t.Fatal(err)
	}
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: key})
	if err != nil || !aws.ToBool(del.DeleteMarker) || del.VersionId == nil {
		t.Fatalf("delete: %+v %v", del, err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: key})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: key, VersionId: del.VersionId})
	WantError(t, err, "MethodNotAllowed", 405)
	old, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: key, VersionId: v1.VersionId})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(old.Body)
	old.Body.Close()
	if string(body) != "one" {
		t.Fatalf("version 1 body %q", body)
	}
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
	if err != nil || len(vs.Versions) != 2 || len(vs.DeleteMarkers) != 1 || !aws.ToBool(vs.DeleteMarkers[0].IsLatest) {
		t.Fatalf("versions: %d versions, %d markers, err %v", len(vs.Versions), len(vs.DeleteMarkers), err)
	}
	list, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	if len(list.Contents) != 0 {
		t.Fatalf("hidden key still listed: %v", list.Contents)
	}
	// Removing the marker brings the newest version back.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: key, VersionId: del.VersionId}); err != nil {
		t.Fatal(err)
	}
	cur, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(cur.Body)
	cur.Body.Close()
	if string(body) != "two" || aws.ToString(cur.VersionId) != aws.ToString(v2.VersionId) {
		t.Fatalf("after undelete: %q version %s", body, aws.ToString(cur.VersionId))
	}
}

func testConditional(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "conditional")
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("c"), Body: strings.NewReader("v1")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("c"), IfNoneMatch: put.ETag})
	WantError(t, err, "", 304)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("c"), IfMatch: aws.String(`"0000"`)})
	WantError(t, err, "PreconditionFailed", 412)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("c"), Body: strings.NewReader("v2"), IfNoneMatch: aws.String("*")})
	WantError(t, err, "PreconditionFailed", 412)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("new"), Body: strings.NewReader("v"), IfNoneMatch: aws.String("*")}); err != nil {
		t.Fatalf("conditional create: %v", err)
	}
}

func testChecksums(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "checksums")
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
		key := "sum-" + string(alg)
		data := NewData(9, 300_000)
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &key, Body: data, ChecksumAlgorithm: alg})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		// The SDK validates the returned checksum against the body it reads.
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("%s: get: %v", alg, err)
		}
		_, sum, err := HashReader(out.Body)
		out.Body.Close()
		if err != nil || sum != data.SHA256() {
			t.Fatalf("%s: get body: %v", alg, err)
		}
		gotPut := firstNonEmpty(put.ChecksumCRC32, put.ChecksumCRC32C, put.ChecksumCRC64NVME, put.ChecksumSHA1, put.ChecksumSHA256)
		gotGet := firstNonEmpty(out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256)
		if gotPut == "" || gotPut != gotGet {
			t.Fatalf("%s: checksum on put %q, on get %q", alg, gotPut, gotGet)
		}
	}
	// A wrong checksum value is refused and nothing is stored.
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("wrong"), Body: strings.NewReader("hello"),
		ChecksumCRC32: aws.String("AAAAAA==")})
	WantError(t, err, "BadDigest", 400)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("wrong")})
	WantError(t, err, "", 404)
}

func firstNonEmpty(vs ...*string) string {
	for _, v := range vs {
		if aws.ToString(v) != "" {
			return aws.ToString(v)
		}
	}
	return ""
}

func testPresigned(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "presigned")
	ps := s3.NewPresignClient(c)
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("p k+1")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("presigned body"))
	for k, v := range put.SignedHeader {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d", resp.StatusCode)
	}
	get, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("p k+1")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "presigned body" {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, body)
	}
	// Flip the signature's last hex digit: well-formed, but wrong.
	tampered := get.URL[:len(get.URL)-1] + map[bool]string{true: "0", false: "1"}[!strings.HasSuffix(get.URL, "0")]
	resp, err = http.Get(tampered)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("tampered presigned GET: %d", resp.StatusCode)
	}
}
