package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	md5simd "github.com/minio/md5-simd"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/conformance"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/app"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/runtime"
)

const (
	emptySHA256  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	masterSecret = "K00mastersecretforgatewaytests1"
)

// authEnv is a cluster with an authd client and a bucket holding objects.
type authEnv struct {
	c      *clustertest.Cluster
	auth   authv1.AuthServiceClient
	bucket string
	admin  *s3.Client
	tg     conformance.Target
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	c := clustertest.Start(t, "--authd.master-secret", masterSecret)
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	e := &authEnv{c: c, auth: authv1.NewAuthServiceClient(cc), bucket: conformance.BucketName("auth")}
	e.tg = conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	e.admin = e.tg.AWS(t)
	if _, err := e.admin.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &e.bucket}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *authEnv) key(t *testing.T, req *authv1.CreateKeyRequest) (string, string) {
	t.Helper()
	req.AccountToken = e.c.AccountToken()
	resp, err := e.auth.CreateKey(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Key.KeyId, resp.Secret
}

func (e *authEnv) put(t *testing.T, key, body string) {
	t.Helper()
	if _, err := e.admin.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &e.bucket, Key: &key, Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// sign header-signs req as an S3 client does (path encoded once).
func sign(t testing.TB, req *http.Request, id, secret string, at time.Time, payload string, s3Escaping bool) *http.Request {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payload)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req, payload, "s3", "us-east-1", at,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = s3Escaping })
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// presign returns a presigned GET URL made at the given time.
func presign(t testing.TB, rawURL, id, secret string, at time.Time, expires int) string {
	t.Helper()
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s%sX-Amz-Expires=%d", rawURL, sep, expires), nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req,
		"UNSIGNED-PAYLOAD", "s3", "us-east-1", at, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// do sends req and returns the status and the S3 error code ("" on 2xx).
func do(t *testing.T, req *http.Request) (int, string, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	code := ""
	if i := bytes.Index(body, []byte("<Code>")); i >= 0 && resp.StatusCode >= 300 {
		rest := body[i+len("<Code>"):]
		code = string(rest[:bytes.Index(rest, []byte("<"))])
	}
	return resp.StatusCode, code, body
}

// streamingPut builds a minio-go signed aws-chunked PUT of data; mutate may
// change the encoded body before it is sent.
func streamingPut(t *testing.T, url, id, secret string, data []byte, mutate func([]byte) []byte) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	req = signer.StreamingSignV4(req, id, secret, "", "us-east-1", int64(len(data)), time.Now().UTC(), sha256Hasher())
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		body = mutate(body)
	}
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return req
}

