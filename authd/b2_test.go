package authd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/authd"
	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const (
	kindAccount  = authv1.TokenKind_TOKEN_KIND_ACCOUNT
	kindUpload   = authv1.TokenKind_TOKEN_KIND_UPLOAD
	kindDownload = authv1.TokenKind_TOKEN_KIND_DOWNLOAD
)

// createKey creates a key through authd and returns its id and secret.
func (f *fixture) createKey(t *testing.T, req *authv1.CreateKeyRequest) (string, string) {
	t.Helper()
	req.AccountToken = adminToken(t, f.auth.client)
	resp, err := f.auth.client.CreateKey(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Key.KeyId, resp.Secret
}

// authorize runs AuthorizeAccount and returns the token.
func (f *fixture) authorize(t *testing.T, id, secret string) *authv1.AuthorizeAccountResponse {
	t.Helper()
	resp, err := f.auth.client.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: id, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (f *fixture) verifyToken(t *testing.T, token string, access *authv1.Access, kinds ...authv1.TokenKind) (*authv1.VerifyTokenResponse, error) {
	t.Helper()
	return f.auth.client.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: token, Kinds: kinds, Access: access})
}

func TestAuthorizeAccount(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	now := f.clock.Now()

	resp := f.authorize(t, adminID, adminSecret)
	if resp.Principal.KeyId != adminID || len(resp.Principal.Capabilities) != len(policy.AllCapabilities()) ||
		resp.ExpirationTimeUnixMillis != now.Add(24*time.Hour).UnixMilli() || !strings.HasPrefix(resp.AuthorizationToken, "c1_") {
		t.Fatalf("AuthorizeAccount = %v", resp)
	}
	if strings.Contains(resp.AuthorizationToken, adminSecret) || strings.Contains(resp.AuthorizationToken, adminID) {
		t.Fatal("the token shows the key")
	}
	if again := f.authorize(t, adminID, adminSecret); again.AuthorizationToken == resp.AuthorizationToken {
		t.Fatal("two authorizations returned the same token")
	}

	// Wrong secret, unknown id, empty: the same refusal, which reveals
	// nothing about whether the id exists.
	for name, req := range map[string]*authv1.AuthorizeAccountRequest{
		"wrong secret":     {KeyId: adminID, Secret: adminSecret + "x"},
		"prefix of secret": {KeyId: adminID, Secret: adminSecret[:len(adminSecret)-1]},
		"unknown id":       {KeyId: "no-such-key", Secret: adminSecret},
		"no secret":        {KeyId: adminID},
		"no id":            {Secret: adminSecret},
		"bad id":           {KeyId: "a/b", Secret: adminSecret},
	} {
		_, err := c.AuthorizeAccount(ctx(t), req)
		e := wantKind(t, err, errs.Unauthenticated)
		if e.Msg != "invalid application key id or application key" || strings.Contains(err.Error(), adminSecret) {
			t.Errorf("%s: %v", name, err)
		}
	}

	// A key expiring sooner than 24 h bounds its token.
	id, secret := f.createKey(t, &authv1.CreateKeyRequest{Name: "hour", Capabilities: []string{policy.ReadFiles}, ValidDurationSeconds: 3600})
	if r := f.authorize(t, id, secret); r.ExpirationTimeUnixMillis != now.Add(time.Hour).UnixMilli() ||
		r.Principal.ExpirationTimeUnixMillis != now.Add(time.Hour).UnixMilli() {
		t.Fatalf("token of an expiring key: %v", r)
	}
	f.clock.Add(time.Hour)
	wantKind(t, err2(c.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: id, Secret: secret})), errs.Expired)
}

