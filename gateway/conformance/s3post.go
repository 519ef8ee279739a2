package conformance

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Browser-form uploads (S3 POST Object) as the clients build them, sent as
// a browser sends a form: multipart/form-data, the fields in order, the
// file last.

// FormField is one field of a POST form.
type FormField struct{ Name, Value string }

// FormFile is the file part of a POST form.
type FormFile struct {
	Name        string // the file name the browser sends
	ContentType string
	Body        io.Reader
}

// PostForm sends a multipart/form-data POST to url (the bucket's URL) with
// the fields in order, then the file (when not nil), streamed: the body is
// never held in memory, as a browser's is not. extra fields after the file
// are sent too (S3 ignores them). Redirects are not followed.
func PostForm(t testing.TB, url string, fields []FormField, file *FormFile, extra ...FormField) Raw {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range fields {
				if err := mw.WriteField(f.Name, f.Value); err != nil {
					return err
				}
			}
			if file != nil {
				h := make(map[string][]string)
				h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename=%q`, file.Name)}
				if file.ContentType != "" {
					h["Content-Type"] = []string{file.ContentType}
				}
				part, err := mw.CreatePart(h)
				if err != nil {
					return err
				}
				if _, err := io.Copy(part, file.Body); err != nil {
					return err
				}
			}
			for _, f := range extra {
				if err := mw.WriteField(f.Name, f.Value); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Raw{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// SignPolicy signs a policy document as a POST form client does (SigV4:
// the signature of the base64 policy with the scope's signing key) and
// returns the authentication fields. It is written from AWS's description,
// independently of coffer's verifier, for forms no SDK would build.
func (tg Target) SignPolicy(policy []byte, at time.Time) []FormField {
	return tg.SignPolicyWith(tg.AccessKeyID, tg.SecretKey, policy, at)
}

// postAuth is the algorithm, credential and date fields of a form signed at at.
func (tg Target) postAuth(id string, at time.Time) []FormField {
	date := at.UTC().Format("20060102")
	return []FormField{
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", id + "/" + date + "/" + tg.Region + "/s3/aws4_request"},
		{"x-amz-date", at.UTC().Format("20060102T150405Z")},
	}
}

// SignPolicyWith is SignPolicy with other credentials.
func (tg Target) SignPolicyWith(id, secret string, policy []byte, at time.Time) []FormField {
	return tg.signField(id, secret, base64.StdEncoding.EncodeToString(policy), at)
}

// signField signs a policy field's value as sent (normally base64).
func (tg Target) signField(id, secret, b64 string, at time.Time) []FormField {
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	k := mac([]byte("AWS4"+secret), at.UTC().Format("20060102"))
	for _, s := range []string{tg.Region, "s3", "aws4_request"} {
		k = mac(k, s)
	}
	return append(tg.postAuth(id, at), FormField{"policy", b64}, FormField{"x-amz-signature", hex.EncodeToString(mac(k, b64))})
}

// Policy is a POST policy document under construction.
type Policy struct {
	Expiration time.Time
	Conditions []any
}

// JSON renders the document.
func (p Policy) JSON() []byte {
	b, _ := json.Marshal(map[string]any{"expiration": p.Expiration.UTC().Format("2006-01-02T15:04:05.000Z"), "conditions": p.Conditions})
	return b
}

// SignedForm is a form of the given fields, each covered by an exact
// condition, with conds added to its policy (which expires in an hour),
// signed with the target's key.
func (tg Target) SignedForm(bucket string, fields []FormField, conds ...any) []FormField {
	now := time.Now()
	p := Policy{Expiration: now.Add(time.Hour), Conditions: []any{map[string]string{"bucket": bucket}}}
	for _, f := range fields {
		p.Conditions = append(p.Conditions, []string{"eq", "$" + f.Name, f.Value})
	}
	p.Conditions = append(p.Conditions, conds...)
	for _, f := range tg.postAuth(tg.AccessKeyID, now) {
		p.Conditions = append(p.Conditions, map[string]string{f.Name: f.Value})
	}
	return append(append([]FormField(nil), fields...), tg.SignPolicy(p.JSON(), now)...)
}

// postFile is a small in-memory file for a form.
func postFile(name, body string) *FormFile {
	return &FormFile{Name: name, ContentType: "text/plain", Body: bytes.NewReader([]byte(body))}
}

// fieldsOf turns a client's form-data map into fields, key first (order is
// free before the file).
func fieldsOf(m map[string]string) []FormField {
	out := []FormField{{"key", m["key"]}}
	for k, v := range m {
		if k != "key" {
			out = append(out, FormField{k, v})
		}
	}
	return out
}

// wantPostError fails unless a POST was answered with code and status,
// and a message that contains msg.
func wantPostError(t testing.TB, what string, r Raw, code string, status int, msg string) {
	t.Helper()
	var e struct{ Code, Message string }
	_ = xml.Unmarshal(r.Body, &e)
	if r.Status != status || e.Code != code || !strings.Contains(e.Message, msg) {
		t.Fatalf("%s: %d %s, want %d %s %q", what, r.Status, r.Body, status, code, msg)
	}
}

// headMissing fails unless key does not exist.
func (tg Target) headMissing(t testing.TB, bucket, key string) {
	t.Helper()
	_, err := tg.AWS(t).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	WantError(t, err, "", 404)
}
