package tlstest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// TestClientsOverTLS starts one HTTPS server and runs every client against
// it, one after another (they share two cores with everything else).
func TestClientsOverTLS(t *testing.T) {
	srv := startServer(t)
	t.Run("AWSSDKTrailingChecksums", func(t *testing.T) { awsSDK(t, srv) })
	t.Run("MinioGo", func(t *testing.T) { minioGo(t, srv) })
	t.Run("HTTP2", func(t *testing.T) { http2(t, srv) })
	t.Run("B2AdvertisesHTTPS", func(t *testing.T) { b2URLs(t, srv) })
	t.Run("AWSCLI", func(t *testing.T) { awsCLI(t, srv) })
	t.Run("Boto3", func(t *testing.T) { boto3(t, srv) })
	t.Run("B2CLI", func(t *testing.T) { b2CLI(t, srv) })
	t.Run("Reload", func(t *testing.T) { reload(t, srv) })
}

// recorder is an HTTP client that remembers the headers it sent.
type recorder struct {
	c    *http.Client
	sent []http.Header
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.sent = append(r.sent, req.Header.Clone())
	return r.c.Do(req)
}

// awsSDK: aws-sdk-go-v2 sends its default CRC32 checksum in an aws-chunked
// trailer only over TLS; the server takes the upload and the bytes come
// back intact.
func awsSDK(t *testing.T, srv *server) {
	ctx := context.Background()
	rec := &recorder{c: srv.httpClient(t)}
	// WhenSupported is what config.LoadDefaultConfig gives every client
	// (s3.New leaves it unset, which sends no checksum at all).
	cli := s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(srv.endpoint), UsePathStyle: true,
		HTTPClient: rec, RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		Credentials: awscreds.NewStaticCredentialsProvider(keyID, secret, "")})
	const b = "tls-sdk"
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("trailing checksums over https "), 40000) // 1.2 MB
	rec.sent = nil
	if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("obj"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	if len(rec.sent) != 1 || rec.sent[0].Get("X-Amz-Content-Sha256") != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" ||
		!strings.EqualFold(rec.sent[0].Get("X-Amz-Trailer"), "x-amz-checksum-crc32") {
		t.Fatalf("the SDK did not send its default trailing checksum: %v", rec.sent)
	}
	get, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GetObject: %d bytes, %v", len(got), err)
	}
}

func minioGo(t *testing.T, srv *server) {
	ctx := context.Background()
	cli, err := minio.New(strings.TrimPrefix(srv.endpoint, "https://"), &minio.Options{
		Creds: miniocreds.NewStaticV4(keyID, secret, ""), Secure: true, Region: region,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.pool(t)}, ForceAttemptHTTP2: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	const b = "tls-minio"
	if err := cli.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("minio-go over https "), 10000)
	if _, err := cli.PutObject(ctx, b, "obj", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := cli.GetObject(ctx, b, "obj", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GetObject: %d bytes, %v", len(got), err)
	}
}

// http2: the edge offers HTTP/2 over TLS (ALPN), for S3 and B2 alike.
func http2(t *testing.T, srv *server) {
	c := srv.httpClient(t)
	for _, path := range []string{"/", "/b2api/v2/b2_authorize_account"} {
		resp, err := c.Get(srv.endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Fatalf("%s: %s over ALPN %q, want HTTP/2", path, resp.Proto, resp.TLS.NegotiatedProtocol)
		}
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := http.Get("http://127.0.0.1:" + srv.port + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("plain HTTP to the TLS port: %s", resp.Status)
		}
	}
}

// b2URLs: b2_authorize_account over TLS hands out https URLs, and so do
// the upload URLs, so B2 clients stay on TLS.
func b2URLs(t *testing.T, srv *server) {
	c := srv.httpClient(t)
	call := func(method, url, auth string, body any) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, url, rd)
		if auth == "" {
			req.SetBasicAuth(keyID, secret)
		} else {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %s %v %v", url, resp.Status, m, err)
		}
		return m
	}
	auth := call(http.MethodGet, srv.endpoint+"/b2api/v2/b2_authorize_account", "", nil)
	for _, f := range []string{"apiUrl", "downloadUrl", "s3ApiUrl"} {
		if u, _ := auth[f].(string); u != srv.endpoint {
			t.Errorf("%s = %q, want %q", f, u, srv.endpoint)
		}
	}
	v3 := call(http.MethodGet, srv.endpoint+"/b2api/v3/b2_authorize_account", "", nil)
	api := v3["apiInfo"].(map[string]any)["storageApi"].(map[string]any)
	if u, _ := api["apiUrl"].(string); u != srv.endpoint {
		t.Errorf("v3 storageApi.apiUrl = %q", u)
	}
	token := auth["authorizationToken"].(string)
	b := call(http.MethodPost, srv.endpoint+"/b2api/v2/b2_create_bucket", token,
		map[string]any{"accountId": auth["accountId"], "bucketName": "tls-b2-urls", "bucketType": "allPrivate"})
	up := call(http.MethodPost, srv.endpoint+"/b2api/v2/b2_get_upload_url", token, map[string]any{"bucketId": b["bucketId"]})
	if u, _ := up["uploadUrl"].(string); !strings.HasPrefix(u, srv.endpoint+"/") {
		t.Errorf("uploadUrl = %q, want it under %s", u, srv.endpoint)
	}
}