// TestMasterKey: created at first start with B2's id shape; works on the
// native API under its id or the account id; refused on S3; not listed; not
// deletable.
func TestMasterKey(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	acct := f.authorize(t, adminID, adminSecret).Principal.AccountId
	masterID := "000" + acct + "0000000000"
	for _, id := range []string{masterID, acct} {
		resp := f.authorize(t, id, masterSecret)
		if p := resp.Principal; !p.Master || p.KeyId != masterID || len(p.Capabilities) != len(policy.AllCapabilities()) ||
			len(p.BucketIds) != 0 || p.NamePrefix != "" || p.ExpirationTimeUnixMillis != 0 {
			t.Fatalf("master principal via %q: %v", id, p)
		}
		if _, err := f.verifyToken(t, resp.AuthorizationToken, &authv1.Access{Capability: policy.WriteKeys}); err != nil {
			t.Fatalf("master token: %v", err)
		}
	}
	wantKind(t, err2(c.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: acct, Secret: "wrong-secret-x"})), errs.Unauthenticated)
	wantKind(t, err2(f.verify(t, signed(t, "GET", "http://h/", masterID, masterSecret, f.clock.Now(), nil), nil)), errs.UnknownAccessKey)
	keys, err := c.ListKeys(ctx(t), &authv1.ListKeysRequest{AccountToken: adminToken(t, c)})
	if err != nil || len(keys.Keys) != 1 || keys.Keys[0].KeyId != adminID {
		t.Fatalf("ListKeys = %v, %v", keys, err)
	}
	for _, id := range []string{masterID, acct} {
		wantKind(t, err2(c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: adminToken(t, c), KeyId: id})), errs.InvalidArgument)
	}
	stored, err := f.meta.client.GetKey(ctx(t), &metadatav1.GetKeyRequest{KeyId: masterID})
	if err != nil || !stored.Key.Master || strings.Contains(string(stored.Key.EncryptedSecret), masterSecret) {
		t.Fatalf("stored master %v %v", stored, err)
	}
}

func TestVerifyToken(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	id, secret := f.createKey(t, &authv1.CreateKeyRequest{Name: "reader", Capabilities: []string{policy.ListFiles, policy.ReadFiles}, BucketIds: []string{"b1"}, NamePrefix: "p/"})
	tok := f.authorize(t, id, secret).AuthorizationToken

	resp, err := f.verifyToken(t, tok, nil)
	if err != nil || resp.Kind != kindAccount || resp.Principal.KeyId != id || resp.Principal.NamePrefix != "p/" ||
		resp.Principal.ExpirationTimeUnixMillis != f.clock.Now().Add(24*time.Hour).UnixMilli() {
		t.Fatalf("VerifyToken = %v, %v", resp, err)
	}
	// With an access: the one decision.
	if _, err := f.verifyToken(t, tok, &authv1.Access{Capability: policy.ReadFiles, BucketId: "b1", Name: "p/x"}, kindAccount); err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(f.verifyToken(t, tok, &authv1.Access{Capability: policy.ReadFiles, BucketId: "b1", Name: "q/x"})), errs.PermissionDenied)
	wantKind(t, err2(f.verifyToken(t, tok, &authv1.Access{Capability: policy.WriteFiles, BucketId: "b1", Name: "p/x"})), errs.PermissionDenied)
	// Not a kind this endpoint takes.
	wantKind(t, err2(f.verifyToken(t, tok, nil, kindUpload)), errs.Unauthenticated)
	// Forged or damaged.
	for _, bad := range []string{"", "garbage", tok[:len(tok)-2], tok + "A", strings.Replace(tok, "c1_", "c2_", 1), tok[:20] + "x" + tok[21:]} {
		_, err := f.verifyToken(t, bad, nil)
		if e := wantKind(t, err, errs.Unauthenticated); e.Msg != "the authorization token is not valid" {
			t.Errorf("%q: %v", bad, err)
		}
	}

	// Any replica sharing the KEK verifies it; one with another KEK does not.
	cfg := testConfig(t, t.TempDir())
	replica := startAuthd(t, cfg, f.meta, f.clock.Now)
	if _, err := replica.client.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: tok}); err != nil {
		t.Fatalf("another replica: %v", err)
	}
	t.Setenv(authd.EnvClusterKey, "")
	cfg = testConfig(t, t.TempDir())
	stranger := startAuthd(t, cfg, f.meta, f.clock.Now)
	wantKind(t, err2(stranger.client.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: tok})), errs.Unauthenticated)

	// Expiry: 24 h.
	f.clock.Add(24*time.Hour - time.Millisecond)
	if _, err := f.verifyToken(t, tok, nil); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Millisecond)
	wantKind(t, err2(f.verifyToken(t, tok, nil)), errs.Expired)

	// Deleting the key stops its tokens, also when a key with the same id
	// is created again.
	tok = f.authorize(t, adminID, adminSecret).AuthorizationToken
	if _, err := f.verifyToken(t, tok, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateKey(ctx(t), &authv1.CreateKeyRequest{AccountToken: adminToken(t, c), Name: "again", Capabilities: []string{policy.ReadFiles}, KeyId: "revived", Secret: "revived-secret"}); err != nil {
		t.Fatal(err)
	}
	revived := f.authorize(t, "revived", "revived-secret").AuthorizationToken
	if _, err := c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: adminToken(t, c), KeyId: "revived"}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(f.verifyToken(t, revived, nil)), errs.Unauthenticated)
	if _, err := c.CreateKey(ctx(t), &authv1.CreateKeyRequest{AccountToken: adminToken(t, c), Name: "again", Capabilities: []string{policy.ReadFiles}, KeyId: "revived", Secret: "revived-secret"}); err != nil {
		t.Fatal(err)
	}
	e := wantKind(t, err2(f.verifyToken(t, revived, nil)), errs.Unauthenticated)
	if !strings.Contains(e.Msg, "no longer exists") {
		t.Fatalf("re-created key revived a token: %v", e)
	}
}

