package authd_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/authd"
	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/authd/sigv4"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

var (
	printed       = regexp.MustCompile(`access key id \(applicationKeyId\):\s+(\S+)\n\s+secret access key \(applicationKey\):\s+(\S+)\n`)
	printedMaster = regexp.MustCompile(`master applicationKeyId: (\S+) .*\n\s+master applicationKey:\s+(\S+)\n`)
)

// signed returns a request header-signed by aws-sdk-go-v2 at the given time.
func signed(t *testing.T, method, rawURL, id, secret string, at time.Time, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	req.Header.Set("Content-Type", "text/plain")
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req, payload, "s3", "us-east-1", at,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestGeneratedBootstrapKey: first start prints a generated key with every
// capability; aws-sdk-go-v2 requests signed with it verify; the secret is
// nowhere in metadata's files; a restart reuses everything.
func TestGeneratedBootstrapKey(t *testing.T) {
	t.Setenv(authd.EnvClusterKey, "")
	meta := startMetadata(t)
	dataDir := t.TempDir()
	cfg := testConfig(t, dataDir)
	cfg.BootstrapKeyID, cfg.BootstrapSecret = "", ""
	a := startAuthd(t, cfg, meta, nil)

	m := printed.FindStringSubmatch(a.out.String())
	if m == nil {
		t.Fatalf("no key printed:\n%s", a.out.String())
	}
	id, secret := m[1], m[2]
	if len(id) != 25 || !strings.HasPrefix(id, "00") || len(secret) != 31 || !strings.HasPrefix(secret, "K00") {
		t.Fatalf("generated id %q secret length %d", id, len(secret))
	}
	if !strings.Contains(a.out.String(), "aws --endpoint-url") {
		t.Fatalf("no aws-cli hint:\n%s", a.out.String())
	}
	if st, err := os.Stat(filepath.Join(dataDir, "kek")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kek file: %v", err)
	}

	tok, err := a.client.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: id, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := a.client.ListKeys(ctx(t), &authv1.ListKeysRequest{AccountToken: tok.AuthorizationToken})
	if err != nil || len(keys.Keys) != 1 || keys.Keys[0].KeyId != id || len(keys.Keys[0].Capabilities) != len(policy.AllCapabilities()) ||
		len(keys.Keys[0].AccountId) != 12 || keys.Keys[0].Master {
		t.Fatalf("ListKeys = %v, %v", keys, err)
	}

	req := signed(t, http.MethodPut, "http://127.0.0.1:9000/bucket/a%20b/ü.txt?partNumber=1&uploadId=x", id, secret, time.Now(), []byte("hello"))
	vr := wire(req)
	vr.Access = &authv1.Access{Capability: policy.WriteFiles, BucketId: "b1", Name: "a b/ü.txt"}
	resp, err := a.client.VerifySigV4(ctx(t), vr)
	if err != nil {
		t.Fatal(err)
	}
	date := resp.AmzDate[:8]
	if p := resp.Principal; p.KeyId != id || p.AccountId != keys.Keys[0].AccountId || p.KeyName == "" || p.Anonymous ||
		!bytes.Equal(resp.SigningKey, sigv4.DeriveSigningKey(secret, date, "us-east-1", "s3")) {
		t.Fatalf("response %v", resp)
	}

	// The master key was created and printed once, in its own block; it is
	// not listed, works for B2 and is refused on S3.
	mm := printedMaster.FindStringSubmatch(a.out.String())
	if mm == nil || mm[1] != "000"+keys.Keys[0].AccountId+"0000000000" || len(mm[2]) != 31 || mm[2] == secret {
		t.Fatalf("master key not printed as expected:\n%s", a.out.String())
	}
	if _, err := a.client.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: keys.Keys[0].AccountId, Secret: mm[2]}); err != nil {
		t.Fatalf("master key on B2: %v", err)
	}
	wantKind(t, err2(a.client.VerifySigV4(ctx(t), wire(signed(t, http.MethodGet, "http://h/", mm[1], mm[2], time.Now(), nil)))), errs.UnknownAccessKey)

	// The secret is sealed before it reaches metadata: not in the stored
	// record, not in the Raft log, not in the state database.
	stored, err := meta.client.GetKey(ctx(t), &metadatav1.GetKeyRequest{KeyId: id})
	if err != nil || bytes.Contains(stored.Key.EncryptedSecret, []byte(secret)) || stored.Key.KekVersion == 0 {
		t.Fatalf("stored key %v %v", stored, err)
	}
	assertNotInFiles(t, meta.dir, secret)
	assertNotInFiles(t, dataDir, secret)

	// Restart authd: no new key, nothing printed, the same key still works.
	a.stop()
	b := startAuthd(t, cfg, meta, nil)
	if b.out.Len() != 0 {
		t.Fatalf("printed again:\n%s", b.out.String())
	}
	if _, err := b.client.VerifySigV4(ctx(t), wire(req)); err != nil {
		t.Fatal(err)
	}
	if keys, _ := b.client.ListKeys(ctx(t), &authv1.ListKeysRequest{AccountToken: tok.AuthorizationToken}); len(keys.Keys) != 1 {
		t.Fatalf("keys after restart: %v", keys)
	}
}