// unsignedTrailerPut is a STREAMING-UNSIGNED-PAYLOAD-TRAILER PUT with a
// CRC32 trailer, framed as the AWS SDKs frame it; cut shortens the body.
func unsignedTrailerPut(t *testing.T, url, id, secret string, data []byte, cut int) *http.Request {
	t.Helper()
	sum := crc32.ChecksumIEEE(data)
	b64 := base64Std([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	body := fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", len(data), data, b64)
	body = body[:len(body)-cut]
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	return sign(t, req, id, secret, time.Now(), "STREAMING-UNSIGNED-PAYLOAD-TRAILER", true)
}

// TestSigV4EdgeCases runs the SigV4 edge cases of the issue through the real
// gateway, each twice: once with a key the gateway has never seen (authd
// verifies) and once after the key has been used (the gateway verifies
// from its cache). Both must answer the same. Refused uploads store nothing.
func TestSigV4EdgeCases(t *testing.T) {
	e := newAuthEnv(t)
	e.put(t, "plain.txt", "plain")
	e.put(t, "a b+c.txt", "spaced")
	base := e.c.Endpoint + "/" + e.bucket + "/"
	data := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80 000 bytes: two 64 KiB chunks
	cases := []struct {
		name   string
		req    func(id, secret string) *http.Request
		status int
		code   string
		stored string // key that must not exist afterwards
	}{
		{"plain key", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"plain.txt", nil), id, s, time.Now(), emptySHA256, true)
		}, 200, "", ""},
		{"space and plus in key, encoded once", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"a%20b%2Bc.txt", nil), id, s, time.Now(), emptySHA256, true)
		}, 200, "", ""},
		{"space and raw plus in key", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"a%20b+c.txt", nil), id, s, time.Now(), emptySHA256, true)
		}, 200, "", ""},
		{"double-encoded path", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"a%20b%2Bc.txt", nil), id, s, time.Now(), emptySHA256, false)
		}, 403, "SignatureDoesNotMatch", ""},
		{"double-encoding a plain path changes nothing", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"plain.txt", nil), id, s, time.Now(), emptySHA256, false)
		}, 200, "", ""},
		{"repeated query keys", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"plain.txt?x-id=GetObject&a=2&a=1&a=&b", nil), id, s, time.Now(), emptySHA256, true)
		}, 200, "", ""},
		{"repeated query keys, presigned", func(id, s string) *http.Request {
			return mustReq(http.MethodGet, presign(t, base+"plain.txt?a=2&a=1", id, s, time.Now(), 60), nil)
		}, 200, "", ""},
		{"query changed after signing", func(id, s string) *http.Request {
			r := sign(t, mustReq(http.MethodGet, base+"plain.txt?a=2&a=1", nil), id, s, time.Now(), emptySHA256, true)
			r.URL.RawQuery = "a=1&a=2&a=3"
			return r
		}, 403, "SignatureDoesNotMatch", ""},
		{"unsigned x-amz header", func(id, s string) *http.Request {
			r := sign(t, mustReq(http.MethodGet, base+"plain.txt", nil), id, s, time.Now(), emptySHA256, true)
			r.Header.Set("X-Amz-Meta-Added", "later")
			return r
		}, 403, "AccessDenied", ""},
		{"unsigned x-amz-acl on a put", func(id, s string) *http.Request {
			r := sign(t, mustReq(http.MethodPut, base+"acl.txt", []byte("x")), id, s, time.Now(), sha256Hex([]byte("x")), true)
			r.Header.Set("X-Amz-Acl", "public-read")
			return r
		}, 403, "AccessDenied", "acl.txt"},
		{"signed streaming upload", func(id, s string) *http.Request {
			return streamingPut(t, base+"stream-ok", id, s, data, nil)
		}, 200, "", ""},
		{"chunk data tampered", func(id, s string) *http.Request {
			return streamingPut(t, base+"stream-tampered", id, s, data, func(b []byte) []byte { b[70_000] ^= 1; return b })
		}, 403, "SignatureDoesNotMatch", "stream-tampered"},
		{"chunk signature chain broken", func(id, s string) *http.Request {
			return streamingPut(t, base+"stream-chain", id, s, data, func(b []byte) []byte {
				i := bytes.LastIndex(b, []byte("chunk-signature=")) + len("chunk-signature=")
				b[i] = "10"[b[i]%2] // always another hex digit ("01" left '0' and '1' as they were)
				return b
			})
		}, 403, "SignatureDoesNotMatch", "stream-chain"},
		{"final chunk missing", func(id, s string) *http.Request {
			return streamingPut(t, base+"stream-short", id, s, data, func(b []byte) []byte { return b[:bytes.LastIndex(b, []byte("0;chunk-signature="))] })
		}, 400, "IncompleteBody", "stream-short"},
		{"unsigned trailer upload", func(id, s string) *http.Request {
			return unsignedTrailerPut(t, base+"trailer-ok", id, s, data[:1000], 0)
		}, 200, "", ""},
		{"trailer truncated in its value", func(id, s string) *http.Request {
			return unsignedTrailerPut(t, base+"trailer-cut", id, s, data[:1000], 8)
		}, 400, "BadDigest", "trailer-cut"},
		{"trailer truncated to its name", func(id, s string) *http.Request {
			return unsignedTrailerPut(t, base+"trailer-cut2", id, s, data[:1000], 16)
		}, 400, "IncompleteBody", "trailer-cut2"},
		{"trailer missing", func(id, s string) *http.Request {
			return unsignedTrailerPut(t, base+"trailer-cut3", id, s, data[:1000], 37)
		}, 400, "IncompleteBody", "trailer-cut3"},
		{"trailer section cut off whole", func(id, s string) *http.Request {
			return unsignedTrailerPut(t, base+"trailer-cut4", id, s, data[:1000], 33)
		}, 400, "BadDigest", "trailer-cut4"},
		{"final empty line missing (tolerated)", func(id, s string) *http.Request {
			return unsignedTrailerPut(t, base+"trailer-lenient", id, s, data[:1000], 2)
		}, 200, "", ""},
		{"presigned, valid", func(id, s string) *http.Request {
			return mustReq(http.MethodGet, presign(t, base+"plain.txt", id, s, time.Now(), 60), nil)
		}, 200, "", ""},
		{"presigned, expired", func(id, s string) *http.Request {
			return mustReq(http.MethodGet, presign(t, base+"plain.txt", id, s, time.Now().Add(-2*time.Second), 1), nil)
		}, 403, "AccessDenied", ""},
		{"presigned, not yet valid", func(id, s string) *http.Request {
			return mustReq(http.MethodGet, presign(t, base+"plain.txt", id, s, time.Now().Add(16*time.Minute), 60), nil)
		}, 403, "AccessDenied", ""},
		{"skew 14 minutes", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"plain.txt", nil), id, s, time.Now().Add(-14*time.Minute), emptySHA256, true)
		}, 200, "", ""},
		{"skew 16 minutes late", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"plain.txt", nil), id, s, time.Now().Add(-16*time.Minute), emptySHA256, true)
		}, 403, "RequestTimeTooSkewed", ""},
		{"skew 16 minutes early", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"plain.txt", nil), id, s, time.Now().Add(16*time.Minute), emptySHA256, true)
		}, 403, "RequestTimeTooSkewed", ""},
		{"wrong secret", func(id, s string) *http.Request {
			return sign(t, mustReq(http.MethodGet, base+"plain.txt", nil), id, s+"x", time.Now(), emptySHA256, true)
		}, 403, "SignatureDoesNotMatch", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, secret := e.key(t, &authv1.CreateKeyRequest{Name: "edge", Capabilities: []string{policy.ReadFiles, policy.WriteFiles}})
			for _, phase := range []string{"authd", "cache"} {
				if phase == "cache" {
					// Use the key until the gateway serves it from its cache.
					for i := 0; i < 3; i++ {
						if st, code, _ := do(t, sign(t, mustReq(http.MethodGet, base+"plain.txt", nil), id, secret, time.Now(), emptySHA256, true)); st != 200 {
							t.Fatalf("warm-up: %d %s", st, code)
						}
						time.Sleep(20 * time.Millisecond)
					}
				}
				st, code, body := do(t, tc.req(id, secret))
				if st != tc.status || (tc.code != "" && code != tc.code) {
					t.Fatalf("%s: %d %s, want %d %s\n%s", phase, st, code, tc.status, tc.code, body)
				}
				if tc.stored != "" {
					_, err := e.admin.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &e.bucket, Key: &tc.stored})
					if code, status := conformance.APIError(err); status != 404 {
						t.Fatalf("%s: a refused upload left %q behind (%v %s %d)", phase, tc.stored, err, code, status)
					}
				}
			}
		})
	}
}