func TestUploadTokens(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	const bucket = "4a48fe8875c6214145260818"
	const largeFile = "4_z" + bucket + "_f1123456789abcdef_d20260101_m000000_c001_v0001001_t0001_u01767225600000"
	id, secret := f.createKey(t, &authv1.CreateKeyRequest{Name: "writer", Capabilities: []string{policy.WriteFiles, policy.ReadFiles},
		BucketIds: []string{bucket}, NamePrefix: "up/", ValidDurationSeconds: 7200})
	acct := f.authorize(t, id, secret).AuthorizationToken

	for _, target := range []string{bucket, largeFile} {
		up, err := c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: acct, Target: target})
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		// The key expires in 2 h, sooner than the 24 h of an upload URL.
		if up.ExpirationTimeUnixMillis != f.clock.Now().Add(2*time.Hour).UnixMilli() {
			t.Fatalf("upload token expiry %d", up.ExpirationTimeUnixMillis)
		}
		ok := &authv1.VerifyTokenRequest{Token: up.AuthorizationToken, Kinds: []authv1.TokenKind{kindUpload}, UploadTarget: target,
			Access: &authv1.Access{Capability: policy.WriteFiles, BucketId: bucket, Name: "up/file"}}
		resp, err := c.VerifyToken(ctx(t), ok)
		if err != nil || resp.Kind != kindUpload || resp.BucketId != bucket ||
			len(resp.Principal.Capabilities) != 1 || resp.Principal.Capabilities[0] != policy.WriteFiles {
			t.Fatalf("%s: VerifyToken = %v, %v", target, resp, err)
		}
		for name, mod := range map[string]func(r *authv1.VerifyTokenRequest){
			"other upload URL":    func(r *authv1.VerifyTokenRequest) { r.UploadTarget = "4a48fe8875c6214145260819" },
			"no upload URL":       func(r *authv1.VerifyTokenRequest) { r.UploadTarget = "" },
			"as an account token": func(r *authv1.VerifyTokenRequest) { r.Kinds = []authv1.TokenKind{kindAccount} },
			"as a download token": func(r *authv1.VerifyTokenRequest) { r.Kinds = []authv1.TokenKind{kindDownload} },
			"name outside prefix": func(r *authv1.VerifyTokenRequest) { r.Access.Name = "down/file" },
			"read with the token": func(r *authv1.VerifyTokenRequest) { r.Access.Capability = policy.ReadFiles },
			"another bucket":      func(r *authv1.VerifyTokenRequest) { r.Access.BucketId = "other" },
			"list with the token": func(r *authv1.VerifyTokenRequest) { r.Access.Capability = policy.ListFiles },
			"delete with the token": func(r *authv1.VerifyTokenRequest) {
				r.Access.Capability = policy.DeleteFiles
			},
		} {
			r := &authv1.VerifyTokenRequest{Token: ok.Token, Kinds: ok.Kinds, UploadTarget: ok.UploadTarget,
				Access: &authv1.Access{Capability: ok.Access.Capability, BucketId: ok.Access.BucketId, Name: ok.Access.Name}}
			mod(r)
			if _, err := c.VerifyToken(ctx(t), r); err == nil {
				t.Errorf("%s %s: accepted", target, name)
			}
		}
		// The upload token is not an account token.
		wantKind(t, err2(c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: up.AuthorizationToken, Target: target})), errs.Unauthenticated)
	}
	// Refusals at minting: another bucket, no writeFiles, no target.
	wantKind(t, err2(c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: acct, Target: "4a48fe8875c6214145260819"})), errs.PermissionDenied)
	wantKind(t, err2(c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: acct, Target: "4_z4a48fe8875c6214145260819_f1"})), errs.PermissionDenied)
	wantKind(t, err2(c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: acct})), errs.InvalidArgument)
	rid, rsecret := f.createKey(t, &authv1.CreateKeyRequest{Name: "ro", Capabilities: []string{policy.ReadFiles}})
	ro := f.authorize(t, rid, rsecret).AuthorizationToken
	wantKind(t, err2(c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: ro, Target: bucket})), errs.PermissionDenied)
	wantKind(t, err2(c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: "c1_forged", Target: bucket})), errs.Unauthenticated)

	// Deleting the key stops its upload tokens.
	up, err := c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: acct, Target: bucket})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: adminToken(t, c), KeyId: id}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(c.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: up.AuthorizationToken, UploadTarget: bucket})), errs.Unauthenticated)
}