// awsCLI: Debian's aws-cli given the CA with AWS_CA_BUNDLE, as the README shows.
func awsCLI(t *testing.T, srv *server) {
	debian(t, "/usr/bin/aws", "awscli")
	env := []string{"AWS_ACCESS_KEY_ID=" + keyID, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_DEFAULT_REGION=" + region,
		"AWS_CA_BUNDLE=" + srv.caFile, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true"}
	aws := func(args ...string) string {
		return run(t, env, "/usr/bin/aws", append([]string{"--endpoint-url", srv.endpoint}, args...)...)
	}
	aws("s3", "mb", "s3://tls-awscli")
	src := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(src, []byte("hello over https\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	aws("s3", "cp", src, "s3://tls-awscli/")
	if out := aws("s3", "ls", "s3://tls-awscli/"); !strings.Contains(out, "README.md") {
		t.Fatalf("aws s3 ls:\n%s", out)
	}
	back := filepath.Join(t.TempDir(), "back")
	aws("s3", "cp", "s3://tls-awscli/README.md", back)
	if b, _ := os.ReadFile(back); string(b) != "hello over https\n" {
		t.Fatalf("round trip: %q", b)
	}
}

// boto3: Debian's python3-boto3 (under /usr/bin/python3; python3 on PATH
// may be another interpreter) with verify= the CA.
func boto3(t *testing.T, srv *server) {
	debian(t, "/usr/lib/python3/dist-packages/boto3/__init__.py", "python3-boto3")
	script := `import sys, boto3
endpoint, ca, key, secret = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, region_name="us-east-1",
                  aws_access_key_id=key, aws_secret_access_key=secret)
s3.create_bucket(Bucket="tls-boto3")
s3.put_object(Bucket="tls-boto3", Key="hello.txt", Body=b"hello from boto3")
print(s3.get_object(Bucket="tls-boto3", Key="hello.txt")["Body"].read().decode())
`
	out := run(t, nil, "/usr/bin/python3", "-c", script, srv.endpoint, srv.caFile, keyID, secret)
	if !strings.Contains(out, "hello from boto3") {
		t.Fatalf("boto3:\n%s", out)
	}
}

// b2CLIMain runs Debian's b2 command-line tool (1.3.8) with its "dev" realm
// pointed at the endpoint: that version knows only Backblaze's realms.
const b2CLIMain = `import sys
from b2.account_info.abstract import AbstractAccountInfo
AbstractAccountInfo.REALM_URLS["dev"] = sys.argv.pop(1)
from b2.console_tool import main
main()
`

// b2CLI: the b2 tool over https, trusting the CA through REQUESTS_CA_BUNDLE
// (its HTTP library is requests).
func b2CLI(t *testing.T, srv *server) {
	debian(t, "/usr/lib/python3/dist-packages/b2/console_tool.py", "backblaze-b2")
	home := t.TempDir()
	env := []string{"REQUESTS_CA_BUNDLE=" + srv.caFile, "B2_ACCOUNT_INFO=" + filepath.Join(home, "account_info")}
	b2 := func(args ...string) string {
		return run(t, env, "/usr/bin/python3", append([]string{"-c", b2CLIMain, srv.endpoint}, args...)...)
	}
	b2("authorize-account", "--dev", keyID, secret)
	b2("create-bucket", "tls-b2cli", "allPrivate")
	local := filepath.Join(home, "hello.txt")
	if err := os.WriteFile(local, []byte("hello from the b2 tool\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b2("upload-file", "tls-b2cli", local, "hello.txt")
	if out := b2("ls", "tls-b2cli"); !strings.Contains(out, "hello.txt") {
		t.Fatalf("b2 ls:\n%s", out)
	}
	back := filepath.Join(home, "back.txt")
	b2("download-file-by-name", "tls-b2cli", "hello.txt", back)
	if b, _ := os.ReadFile(back); string(b) != "hello from the b2 tool\n" {
		t.Fatalf("round trip: %q", b)
	}
}

// reload: a renewed certificate (`coffer cert dev` again: same CA, new
// certificate) is served to new connections without a restart.
func reload(t *testing.T, srv *server) {
	serial := func() string {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", "127.0.0.1:"+srv.port, &tls.Config{RootCAs: srv.pool(t), ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	time.Sleep(10 * time.Millisecond) // a distinct modification time
	coffer(t, srv.bin, "cert", "dev", "--dir", srv.tlsDir)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if serial() != before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate is not served 10 s after its files changed")
		}
	}
}
