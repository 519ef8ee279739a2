package authd_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-project/coffer/authd"
	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
)

// syncBuffer is a log sink shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsNeverLogged: everything authd and its gRPC runtime log at debug
// level, through key creation, B2 authorization, every kind of token, and
// failed attempts of each, holds no secret and no token. (The generated
// secrets go to Out, once, by design; Out is not the log.)
func TestSecretsNeverLogged(t *testing.T) {
	t.Setenv(authd.EnvClusterKey, clusterKey)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	meta := startMetadata(t)
	cfg := testConfig(t, t.TempDir())
	cfg.BootstrapKeyID, cfg.BootstrapSecret = adminID, adminSecret
	cfg.MasterSecret = masterSecret
	a, err := tryStartAuthdLogged(t, cfg, meta, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	c := a.client
	secrets := []string{adminSecret, masterSecret}
	created, err := c.CreateKey(ctx(t), &authv1.CreateKeyRequest{AccountToken: adminToken(t, c), Name: "k", Capabilities: []string{policy.ReadFiles, policy.WriteFiles, policy.ShareFiles}, BucketIds: []string{"b1"}})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, created.Secret)
	acct, err := c.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: created.Key.KeyId, Secret: created.Secret})
	if err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: acct.AuthorizationToken, Target: "b1"})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := c.CreateDownloadAuthorization(ctx(t), &authv1.CreateDownloadAuthorizationRequest{AccountToken: acct.AuthorizationToken, BucketId: "b1", ValidDurationSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	tokens := []string{acct.AuthorizationToken, up.AuthorizationToken, dl.AuthorizationToken}
	// Failures, which are logged by the runtime with their error.
	for _, s := range secrets {
		_, _ = c.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: adminID, Secret: s + "x"})
		_, _ = c.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: "nobody", Secret: s})
		_, _ = c.VerifySigV4(ctx(t), wire(signed(t, "GET", "http://h/", adminID, s+"x", time.Now(), nil)))
	}
	for _, tok := range tokens {
		_, _ = c.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: tok, Kinds: []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_UPLOAD}, UploadTarget: "b2"})
		_, _ = c.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: tok[:len(tok)-1]})
		_, _ = c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: tok, Target: "b9"})
		_, _ = c.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: tok, Access: &authv1.Access{Capability: policy.DeleteFiles, BucketId: "b1"}})
	}
	if _, err := c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: adminToken(t, c), KeyId: created.Key.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: acct.AuthorizationToken})

	out := logs.String()
	if !strings.Contains(out, "AuthorizeAccount") || !strings.Contains(out, created.Key.KeyId) {
		t.Fatalf("the log does not show the calls; the test is not looking at it:\n%s", out)
	}
	for _, s := range append(secrets, tokens...) {
		for _, part := range []string{s, s[:len(s)-1], s[len(s)/2:]} {
			if strings.Contains(out, part) {
				t.Fatalf("the log contains a secret or token (%q):\n%s", part, out)
			}
		}
	}
}
