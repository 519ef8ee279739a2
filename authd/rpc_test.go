package authd_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/coffer-project/coffer/authd"
	"github.com/coffer-project/coffer/authd/kek"
	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/authd/sigv4"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const (
	clusterKey  = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	adminID     = "admin-key"
	adminSecret = "admin-secret-0123"
	// masterSecret is the fixture's master key secret.
	masterSecret = "master-secret-for-tests"
)

// fixture is metadata + authd with a known KEK, a configured admin key and
// an injected clock.
type fixture struct {
	meta  *metaNode
	auth  *authNode
	clock *clock
	kek   *kek.KEK
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	t.Setenv(authd.EnvClusterKey, clusterKey)
	k, err := kek.FromBase64(clusterKey)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{meta: startMetadata(t), clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, kek: k}
	cfg := testConfig(t, t.TempDir())
	cfg.BootstrapKeyID, cfg.BootstrapSecret = adminID, adminSecret
	cfg.MasterSecret = masterSecret
	f.auth = startAuthd(t, cfg, f.meta, f.clock.Now)
	return f
}

func (f *fixture) verify(t *testing.T, r *http.Request, access *authv1.Access) (*authv1.VerifySigV4Response, error) {
	t.Helper()
	req := wire(r)
	req.Access = access
	return f.auth.client.VerifySigV4(ctx(t), req)
}

type hasher struct{ hash.Hash }

func (hasher) Close() {}

func TestVerifyErrorsCrossGRPC(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()

	_, err := f.verify(t, signed(t, "GET", "http://h/b/k", "no-such-key", "whatever-secret", now, nil), nil)
	if e := wantKind(t, err, errs.UnknownAccessKey); e.Details["access_key_id"] != "no-such-key" {
		t.Errorf("details %v", e.Details)
	}

	_, err = f.verify(t, signed(t, "GET", "http://h/b/k", adminID, "wrong-secret-xyz", now, nil), nil)
	e := wantKind(t, err, errs.SignatureMismatch)
	if !strings.HasPrefix(e.Details["canonical_request"], "GET\n/b/k\n") || !strings.HasPrefix(e.Details["string_to_sign"], "AWS4-HMAC-SHA256\n") {
		t.Errorf("mismatch details %v", e.Details)
	}

	// Skew: ±15 min is fine, one second more is not.
	r := signed(t, "GET", "http://h/b/k", adminID, adminSecret, now, nil)
	f.clock.Add(15 * time.Minute)
	if _, err := f.verify(t, r, nil); err != nil {
		t.Fatalf("at +15m: %v", err)
	}
	f.clock.Add(time.Second)
	e = wantKind(t, err2(f.verify(t, r, nil)), errs.RequestTimeTooSkewed)
	if e.Details["request_time"] != now.Format(sigv4.TimeFormat) || e.Details["server_time"] == "" {
		t.Errorf("skew details %v", e.Details)
	}
	f.clock.Add(-15*time.Minute - time.Second)

	// Malformed, SigV2, SigV4a, both mechanisms.
	bad := signed(t, "GET", "http://h/b/k", adminID, adminSecret, now, nil)
	bad.Header.Set("Authorization", strings.Replace(bad.Header.Get("Authorization"), "SignedHeaders=", "SignedHeaders=;", 1))
	wantKind(t, err2(f.verify(t, bad, nil)), errs.MalformedAuth)
	bad.Header.Set("Authorization", "AWS "+adminID+":c2lnbmF0dXJl")
	wantKind(t, err2(f.verify(t, bad, nil)), errs.InvalidRequest)
	both := signed(t, "GET", "http://h/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256", adminID, adminSecret, now, nil)
	wantKind(t, err2(f.verify(t, both, nil)), errs.InvalidArgument)

	// Presigned: valid inside the window, Expired after it, MalformedAuth
	// (query variant) beyond a week.
	pr, _ := http.NewRequest("GET", "http://h/b/k?X-Amz-Expires=60", nil)
	u, _, err := v4.NewSigner().PresignHTTP(ctx(t), aws.Credentials{AccessKeyID: adminID, SecretAccessKey: adminSecret}, pr, sigv4.UnsignedPayload, "s3", "us-east-1", now)
	if err != nil {
		t.Fatal(err)
	}
	pg, _ := http.NewRequest("GET", u, nil)
	resp, err := f.verify(t, pg, nil)
	if err != nil || resp.PayloadHash != sigv4.UnsignedPayload || resp.Principal.KeyId != adminID {
		t.Fatalf("presigned: %v %v", resp, err)
	}
	f.clock.Add(61 * time.Second)
	wantKind(t, err2(f.verify(t, pg, nil)), errs.Expired)
	f.clock.Add(-61 * time.Second)
	pw, _ := http.NewRequest("GET", strings.Replace(u, "X-Amz-Expires=60", "X-Amz-Expires=604801", 1), nil)
	if e := wantKind(t, err2(f.verify(t, pw, nil)), errs.MalformedAuth); e.Details["query"] != "true" {
		t.Errorf("query detail missing: %v", e.Details)
	}
}

