package conformance

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Raw is an S3 response read whole: for requests the SDKs will not send
// (a body without Content-MD5 or checksum, a 1001-key delete, an oversized
// configuration), signed with SigV4 by hand.
type Raw struct {
	Status int
	Header http.Header
	Body   []byte
}

// Code returns the <Code> of an XML error body, or "".
func (r Raw) Code() string {
	_, rest, ok := bytes.Cut(r.Body, []byte("<Code>"))
	if !ok {
		return ""
	}
	code, _, _ := bytes.Cut(rest, []byte("</Code>"))
	return string(code)
}

// Signed sends a SigV4-signed request with the target's credentials. The
// payload hash is the body's SHA-256 unless header sets
// X-Amz-Content-Sha256 (e.g. UNSIGNED-PAYLOAD). path is the escaped
// path and query, e.g. "/bucket?cors".
func (tg Target) Signed(t testing.TB, method, path string, body []byte, header http.Header) Raw {
	t.Helper()
	req, err := http.NewRequest(method, tg.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	hash := req.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	creds := aws.Credentials{AccessKeyID: tg.AccessKeyID, SecretAccessKey: tg.SecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", tg.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Raw{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

// ContentMD5 is the Content-MD5 header value of b.
func ContentMD5(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// MD5Hex is the hex MD5 of b (a single-part ETag without quotes).
func MD5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// CopySource is the x-amz-copy-source value of bucket/key[?versionId=v],
// URL-encoded as the SDKs require callers to do.
func CopySource(bucket, key, versionID string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	v := bucket + "/" + strings.Join(segs, "/")
	if versionID != "" {
		v += "?versionId=" + url.QueryEscape(versionID)
	}
	return v
}

// put writes a small object and fails the test on error.
func put(t testing.TB, c *s3.Client, bucket, key, body string) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return out
}

// getBody reads an object whole.
func getBody(t testing.TB, c *s3.Client, in *s3.GetObjectInput) (*s3.GetObjectOutput, []byte) {
	t.Helper()
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		t.Fatalf("get %s/%s: %v", aws.ToString(in.Bucket), aws.ToString(in.Key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", aws.ToString(in.Key), err)
	}
	return out, b
}