func TestDownloadAuthorization(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	id, secret := f.createKey(t, &authv1.CreateKeyRequest{Name: "sharer", Capabilities: []string{policy.ShareFiles, policy.ListFiles},
		BucketIds: []string{"b1", "b2"}, NamePrefix: "pub/"})
	acct := f.authorize(t, id, secret).AuthorizationToken
	create := func(bucket, prefix string, d int64) (string, error) {
		resp, err := c.CreateDownloadAuthorization(ctx(t), &authv1.CreateDownloadAuthorizationRequest{
			AccountToken: acct, BucketId: bucket, FileNamePrefix: prefix, ValidDurationSeconds: d,
		})
		return resp.GetAuthorizationToken(), err
	}
	for name, call := range map[string]func() (string, error){
		"duration 0":         func() (string, error) { return create("b1", "pub/", 0) },
		"duration 604801":    func() (string, error) { return create("b1", "pub/", 604801) },
		"duration negative":  func() (string, error) { return create("b1", "pub/", -1) },
		"no bucket":          func() (string, error) { return create("", "pub/", 60) },
		"prefix too long":    func() (string, error) { return create("b1", strings.Repeat("p", 1025), 60) },
		"wider than the key": func() (string, error) { return create("b1", "", 60) },
		"other bucket":       func() (string, error) { return create("b3", "pub/", 60) },
	} {
		if _, err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	_, err := c.CreateDownloadAuthorization(ctx(t), &authv1.CreateDownloadAuthorizationRequest{
		AccountToken: acct[:len(acct)-3], BucketId: "b1", FileNamePrefix: "pub/", ValidDurationSeconds: 60})
	wantKind(t, err, errs.Unauthenticated)
	if _, err := create("b1", "pub/", 604800); err != nil {
		t.Fatalf("7 days: %v", err)
	}
	tok, err := create("b1", "pub/photos/", 60)
	if err != nil {
		t.Fatal(err)
	}
	read := func(bucket, name string) *authv1.Access {
		return &authv1.Access{Capability: policy.ReadFiles, BucketId: bucket, Name: name}
	}
	byName := []authv1.TokenKind{kindAccount, kindDownload}
	resp, err := f.verifyToken(t, tok, read("b1", "pub/photos/cat.jpg"), byName...)
	if err != nil || resp.Kind != kindDownload || resp.BucketId != "b1" || resp.NamePrefix != "pub/photos/" {
		t.Fatalf("download: %v, %v", resp, err)
	}
	// Only downloads by name in that bucket under that prefix, until expiry.
	wantKind(t, err2(f.verifyToken(t, tok, read("b1", "pub/other.jpg"), byName...)), errs.PermissionDenied)
	wantKind(t, err2(f.verifyToken(t, tok, read("b2", "pub/photos/cat.jpg"), byName...)), errs.PermissionDenied)
	wantKind(t, err2(f.verifyToken(t, tok, &authv1.Access{Capability: policy.ListFiles, BucketId: "b1", Name: "pub/photos/"}, byName...)), errs.PermissionDenied)
	wantKind(t, err2(f.verifyToken(t, tok, &authv1.Access{Capability: policy.WriteFiles, BucketId: "b1", Name: "pub/photos/x"}, byName...)), errs.PermissionDenied)
	wantKind(t, err2(f.verifyToken(t, tok, read("b1", "pub/photos/cat.jpg"), kindAccount)), errs.Unauthenticated) // by id, API calls
	wantKind(t, err2(f.verifyToken(t, tok, nil, kindUpload)), errs.Unauthenticated)
	wantKind(t, err2(c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: tok, Target: "b1"})), errs.Unauthenticated)
	f.clock.Add(60 * time.Second)
	wantKind(t, err2(f.verifyToken(t, tok, read("b1", "pub/photos/cat.jpg"), byName...)), errs.Expired)

	// shareFiles is needed.
	rid, rsecret := f.createKey(t, &authv1.CreateKeyRequest{Name: "noshare", Capabilities: []string{policy.ReadFiles}})
	ro := f.authorize(t, rid, rsecret).AuthorizationToken
	wantKind(t, err2(c.CreateDownloadAuthorization(ctx(t), &authv1.CreateDownloadAuthorizationRequest{AccountToken: ro, BucketId: "b1", ValidDurationSeconds: 60})), errs.PermissionDenied)
}