func err2[T any](_ T, err error) error { return err }

// TestStreamingResponse: for signed aws-chunked bodies authd hands back
// kSigning, the seed signature, X-Amz-Date and the scope; with them the
// gateway reproduces minio-go's chunk signatures.
func TestStreamingResponse(t *testing.T) {
	f := newFixture(t)
	data := bytes.Repeat([]byte("z"), 70000)
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:9000/bucket/stream", bytes.NewReader(data))
	req.ContentLength = int64(len(data))
	out := signer.StreamingSignV4(req, adminID, adminSecret, "", "us-east-1", int64(len(data)), f.clock.Now(), hasher{sha256.New()})
	resp, err := f.verify(t, out, &authv1.Access{Capability: policy.WriteFiles, BucketId: "b", Name: "stream"})
	if err != nil {
		t.Fatal(err)
	}
	date := f.clock.Now().Format(sigv4.DateFormat)
	if resp.PayloadHash != sigv4.StreamingPayload || resp.AmzDate != f.clock.Now().Format(sigv4.TimeFormat) ||
		resp.CredentialScope != date+"/us-east-1/s3/aws4_request" ||
		!bytes.Equal(resp.SigningKey, sigv4.DeriveSigningKey(adminSecret, date, "us-east-1", "s3")) ||
		!strings.HasSuffix(out.Header.Get("Authorization"), "Signature="+resp.SeedSignature) {
		t.Fatalf("streaming response %v", resp)
	}
	// The first chunk's signature, from the response alone.
	body, _ := io.ReadAll(out.Body)
	header, rest, _ := bytes.Cut(body, []byte("\r\n"))
	size := 64 * 1024
	sum := sha256.Sum256(rest[:size])
	sts := sigv4.ChunkAlgorithm + "\n" + resp.AmzDate + "\n" + resp.CredentialScope + "\n" + resp.SeedSignature + "\n" +
		sigv4.EmptySHA256 + "\n" + hex.EncodeToString(sum[:])
	if want := "10000;chunk-signature=" + sigv4.Sign(resp.SigningKey, sts); string(header) != want {
		t.Fatalf("chunk header %q, want %q", header, want)
	}

	// Unsigned trailer: seed verified; the signing key comes back as for
	// every verified request (the gateway caches it).
	req, _ = http.NewRequest(http.MethodPut, "http://127.0.0.1:9000/bucket/t", bytes.NewReader(data))
	req.ContentLength = int64(len(data))
	req.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingUnsignedPayloadTrailer)
	out = signer.SignV4Trailer(*req, adminID, adminSecret, "", "us-east-1", http.Header{"x-amz-checksum-crc32": {"AAAAAA=="}})
	resp, err = f.verify(t, out, nil)
	if err != nil || resp.PayloadHash != sigv4.StreamingUnsignedPayloadTrailer || len(resp.SigningKey) != 32 || resp.SeedSignature == "" {
		t.Fatalf("unsigned trailer: %v %v", resp, err)
	}
}

