package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/coffer-project/coffer/services/errs"
)

// signURL header-signs a GET of rawURL at t0 with aws-sdk-go-v2 (S3 mode:
// the path is encoded once, unless doubleEncode asks for the generic mode)
// and returns it the way the gateway receives it.
func signURL(t *testing.T, rawURL string, doubleEncode bool, headers map[string]string) *Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	err = v4.NewSigner().SignHTTP(context.Background(), creds, req, EmptySHA256, Service, testRegion, t0,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = !doubleEncode })
	if err != nil {
		t.Fatal(err)
	}
	return &Request{Method: req.Method, RawPath: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery, Host: req.URL.Host, Header: req.Header}
}

// minioURL signs a GET with minio-go (now: it reads the clock itself),
// whose canonical query keeps repeated values in wire order.
func minioURL(t *testing.T, rawURL string) *Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
	out := signer.SignV4(*req, testKeyID, testSecret, "", testRegion)
	return &Request{Method: out.Method, RawPath: out.URL.EscapedPath(), RawQuery: out.URL.RawQuery, Host: out.URL.Host, Header: out.Header}
}

func with(r *Request, f func(*Request)) *Request {
	c := cloneRequest(r)
	f(c)
	return c
}

// TestIssueEdgeCases is the issue's list of SigV4 edge cases, in one table,
// at the verifier: double-encoded paths, spaces and "+" in keys, repeated
// query keys, unsigned x-amz headers, expired presigned URLs and clock skew.
// (Chunk-chain tampering and truncated trailers are the body decoder's:
// TestStreamingEdgeCases below with the documented algorithm, and the
// gateway's own decoder in gateway/s3 TestChunkedEdgeCases.)
func TestIssueEdgeCases(t *testing.T) {
	const host = "http://127.0.0.1:9000"
	cases := []struct {
		name string
		req  *Request
		now  time.Time
		want errs.Kind // Other: verifies
	}{
		{"space in key, encoded once", signURL(t, host+"/bucket/a%20b.txt", false, nil), t0, errs.Other},
		{"plus in key, encoded", signURL(t, host+"/bucket/a%2Bb", false, nil), t0, errs.Other},
		{"plus in key, raw", signURL(t, host+"/bucket/a+b", false, nil), t0, errs.Other},
		{"space and plus", signURL(t, host+"/bucket/x%20y+z%2B", false, nil), t0, errs.Other},
		{"raw plus is not a space", with(signURL(t, host+"/bucket/a+b", false, nil), func(r *Request) { r.RawPath = "/bucket/a%20b" }), t0, errs.SignatureMismatch},
		{"double-encoded path", signURL(t, host+"/bucket/a%20b.txt", true, nil), t0, errs.SignatureMismatch},
		{"double-encoded plus", signURL(t, host+"/bucket/a%2Bb", true, nil), t0, errs.SignatureMismatch},
		{"double encoding a plain path is harmless", signURL(t, host+"/bucket/plain.txt", true, nil), t0, errs.Other},
		{"encoded slash kept", signURL(t, host+"/bucket/a%2Fb", false, nil), t0, errs.Other},
		{"dot segments not normalised", signURL(t, host+"/bucket/a/../b//c", false, nil), t0, errs.Other},
		{"dot segments resolved after signing", with(signURL(t, host+"/bucket/a/../b", false, nil), func(r *Request) { r.RawPath = "/bucket/b" }), t0, errs.SignatureMismatch},
		{"repeated query keys (values sorted)", signURL(t, host+"/bucket/k?a=2&a=1&a=", false, nil), t0, errs.Other},
		{"repeated query keys (wire order, minio-go)", minioURL(t, host+"/bucket/k?a=2&a=1"), time.Now(), errs.Other},
		{"repeated query value added", with(signURL(t, host+"/bucket/k?a=2&a=1", false, nil), func(r *Request) { r.RawQuery += "&a=3" }), t0, errs.SignatureMismatch},
		{"repeated query value dropped", with(signURL(t, host+"/bucket/k?a=2&a=1", false, nil), func(r *Request) { r.RawQuery = "a=2" }), t0, errs.SignatureMismatch},
		{"query plus is not a space", with(signURL(t, host+"/bucket/k?p=a%2Bb", false, nil), func(r *Request) { r.RawQuery = "p=a+b" }), t0, errs.Other},
		{"query space is not a plus", with(signURL(t, host+"/bucket/k?p=a%2Bb", false, nil), func(r *Request) { r.RawQuery = "p=a%20b" }), t0, errs.SignatureMismatch},
		{"signed x-amz header", signURL(t, host+"/bucket/k", false, map[string]string{"X-Amz-Meta-A": "b"}), t0, errs.Other},
		{"unsigned x-amz header added", with(signURL(t, host+"/bucket/k", false, nil), func(r *Request) { r.Header.Set("X-Amz-Meta-A", "b") }), t0, errs.PermissionDenied},
		{"unsigned x-amz-acl added", with(signURL(t, host+"/bucket/k", false, nil), func(r *Request) { r.Header.Set("X-Amz-Acl", "public-read") }), t0, errs.PermissionDenied},
		{"signed x-amz header changed", with(signURL(t, host+"/bucket/k", false, map[string]string{"X-Amz-Meta-A": "b"}), func(r *Request) { r.Header.Set("X-Amz-Meta-A", "c") }), t0, errs.SignatureMismatch},
		{"presigned within its window", presignedAt(t, t0, "60"), t0.Add(60 * time.Second), errs.Other},
		{"presigned expired by a second", presignedAt(t, t0, "60"), t0.Add(61 * time.Second), errs.Expired},
		{"presigned not valid yet", presignedAt(t, t0, "60"), t0.Add(-15*time.Minute - time.Second), errs.Expired},
		{"presigned for more than a week", presignedAt(t, t0, "604801"), t0, errs.MalformedAuth},
		{"skew 14:59 late", signURL(t, host+"/bucket/k", false, nil), t0.Add(14*time.Minute + 59*time.Second), errs.Other},
		{"skew 15:01 late", signURL(t, host+"/bucket/k", false, nil), t0.Add(15*time.Minute + time.Second), errs.RequestTimeTooSkewed},
		{"skew 15:01 early", signURL(t, host+"/bucket/k", false, nil), t0.Add(-15*time.Minute - time.Second), errs.RequestTimeTooSkewed},
	}
	for _, tc := range cases {
		err := verifyAt(tc.req, tc.now)
		if tc.want == errs.Other && err != nil || tc.want != errs.Other && errs.KindOf(err) != tc.want {
			t.Errorf("%s: %v (kind %v), want %v", tc.name, err, errs.KindOf(err), tc.want)
		}
	}
}