func mustReq(method, url string, body []byte) *http.Request {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		panic(err)
	}
	return req
}

// TestRestrictedKeysAndMasterOnS3: bucket, prefix, capability and expiry
// restrictions through the real gateway with aws-sdk-go-v2, each request
// sent twice (authd, then the gateway's cache); the master key is refused.
func TestRestrictedKeysAndMasterOnS3(t *testing.T) {
	e := newAuthEnv(t)
	other := conformance.BucketName("other")
	if _, err := e.admin.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &other}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "photos/cat.jpg", "meow")
	e.put(t, "docs/a.txt", "doc")
	bucketID := func(name string) string {
		resp, err := e.c.Meta().GetBucket(context.Background(), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Bucket.BucketId
	}
	restricted := func(req *authv1.CreateKeyRequest) *s3.Client {
		id, secret := e.key(t, req)
		return e.tg.AWSWithKeys(t, id, secret)
	}
	photos := restricted(&authv1.CreateKeyRequest{Name: "photos", Capabilities: []string{policy.ListFiles, policy.ReadFiles, policy.WriteFiles},
		BucketIds: []string{bucketID(e.bucket)}, NamePrefix: "photos/"})
	readOnly := restricted(&authv1.CreateKeyRequest{Name: "ro", Capabilities: []string{policy.ReadFiles, policy.ListFiles}})
	master := e.tg.AWSWithKeys(t, "000"+e.c.AccountID()+"0000000000", masterSecret)

	ctx := context.Background()
	get := func(c *s3.Client, bucket, key string) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err == nil {
			out.Body.Close()
		}
		return err
	}
	put := func(c *s3.Client, bucket, key string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader("x")})
		return err
	}
	list := func(c *s3.Client, bucket, prefix string) error {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
		return err
	}
	cases := []struct {
		name string
		call func() error
		code string // "" allowed
	}{
		{"prefix key reads inside", func() error { return get(photos, e.bucket, "photos/cat.jpg") }, ""},
		{"prefix key reads outside", func() error { return get(photos, e.bucket, "docs/a.txt") }, "AccessDenied"},
		{"prefix key writes inside", func() error { return put(photos, e.bucket, "photos/new.jpg") }, ""},
		{"prefix key writes outside", func() error { return put(photos, e.bucket, "docs/new.txt") }, "AccessDenied"},
		{"prefix key lists inside", func() error { return list(photos, e.bucket, "photos/") }, ""},
		{"prefix key lists everything", func() error { return list(photos, e.bucket, "") }, "AccessDenied"},
		{"bucket key in another bucket", func() error { return list(photos, other, "photos/") }, "AccessDenied"},
		{"read-only key reads", func() error { return get(readOnly, e.bucket, "docs/a.txt") }, ""},
		{"read-only key writes", func() error { return put(readOnly, e.bucket, "docs/b.txt") }, "AccessDenied"},
		{"read-only key deletes", func() error {
			_, err := readOnly.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &e.bucket, Key: aws.String("docs/a.txt")})
			return err
		}, "AccessDenied"},
		{"master key", func() error { return get(master, e.bucket, "docs/a.txt") }, "InvalidAccessKeyId"},
	}
	for _, tc := range cases {
		for round := 0; round < 2; round++ {
			err := tc.call()
			code, _ := conformance.APIError(err)
			if (tc.code == "") != (err == nil) || code != tc.code {
				t.Errorf("%s (round %d): %v, want %q", tc.name, round, err, tc.code)
			}
		}
	}
	// The expiring key is made last and checked at once: on a busy
	// machine the table above can take longer than its life.
	const life = 5 * time.Second
	asked := time.Now()
	expiring := restricted(&authv1.CreateKeyRequest{Name: "soon", Capabilities: []string{policy.ReadFiles}, ValidDurationSeconds: int64(life / time.Second)})
	made := time.Now() // authd's expiry lies in [asked, made] + life
	for round := 0; round < 2; round++ {
		if err := get(expiring, e.bucket, "docs/a.txt"); err != nil && time.Since(asked) < life {
			t.Errorf("expiring key before expiry (round %d): %v", round, err)
		}
	}
	time.Sleep(time.Until(made.Add(life + 100*time.Millisecond)))
	for round := 0; round < 2; round++ {
		err := get(expiring, e.bucket, "docs/a.txt")
		if code, status := conformance.APIError(err); code != "AccessDenied" || status != 403 {
			t.Errorf("expired key (round %d): %v", round, err)
		}
	}
}