func assertNotInFiles(t *testing.T, dir, secret string) {
	t.Helper()
	n := 0
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s contains the secret", path)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walk %s: %d files, %v", dir, n, err)
	}
}

// TestConfiguredBootstrapKey: the id and secret from the environment are
// used; a different secret on restart, or another KEK, fails Start clearly.
func TestConfiguredBootstrapKey(t *testing.T) {
	t.Setenv(authd.EnvClusterKey, "")
	t.Setenv(authd.EnvAccessKeyID, "coffer-admin")
	t.Setenv(authd.EnvSecretAccessKey, "correct horse battery staple")
	t.Setenv(authd.EnvMasterSecret, "the master secret")
	meta := startMetadata(t)
	cfg := testConfig(t, t.TempDir())
	if cfg.BootstrapKeyID != "coffer-admin" || cfg.BootstrapSecret != "correct horse battery staple" || cfg.MasterSecret != "the master secret" {
		t.Fatalf("flags did not default from the environment: %+v", cfg)
	}
	a := startAuthd(t, cfg, meta, nil)
	if a.out.Len() != 0 {
		t.Fatalf("printed a configured key:\n%s", a.out.String())
	}
	req := signed(t, http.MethodGet, "http://localhost:8080/", "coffer-admin", "correct horse battery staple", time.Now(), nil)
	resp, err := a.client.VerifySigV4(ctx(t), wire(req))
	if err != nil || resp.Principal.KeyId != "coffer-admin" || len(resp.Principal.Capabilities) != len(policy.AllCapabilities()) {
		t.Fatalf("VerifySigV4 = %v, %v", resp, err)
	}
	a.stop()

	// Same id, other secret: refuse to start rather than keep the old one.
	other := cfg
	other.BootstrapSecret = "another secret entirely"
	_, err = tryStartAuthd(t, other, meta, nil)
	if err == nil || !strings.Contains(err.Error(), "different secret") || strings.Contains(err.Error(), "another secret") {
		t.Fatalf("start with another secret: %v", err)
	}
	// The same for the master key's configured secret.
	otherMaster := cfg
	otherMaster.MasterSecret = "another master secret"
	_, err = tryStartAuthd(t, otherMaster, meta, nil)
	if err == nil || !strings.Contains(err.Error(), "master key already exists with a different secret") || strings.Contains(err.Error(), "another master") {
		t.Fatalf("start with another master secret: %v", err)
	}
	// Another KEK cannot read the stored secret: say so.
	wrong := cfg
	wrong.KEKFile = filepath.Join(t.TempDir(), "other-kek")
	_, err = tryStartAuthd(t, wrong, meta, nil)
	if err == nil || !strings.Contains(err.Error(), "key-encryption key") {
		t.Fatalf("start with another KEK: %v", err)
	}
	// The original configuration still starts.
	startAuthd(t, cfg, meta, nil)
}

