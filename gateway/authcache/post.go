package authcache

import (
	"context"

	"github.com/coffer-project/coffer/authd/sigv4"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const opPost = "authcache.VerifyPostPolicy"

// VerifyPostPolicy authenticates a browser-form upload as authd's
// VerifyPostPolicy would: the form's fields are parsed here (malformed ones
// never reach authd); when the key and credential scope are cached the
// signature of the policy is checked here, in constant time, with the
// cached signing key; otherwise authd checks it and, if the stream allows,
// its principal and signing key are cached — the same entries header-signed
// requests use, since both are keyed by key id and scope. The caller
// applies policy.Decide to the principal and checks the policy itself.
func (c *Cache) VerifyPostPolicy(ctx context.Context, f sigv4.PostFields) (*authv1.VerifyPostPolicyResponse, error) {
	a, err := c.verifier.ParsePost(f)
	if err != nil {
		return nil, err
	}
	id, scope := a.Credential.AccessKeyID, a.Credential.Scope()
	if p, key := c.lookupKey(id, scope); p != nil {
		if err := sigv4.VerifyPost(a, key); err != nil {
			return nil, err
		}
		if exp := p.GetExpirationTimeUnixMillis(); exp != 0 && c.now().UnixMilli() >= exp {
			return nil, errs.Errorf(errs.Expired, opPost, "the application key has expired").WithDetail("access_key_id", id)
		}
		c.hits.Add(1)
		return &authv1.VerifyPostPolicyResponse{Principal: p, SigningKey: key, CredentialScope: scope}, nil
	}
	c.misses.Add(1)
	t := c.watch.Ticket()
	resp, err := c.auth.VerifyPostPolicy(ctx, &authv1.VerifyPostPolicyRequest{
		Algorithm: f.Algorithm, Credential: f.Credential, AmzDate: f.Date, Policy: f.Policy, Signature: f.Signature,
	})
	if err != nil {
		return nil, err
	}
	if len(resp.GetSigningKey()) > 0 && resp.GetCredentialScope() == scope && resp.GetPrincipal().GetKeyId() == id {
		c.storeKey(t, id, scope, resp.GetPrincipal(), resp.GetSigningKey())
	}
	return resp, nil
}
