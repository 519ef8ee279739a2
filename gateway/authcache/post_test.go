package authcache_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/authd/sigv4"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// postForm signs a policy as a browser-form client does.
func postForm(id, secret, policyJSON string, at time.Time) sigv4.PostFields {
	c := sigv4.Credential{AccessKeyID: id, Date: at.UTC().Format(sigv4.DateFormat), Region: "us-east-1", Service: sigv4.Service}
	p := base64.StdEncoding.EncodeToString([]byte(policyJSON))
	return sigv4.PostFields{Algorithm: sigv4.Algorithm, Credential: c.String(), Date: at.UTC().Format(sigv4.TimeFormat),
		Policy: p, Signature: sigv4.Sign(sigv4.SigningKey(secret, c), p)}
}

// TestPostPolicyFromCache: a form's signature is checked by authd once,
// then in the cache — which a header-signed request of the same key and
// scope warmed too — with authd's refusals; a deleted key stops working.
func TestPostPolicyFromCache(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t)
	id, secret := e.createKey(t, &authv1.CreateKeyRequest{Name: "forms", Capabilities: []string{policy.WriteFiles}})
	form := postForm(id, secret, `{"expiration":"2100-01-01T00:00:00Z","conditions":[]}`, time.Now())
	resp, err := c.VerifyPostPolicy(ctx(t), form)
	if err != nil || resp.GetPrincipal().GetKeyId() != id || len(resp.GetSigningKey()) != 32 {
		t.Fatalf("first form: %v %v", resp, err)
	}
	settle(t, e, c, id, secret)
	base := c.Stats()
	for range 5 {
		if _, err := c.VerifyPostPolicy(ctx(t), form); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Hits != base.Hits+5 || s.Misses != base.Misses {
		t.Fatalf("forms went to authd: %+v → %+v", base, s)
	}
	bad := form
	bad.Signature = sigv4.Sign(sigv4.SigningKey(secret+"x", sigv4.Credential{AccessKeyID: id, Date: form.Date[:8], Region: "us-east-1", Service: "s3"}), form.Policy)
	wantKind(t, err2(c.VerifyPostPolicy(ctx(t), bad)), errs.SignatureMismatch)
	other := form
	other.Policy = base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2100-01-01T00:00:00Z","conditions":[["starts-with","$key",""]]}`))
	wantKind(t, err2(c.VerifyPostPolicy(ctx(t), other)), errs.SignatureMismatch)
	unknown := postForm("nosuchkey", secret, `{}`, time.Now())
	wantKind(t, err2(c.VerifyPostPolicy(ctx(t), unknown)), errs.UnknownAccessKey)

	if _, err := e.auth.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: e.adminToken(t), KeyId: id}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the deleted key to be refused", func() bool {
		_, err := c.VerifyPostPolicy(ctx(t), form)
		return errs.KindOf(err) == errs.UnknownAccessKey
	})
}