// TestClusterKeyFromEnvironment: COFFER_CLUSTER_KEY replaces the KEK file.
func TestClusterKeyFromEnvironment(t *testing.T) {
	t.Setenv(authd.EnvClusterKey, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	meta := startMetadata(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.BootstrapKeyID, cfg.BootstrapSecret = "env-admin", "env-secret-123"
	startAuthd(t, cfg, meta, nil)
	if _, err := os.Stat(filepath.Join(dir, "kek")); !os.IsNotExist(err) {
		t.Fatalf("a KEK file was created although %s is set: %v", authd.EnvClusterKey, err)
	}
	t.Setenv(authd.EnvClusterKey, "not base64!")
	if _, err := tryStartAuthd(t, cfg, meta, nil); err == nil || strings.Contains(err.Error(), "not base64!") {
		t.Fatalf("bad cluster key: %v", err)
	}
}

// s3Gateway is a minimal stand-in for the gateway's S3 front door: it asks
// authd to verify (and authorize) every request, as the real one does.
func s3Gateway(t *testing.T, client authv1.AuthServiceClient) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := wire(r)
		req.Host = r.Host
		capability := policy.ReadFiles
		switch {
		case r.Method == http.MethodPut:
			capability = policy.WriteFiles
		case r.URL.Query().Has("list-type"):
			capability = policy.ListFiles
		}
		key := strings.TrimPrefix(r.URL.Path, "/bucket/")
		if capability == policy.ListFiles {
			key = r.URL.Query().Get("prefix")
		}
		req.Access = &authv1.Access{Capability: capability, BucketId: "b1", BucketName: "bucket", Name: key}
		if _, err := client.VerifySigV4(r.Context(), req); err != nil {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, errs.KindOf(err).Reason())
			return
		}
		switch {
		case r.Method == http.MethodPut:
			w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
		case capability == policy.ListFiles:
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`)
		default:
			fmt.Fprint(w, "hello")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAWSClientThroughAuthd: the real S3 client against a front door that
// asks authd, with a full key and with a prefix-restricted key.
func TestAWSClientThroughAuthd(t *testing.T) {
	t.Setenv(authd.EnvClusterKey, "")
	meta := startMetadata(t)
	cfg := testConfig(t, t.TempDir())
	cfg.BootstrapKeyID, cfg.BootstrapSecret = "admin-key", "admin-secret-0123"
	a := startAuthd(t, cfg, meta, nil)
	gw := s3Gateway(t, a.client)

	restricted, err := a.client.CreateKey(ctx(t), &authv1.CreateKeyRequest{AccountToken: adminToken(t, a.client),
		Name: "photos-only", Capabilities: []string{policy.ListFiles, policy.ReadFiles, policy.WriteFiles},
		BucketIds: []string{"b1"}, NamePrefix: "photos/",
	})
	if err != nil {
		t.Fatal(err)
	}
	client := func(id, secret string) *s3.Client {
		return s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(gw.URL), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		})
	}
	admin := client("admin-key", "admin-secret-0123")
	photos := client(restricted.Key.KeyId, restricted.Secret)
	for _, key := range []string{"photos/cat.jpg", "photos/a b+c/ü%.txt", "photos/../x", "photos//y"} {
		for name, c := range map[string]*s3.Client{"admin": admin, "photos": photos} {
			if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
				t.Fatalf("%s PutObject %q: %v", name, key, err)
			}
			if _, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)}); err != nil {
				t.Fatalf("%s GetObject %q: %v", name, key, err)
			}
			if _, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("bucket"), Prefix: aws.String(key)}); err != nil {
				t.Fatalf("%s ListObjectsV2 %q: %v", name, key, err)
			}
		}
	}
	// Outside the prefix: refused for the restricted key, fine for admin.
	if _, err := photos.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("docs/a"), Body: strings.NewReader("x")}); err == nil ||
		!strings.Contains(err.Error(), "403") {
		t.Fatalf("restricted PutObject outside prefix: %v", err)
	}
	if _, err := photos.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("bucket")}); err == nil {
		t.Fatal("restricted listing without prefix allowed")
	}
	if _, err := admin.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("docs/a"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	// A wrong secret is refused.
	bad := client("admin-key", "not-the-secret")
	if _, err := bad.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String("photos/cat.jpg")}); err == nil {
		t.Fatal("wrong secret accepted")
	}
	// Presigned URLs go through the same verifier and the same decision.
	ps := s3.NewPresignClient(photos)
	for key, want := range map[string]int{"photos/cat.jpg": 200, "docs/a": 403} {
		p, err := ps.PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(p.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("presigned GET %q: %d, want %d", key, resp.StatusCode, want)
		}
	}
}