// TestDeletedKeyStopsOnEveryGateway: two gateway processes (the cluster's
// own and a second `coffer serve --roles=gateway` pointed at it) serve a
// key; it is deleted through authd; both refuse it within 5 seconds.
func TestDeletedKeyStopsOnEveryGateway(t *testing.T) {
	e := newAuthEnv(t)
	e.put(t, "x", "hello")
	addr := e.c.Process.GRPCAddr()
	args := append(clustertest.Args(t.TempDir()), "--roles", "gateway",
		"--metadata-addrs", addr, "--blobstore-addrs", addr, "--authd-addrs", addr, "--corsd-addrs", addr)
	cfg, _, err := app.ParseConfig("second-gateway", args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	second, err := app.Start(ctx, cfg, io.Discard, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Stop(context.Background()) })

	id, secret := e.key(t, &authv1.CreateKeyRequest{Name: "doomed", Capabilities: []string{policy.ReadFiles}})
	endpoints := []string{e.c.Endpoint, "http://" + second.HTTPAddr()}
	get := func(endpoint string) (int, string) {
		st, code, _ := do(t, sign(t, mustReq(http.MethodGet, endpoint+"/"+e.bucket+"/x", nil), id, secret, time.Now(), emptySHA256, true))
		return st, code
	}
	for _, ep := range endpoints {
		for i := 0; i < 5; i++ {
			if st, code := get(ep); st != 200 {
				t.Fatalf("%s before the delete: %d %s", ep, st, code)
			}
		}
	}
	start := time.Now()
	if _, err := e.auth.DeleteKey(context.Background(), &authv1.DeleteKeyRequest{KeyId: id, AccountToken: e.c.AccountToken()}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, ep := range endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				st, code := get(ep)
				if st == 403 && code == "InvalidAccessKeyId" {
					took := time.Since(start)
					t.Logf("%s refuses the deleted key %v after the delete", ep, took)
					if took > 5*time.Second {
						t.Errorf("%s took %v (> 5 s)", ep, took)
					}
					return
				}
				if st != 200 {
					t.Errorf("%s: %d %s", ep, st, code)
					return
				}
				if time.Since(start) > 10*time.Second {
					t.Errorf("%s still serves the deleted key after 10 s", ep)
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
}

// shaHasher adapts crypto/sha256 to minio-go's md5simd.Hasher.
type shaHasher struct{ hash.Hash }

func (shaHasher) Close() {}

func sha256Hasher() md5simd.Hasher { return shaHasher{sha256.New()} }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