func TestAnonymous(t *testing.T) {
	f := newFixture(t)
	r, _ := http.NewRequest("GET", "http://h/bucket/k?versionId=1", nil)
	resp, err := f.verify(t, r, &authv1.Access{Capability: policy.ReadFiles, BucketId: "b", Name: "k", BucketPublic: true})
	if err != nil || !resp.Principal.Anonymous || resp.Principal.KeyId != "" || resp.Principal.AccountId == "" {
		t.Fatalf("public read: %v %v", resp, err)
	}
	wantKind(t, err2(f.verify(t, r, &authv1.Access{Capability: policy.ReadFiles, BucketId: "b", Name: "k"})), errs.PermissionDenied)
	wantKind(t, err2(f.verify(t, r, &authv1.Access{Capability: policy.ListFiles, BucketId: "b", BucketPublic: true})), errs.PermissionDenied)
	if resp, err := f.verify(t, r, nil); err != nil || !resp.Principal.Anonymous {
		t.Fatalf("anonymous without access: %v %v", resp, err)
	}
}

// TestMasterKeyRefused: a master key (as B2 has) cannot be used on S3.
func TestMasterKeyRefused(t *testing.T) {
	f := newFixture(t)
	secret := "master-secret-value"
	sealed, err := f.kek.Seal("000master", []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.meta.client.CreateKey(ctx(t), &metadatav1.CreateKeyRequest{Key: &metadatav1.ApplicationKey{
		KeyId: "000master", Name: "master", Capabilities: policy.AllCapabilities(), Master: true,
		EncryptedSecret: sealed, KekVersion: f.kek.Version(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(f.verify(t, signed(t, "GET", "http://h/", "000master", secret, f.clock.Now(), nil), nil)), errs.UnknownAccessKey)
}

func TestKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	now := f.clock.Now()

	// Validation.
	for name, req := range map[string]*authv1.CreateKeyRequest{
		"no name":             {Capabilities: []string{policy.ReadFiles}},
		"bad name":            {Name: "a b", Capabilities: []string{policy.ReadFiles}},
		"no capabilities":     {Name: "k"},
		"unknown capability":  {Name: "k", Capabilities: []string{"readfiles"}},
		"restricted writeKey": {Name: "k", Capabilities: []string{policy.WriteKeys}, BucketIds: []string{"b"}},
		"empty bucket id":     {Name: "k", Capabilities: []string{policy.ReadFiles}, BucketIds: []string{""}},
		"negative duration":   {Name: "k", Capabilities: []string{policy.ReadFiles}, ValidDurationSeconds: -1},
		"1000 days + 1s":      {Name: "k", Capabilities: []string{policy.ReadFiles}, ValidDurationSeconds: 86400001},
		"id without secret":   {Name: "k", Capabilities: []string{policy.ReadFiles}, KeyId: "abc"},
		"short secret":        {Name: "k", Capabilities: []string{policy.ReadFiles}, KeyId: "abc", Secret: "short"},
		"id with slash":       {Name: "k", Capabilities: []string{policy.ReadFiles}, KeyId: "a/b", Secret: "long enough"},
	} {
		req.AccountToken = adminToken(t, c)
		if _, err := c.CreateKey(ctx(t), req); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := c.CreateKey(ctx(t), &authv1.CreateKeyRequest{AccountToken: adminToken(t, c), Name: "dup", Capabilities: []string{policy.ReadFiles}, KeyId: adminID, Secret: "long enough"}); errs.KindOf(err) != errs.Conflict {
		t.Errorf("existing id: %v", err)
	}

	// A key with an explicit id, expiring in a minute.
	created, err := c.CreateKey(ctx(t), &authv1.CreateKeyRequest{AccountToken: adminToken(t, c),
		Name: "short-lived", Capabilities: []string{policy.ReadFiles, policy.ReadFiles}, ValidDurationSeconds: 60,
		KeyId: "chosen-id", Secret: "chosen-secret",
	})
	if err != nil || created.Secret != "chosen-secret" || created.Key.KeyId != "chosen-id" || len(created.Key.Capabilities) != 1 ||
		created.Key.ExpirationTimeUnixMillis != now.Add(time.Minute).UnixMilli() {
		t.Fatalf("CreateKey = %v, %v", created, err)
	}
	r := signed(t, "GET", "http://h/bucket/k", "chosen-id", "chosen-secret", now, nil)
	if _, err := f.verify(t, r, &authv1.Access{Capability: policy.ReadFiles, BucketId: "b", Name: "k"}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(f.verify(t, r, &authv1.Access{Capability: policy.WriteFiles, BucketId: "b", Name: "k"})), errs.PermissionDenied)
	f.clock.Add(time.Minute)
	wantKind(t, err2(f.verify(t, signed(t, "GET", "http://h/bucket/k", "chosen-id", "chosen-secret", f.clock.Now(), nil), nil)), errs.Expired)

	// Authorize is the same decision.
	p := &authv1.Principal{KeyId: "x", Capabilities: []string{policy.ListFiles}, NamePrefix: "a/"}
	if _, err := c.Authorize(ctx(t), &authv1.AuthorizeRequest{Principal: p, Access: &authv1.Access{Capability: policy.ListFiles, Name: "a/b"}}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(c.Authorize(ctx(t), &authv1.AuthorizeRequest{Principal: p, Access: &authv1.Access{Capability: policy.ListFiles, Name: "b"}})), errs.PermissionDenied)

	// Paging through keys: the admin key, chosen-id and four generated ones.
	var generated []*authv1.CreateKeyResponse
	for i := 0; i < 4; i++ {
		k, err := c.CreateKey(ctx(t), &authv1.CreateKeyRequest{AccountToken: adminToken(t, c), Name: "gen", Capabilities: []string{policy.ListBuckets}})
		if err != nil || len(k.Secret) != 31 || len(k.Key.KeyId) != 25 {
			t.Fatalf("CreateKey = %v, %v", k, err)
		}
		generated = append(generated, k)
	}
	var all []string
	start := ""
	for {
		page, err := c.ListKeys(ctx(t), &authv1.ListKeysRequest{AccountToken: adminToken(t, c), PageSize: 4, StartKeyId: start})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page.Keys {
			all = append(all, k.KeyId)
		}
		if start = page.NextKeyId; start == "" {
			break
		}
	}
	if len(all) != 6 {
		t.Fatalf("listed %v", all)
	}
	wantKind(t, err2(c.ListKeys(ctx(t), &authv1.ListKeysRequest{AccountToken: adminToken(t, c), PageSize: -1})), errs.InvalidArgument)

	// Deleting a key stops it at once on this replica (cache evicted).
	g := generated[0]
	gr := signed(t, "GET", "http://h/", g.Key.KeyId, g.Secret, f.clock.Now(), nil)
	if _, err := f.verify(t, gr, nil); err != nil {
		t.Fatal(err)
	}
	if del, err := c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: adminToken(t, c), KeyId: g.Key.KeyId}); err != nil || del.Key.KeyId != g.Key.KeyId {
		t.Fatalf("DeleteKey = %v, %v", del, err)
	}
	wantKind(t, err2(f.verify(t, gr, nil)), errs.UnknownAccessKey)
	wantKind(t, err2(c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: adminToken(t, c), KeyId: g.Key.KeyId})), errs.KeyNotFound)

	// Deleted elsewhere (through another replica, straight in metadata):
	// stops at once too, since authd reads the key on every verification.
	h := generated[1]
	hr := signed(t, "GET", "http://h/", h.Key.KeyId, h.Secret, f.clock.Now(), nil)
	if _, err := f.verify(t, hr, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.meta.client.DeleteKey(ctx(t), &metadatav1.DeleteKeyRequest{KeyId: h.Key.KeyId}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(f.verify(t, hr, nil)), errs.UnknownAccessKey)
}

// The sealed bytes in metadata are AES-GCM under the cluster key with the key
// id as AAD: readable with the right id, not with another.
func TestStoredSecretSealed(t *testing.T) {
	f := newFixture(t)
	got, err := f.meta.client.GetKey(ctx(t), &metadatav1.GetKeyRequest{KeyId: adminID})
	if err != nil {
		t.Fatal(err)
	}
	k := got.Key
	if strings.Contains(string(k.EncryptedSecret), adminSecret) || strings.Contains(base64.StdEncoding.EncodeToString(k.EncryptedSecret), adminSecret) {
		t.Fatal("plaintext secret stored")
	}
	if plain, err := f.kek.Open(adminID, k.KekVersion, k.EncryptedSecret); err != nil || string(plain) != adminSecret {
		t.Fatalf("open: %v", err)
	}
	if _, err := f.kek.Open("other-id", k.KekVersion, k.EncryptedSecret); err == nil {
		t.Fatal("opened with another key id")
	}
}
