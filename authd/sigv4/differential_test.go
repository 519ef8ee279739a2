package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Object keys that S3 servers have historically got wrong (reliability.md §2).
var diffKeys = []string{
	"plain.txt", "a b.txt", "a+b", "100%", "tilde~x", "star*", "ünïcødé/文件.txt",
	"a//b", "../x", "a/./b/../c", "=@!$&'()*,;:", "dir/", "%2F", "x%20y", "emoji-😀",
}

// Raw query strings (AWS-style encoded) with empty values and repeats.
var diffQueries = []string{
	"", "prefix=a%20b&delimiter=%2F", "versions", "uploads=&prefix=", "a=1&a=&a=2&b",
	"list-type=2&prefix=%2B%2A~", "response-content-disposition=attachment%3B%20filename%3D%22x.txt%22",
	"partNumber=2&uploadId=abc",
}

// s3URL builds a path-style URL. s3Escaped encodes the key the way S3 SDKs do
// (every byte but unreserved and "/"); otherwise Go's default escaping is
// used, which leaves characters such as "+", "*", "=" and "@" raw on the wire.
func s3URL(t *testing.T, base, key, query string, s3Escaped bool) *url.URL {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/bucket/" + key
	if s3Escaped {
		u.RawPath = "/bucket/" + URIEncode(key, true)
	}
	u.RawQuery = query
	return u
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// hasher adapts sha256 to minio-go's md5simd.Hasher.
type hasher struct{ hash.Hash }

func (hasher) Close() {}

func newHasher() hasher { return hasher{sha256.New()} }

func okResponder(w http.ResponseWriter, r *http.Request, body []byte) { w.WriteHeader(http.StatusOK) }

// send performs req and fails the test on a non-200 answer.
func send(t *testing.T, req *http.Request) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, msg)
	}
}

func lastSeen(t *testing.T, s *verifyServer) *Request {
	t.Helper()
	seen, es := s.results()
	if len(seen) != 1 {
		t.Fatalf("server saw %d requests", len(seen))
	}
	if es[0] != nil {
		t.Fatalf("server refused: %v", es[0])
	}
	return seen[0]
}

var creds = aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}