// TestStreamingEdgeCases: the chunk chain documented on the package (doc.go)
// refuses reordered, replayed and edited chunks and a cut trailer.
func TestStreamingEdgeCases(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 9000) // three chunks
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:9000/bucket/k", bytes.NewReader(data))
	req.Trailer = http.Header{"x-amz-checksum-crc32": {"AAAAAA=="}}
	out := signer.StreamingSignV4(req, testKeyID, testSecret, "", testRegion, int64(len(data)), t0, newHasher())
	body, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Method: out.Method, RawPath: out.URL.EscapedPath(), RawQuery: out.URL.RawQuery, Host: out.URL.Host, Header: out.Header}
	a, err := verifyWith(r, t0)
	if err != nil || a.PayloadHash != StreamingPayloadTrailer {
		t.Fatalf("headers: %v %v", a, err)
	}
	frame := func(i int) []byte { // the i-th data chunk frame
		b := body
		for ; ; i-- {
			eol := bytes.Index(b, []byte("\r\n"))
			n := eol + 2 + 64<<10 + 2
			if i == 0 {
				return b[:n]
			}
			b = b[n:]
		}
	}
	tail := body[len(frame(0))+len(frame(1)):]
	sigAt := bytes.Index(tail, []byte("x-amz-trailer-signature:"))
	for _, tc := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"as signed", body, true},
		{"chunks swapped", bytes.Join([][]byte{frame(1), frame(0), tail}, nil), false},
		{"chunk replayed", bytes.Join([][]byte{frame(0), frame(0), frame(1), tail}, nil), false},
		{"chunk dropped", bytes.Join([][]byte{frame(0), tail}, nil), false},
		{"byte flipped", func() []byte { b := bytes.Clone(body); b[100] ^= 1; return b }(), false},
		{"trailer signature cut", bytes.Join([][]byte{frame(0), frame(1), tail[:sigAt+30]}, nil), false},
		{"trailer cut before its signature", bytes.Join([][]byte{frame(0), frame(1), tail[:sigAt]}, nil), false},
	} {
		hreq, _ := http.NewRequest(http.MethodPut, "http://h/", bytes.NewReader(tc.body))
		got, err := readBody(hreq, a, SigningKey(testSecret, a.Credential))
		if tc.ok != (err == nil) || tc.ok && !bytes.Equal(got, data) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
