package authd_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/authd/sigv4"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// postRequest signs a policy as a form client does.
func postRequest(id, secret, policyJSON string, at time.Time) *authv1.VerifyPostPolicyRequest {
	c := sigv4.Credential{AccessKeyID: id, Date: at.UTC().Format(sigv4.DateFormat), Region: "us-east-1", Service: sigv4.Service}
	p := base64.StdEncoding.EncodeToString([]byte(policyJSON))
	return &authv1.VerifyPostPolicyRequest{Algorithm: sigv4.Algorithm, Credential: c.String(), AmzDate: at.UTC().Format(sigv4.TimeFormat),
		Policy: p, Signature: sigv4.Sign(sigv4.SigningKey(secret, c), p)}
}

// TestVerifyPostPolicy: authd checks a form's signature of its policy,
// returns the principal and the scope's signing key, and refuses what
// VerifySigV4 refuses: unknown, master and expired keys, a wrong secret.
func TestVerifyPostPolicy(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	now := f.clock.Now()
	resp, err := c.VerifyPostPolicy(ctx(t), postRequest(adminID, adminSecret, `{"conditions":[]}`, now))
	if err != nil {
		t.Fatal(err)
	}
	cred := sigv4.Credential{AccessKeyID: adminID, Date: now.UTC().Format(sigv4.DateFormat), Region: "us-east-1", Service: "s3"}
	if resp.GetPrincipal().GetKeyId() != adminID || string(resp.GetSigningKey()) != string(sigv4.SigningKey(adminSecret, cred)) ||
		resp.GetCredentialScope() != cred.Scope() {
		t.Fatalf("response %v", resp)
	}
	// A form lives as long as its policy: an old signing date is fine.
	if _, err := c.VerifyPostPolicy(ctx(t), postRequest(adminID, adminSecret, `{}`, now.Add(-72*time.Hour))); err != nil {
		t.Fatalf("a three-day-old form: %v", err)
	}
	wantKind(t, err2(c.VerifyPostPolicy(ctx(t), postRequest(adminID, adminSecret+"x", `{}`, now))), errs.SignatureMismatch)
	wantKind(t, err2(c.VerifyPostPolicy(ctx(t), postRequest("nosuchkey", adminSecret, `{}`, now))), errs.UnknownAccessKey)
	bad := postRequest(adminID, adminSecret, `{}`, now)
	bad.Algorithm = "AWS4-HMAC-SHA1"
	wantKind(t, err2(c.VerifyPostPolicy(ctx(t), bad)), errs.InvalidArgument)

	sealed, err := f.kek.Seal("000master", []byte("master-secret-value"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.meta.client.CreateKey(ctx(t), &metadatav1.CreateKeyRequest{Key: &metadatav1.ApplicationKey{
		KeyId: "000master", Name: "master", Capabilities: policy.AllCapabilities(), Master: true, EncryptedSecret: sealed, KekVersion: f.kek.Version(),
	}}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(c.VerifyPostPolicy(ctx(t), postRequest("000master", "master-secret-value", `{}`, now))), errs.UnknownAccessKey)

	short, err := c.CreateKey(ctx(t), &authv1.CreateKeyRequest{AccountToken: adminToken(t, c), Name: "short", Capabilities: []string{policy.WriteFiles}, ValidDurationSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Minute)
	wantKind(t, err2(c.VerifyPostPolicy(ctx(t), postRequest(short.GetKey().GetKeyId(), short.GetSecret(), `{}`, f.clock.Now()))), errs.Expired)
}