func TestDifferentialAWSSignHTTP(t *testing.T) {
	srv := newVerifyServer(t, okResponder)
	s := v4.NewSigner()
	for _, escaped := range []bool{true, false} {
		for _, key := range diffKeys {
			for qi, q := range diffQueries {
				body := []byte("hello " + key)
				req, _ := http.NewRequest(http.MethodPut, "", bytes.NewReader(body))
				req.URL = s3URL(t, srv.URL, key, q, escaped)
				req.Header.Set("Content-Type", "text/plain")
				req.Header.Set("X-Amz-Meta-Note", "  spaced   value  ")
				req.Header.Add("X-Amz-Meta-Multi", "one")
				req.Header.Add("X-Amz-Meta-Multi", "two")
				payload := sha256Hex(body)
				if qi%2 == 1 {
					payload = UnsignedPayload
				}
				req.Header.Set("X-Amz-Content-Sha256", payload)
				now := time.Now().UTC()
				err := s.SignHTTP(context.Background(), creds, req, payload, Service, testRegion, now,
					func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
				if err != nil {
					t.Fatal(err)
				}
				send(t, req)
				got := lastSeen(t, srv)
				if qi < 3 && escaped { // mutation sweep on a representative subset
					checkMutations(t, got, now)
				}
			}
		}
	}
}

func TestDifferentialAWSPresignHTTP(t *testing.T) {
	srv := newVerifyServer(t, okResponder)
	s := v4.NewSigner()
	for _, key := range diffKeys {
		for qi, q := range diffQueries {
			u := s3URL(t, srv.URL, key, q, true)
			qv := u.Query()
			qv.Set(QueryExpires, "900")
			u.RawQuery = strings.ReplaceAll(qv.Encode(), "+", "%20")
			req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
			if qi%2 == 0 {
				req.Header.Set("X-Amz-Meta-Tag", "kept as a signed header")
				req.Header.Set("X-Amz-Request-Payer", "requester") // hoisted into the query
			}
			now := time.Now().UTC()
			signedURL, hdr, err := s.PresignHTTP(context.Background(), creds, req, UnsignedPayload, Service, testRegion, now,
				func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
			if err != nil {
				t.Fatal(err)
			}
			out, _ := http.NewRequest(http.MethodGet, signedURL, nil)
			for k, vs := range hdr {
				if !strings.EqualFold(k, "host") {
					out.Header[k] = vs
				}
			}
			send(t, out)
			got := lastSeen(t, srv)
			if qi < 2 {
				checkMutations(t, got, now)
			}
		}
	}
}

// The generic (non-S3) mode of the AWS signer escapes the already-escaped
// path a second time. S3 encodes once, so such a signature must not verify
// for keys that need escaping — and does for keys that do not.
func TestDoubleEncodedPathRefused(t *testing.T) {
	srv := newVerifyServer(t, okResponder)
	s := v4.NewSigner()
	for key, want := range map[string]bool{"plain.txt": true, "a b.txt": false} {
		req, _ := http.NewRequest(http.MethodGet, "", nil)
		req.URL = s3URL(t, srv.URL, key, "", true)
		req.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
		if err := s.SignHTTP(context.Background(), creds, req, EmptySHA256, Service, testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.results()
		if got := resp.StatusCode == http.StatusOK; got != want {
			t.Errorf("key %q: accepted=%v, want %v", key, got, want)
		}
	}
}

func TestDifferentialMinioSignV4(t *testing.T) {
	srv := newVerifyServer(t, okResponder)
	for _, escaped := range []bool{true, false} {
		for _, key := range diffKeys {
			for qi, q := range diffQueries {
				body := []byte("minio " + key)
				req, _ := http.NewRequest(http.MethodPut, "", bytes.NewReader(body))
				req.URL = s3URL(t, srv.URL, key, q, escaped)
				req.Header.Set("Content-Type", "application/octet-stream")
				req.Header.Set("X-Amz-Meta-Spaces", "a   b")
				req.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
				now := time.Now().UTC()
				signed := signer.SignV4(*req, testKeyID, testSecret, "", testRegion)
				send(t, signed)
				got := lastSeen(t, srv)
				if qi == 1 && escaped {
					checkMutations(t, got, now)
				}
			}
		}
	}
}

func TestDifferentialMinioPreSignV4(t *testing.T) {
	srv := newVerifyServer(t, okResponder)
	for _, key := range diffKeys {
		for qi, q := range diffQueries {
			req, _ := http.NewRequest(http.MethodGet, "", nil)
			req.URL = s3URL(t, srv.URL, key, q, true)
			now := time.Now().UTC()
			signed := signer.PreSignV4(*req, testKeyID, testSecret, "", testRegion, 3600)
			send(t, signed)
			got := lastSeen(t, srv)
			if qi == 1 {
				checkMutations(t, got, now)
			}
		}
	}
}

// minio-go's aws-chunked signers: signed chunks, and unsigned chunks with a
// trailer. The server verifies the seed signature and, for signed chunks,
// every chunk signature with the values Auth exposes.
func TestDifferentialMinioStreaming(t *testing.T) {
	var gotBody []byte
	srv := newVerifyServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		gotBody = body
		w.WriteHeader(http.StatusOK)
	})
	data := bytes.Repeat([]byte("0123456789abcdef"), 9000) // 144000 bytes: 3 chunks of 64 KiB
	for _, key := range []string{"stream.bin", "a b/ü+x"} {
		for _, mode := range []string{"signed", "signed-trailer", "unsigned-trailer"} {
			req, _ := http.NewRequest(http.MethodPut, "", bytes.NewReader(data))
			req.URL = s3URL(t, srv.URL, key, "", true)
			req.ContentLength = int64(len(data))
			var out *http.Request
			switch mode {
			case "signed":
				out = signer.StreamingSignV4(req, testKeyID, testSecret, "", testRegion, int64(len(data)), time.Now().UTC(), newHasher())
			case "signed-trailer":
				req.Trailer = http.Header{"x-amz-checksum-crc32": {"AAAAAA=="}}
				out = signer.StreamingSignV4(req, testKeyID, testSecret, "", testRegion, int64(len(data)), time.Now().UTC(), newHasher())
			case "unsigned-trailer":
				req.Header.Set("X-Amz-Content-Sha256", StreamingUnsignedPayloadTrailer)
				out = signer.SignV4Trailer(*req, testKeyID, testSecret, "", testRegion, http.Header{"x-amz-checksum-crc32": {"AAAAAA=="}})
			}
			send(t, out)
			got := lastSeen(t, srv)
			if !bytes.Equal(gotBody, data) {
				t.Fatalf("%s %q: body of %d bytes, want %d", mode, key, len(gotBody), len(data))
			}
			a, err := verifyWith(got, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"signed": StreamingPayload, "signed-trailer": StreamingPayloadTrailer, "unsigned-trailer": StreamingUnsignedPayloadTrailer}[mode]
			if a.PayloadHash != want || a.Streaming() != (mode != "unsigned-trailer") {
				t.Fatalf("%s: payload %q streaming=%v", mode, a.PayloadHash, a.Streaming())
			}
			if n, _ := strconv.Atoi(got.Header.Get("X-Amz-Decoded-Content-Length")); n != len(data) {
				t.Fatalf("decoded length %d", n)
			}
		}
	}
}

// A tampered chunk must fail the chunk-signature chain computed from the
// documented values (doc.go).
func TestStreamingTamperedChunk(t *testing.T) {
	srv := newVerifyServer(t, okResponder)
	data := bytes.Repeat([]byte("x"), 70000)
	req, _ := http.NewRequest(http.MethodPut, "", bytes.NewReader(data))
	req.URL = s3URL(t, srv.URL, "tamper", "", true)
	req.ContentLength = int64(len(data))
	out := signer.StreamingSignV4(req, testKeyID, testSecret, "", testRegion, int64(len(data)), time.Now().UTC(), newHasher())
	encoded, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(encoded, []byte("\r\nxxxx")) + 10
	encoded[i] = 'y'
	out.Body = io.NopCloser(bytes.NewReader(encoded))
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, es := srv.results()
	if resp.StatusCode != http.StatusForbidden || es[0] == nil || !strings.Contains(es[0].Error(), "chunk signature mismatch") {
		t.Fatalf("status %d, err %v", resp.StatusCode, es)
	}
}
