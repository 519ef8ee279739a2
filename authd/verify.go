package authd

import (
	"context"
	"net/http"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/authd/sigv4"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// VerifySigV4 authenticates an S3 request (header-signed or presigned) and,
// when req.Access is set, authorizes it in the same call.
//
// A request without any credentials is anonymous: the principal has
// anonymous=true and, with an Access, only a readFiles on a public bucket is
// allowed. The gateway must therefore always pass the Access (or apply
// policy.Decide) before acting on an anonymous principal.
//
// The response carries payload_hash (the x-amz-content-sha256 value the
// signature covers; UNSIGNED-PAYLOAD for presigned URLs unless
// X-Amz-Content-Sha256 was a signed query parameter), seed_signature,
// amz_date, credential_scope and signing_key: kSigning of the credential
// scope (one day, one region, s3), never the secret. With it the gateway
// verifies the chunk and trailer signatures of aws-chunked bodies as
// documented on package sigv4, and — the reason it is returned for every
// verified request, not only streaming ones — verifies later requests of
// the same key and scope itself (gateway/authcache), so that the steady
// state pays no authd round trip. The master key is refused before any
// signing key is derived.
func (s *Server) VerifySigV4(ctx context.Context, req *authv1.VerifySigV4Request) (*authv1.VerifySigV4Response, error) {
	const op = "authd.VerifySigV4"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	r := sigv4Request(req)
	a, err := s.verifier.Parse(r)
	if err != nil {
		return nil, err
	}
	if a.Anonymous {
		p := &authv1.Principal{AccountId: st.accountID, Anonymous: true}
		if req.GetAccess() != nil {
			if err := policy.Decide(p, req.GetAccess(), s.now()); err != nil {
				return nil, err
			}
		}
		return &authv1.VerifySigV4Response{Principal: p, PayloadHash: a.PayloadHash}, nil
	}

	k, err := s.s3Key(ctx, st, op, a.Credential.AccessKeyID)
	if err != nil {
		return nil, err
	}
	signingKey := sigv4.SigningKey(k.secret, a.Credential)
	if err := s.verifier.Verify(r, a, signingKey); err != nil {
		return nil, err
	}
	p := principal(k.key)
	if exp := p.GetExpirationTimeUnixMillis(); exp != 0 && s.now().UnixMilli() >= exp {
		return nil, errs.Errorf(errs.Expired, op, "the application key has expired").WithDetail("access_key_id", a.Credential.AccessKeyID)
	}
	if req.GetAccess() != nil {
		if err := policy.Decide(p, req.GetAccess(), s.now()); err != nil {
			return nil, err
		}
	}
	return &authv1.VerifySigV4Response{
		Principal:       p,
		PayloadHash:     a.PayloadHash,
		SigningKey:      signingKey,
		SeedSignature:   a.Signature,
		AmzDate:         a.AmzDate,
		CredentialScope: a.Credential.Scope(),
	}, nil
}

// sigv4Request converts the wire request; repeated header names keep their
// order.
func sigv4Request(req *authv1.VerifySigV4Request) *sigv4.Request {
	h := make(http.Header, len(req.GetHeaders()))
	for _, hv := range req.GetHeaders() {
		h.Add(hv.GetName(), hv.GetValue())
	}
	return &sigv4.Request{
		Method:   req.GetMethod(),
		RawPath:  req.GetRawPath(),
		RawQuery: req.GetRawQuery(),
		Host:     req.GetHost(),
		Header:   h,
	}
}

// Authorize applies the one authorization decision (package policy) to a
// principal that authd authenticated earlier.
func (s *Server) Authorize(ctx context.Context, req *authv1.AuthorizeRequest) (*authv1.AuthorizeResponse, error) {
	if err := policy.Decide(req.GetPrincipal(), req.GetAccess(), s.now()); err != nil {
		return nil, err
	}
	return &authv1.AuthorizeResponse{}, nil
}

// VerifyPostPolicy authenticates a browser-form upload: the form's SigV4
// signature of its base64 policy (sigv4.ParsePost, sigv4.VerifyPost). As
// for VerifySigV4, the master key is refused before any signing key is
// derived, an expired key is refused, and the response carries the
// scope-bound signing key so that the gateway verifies the next form of
// this key and scope itself. There is no request time to check: a form
// lives as long as its policy's expiration, which the gateway enforces
// with the policy's other conditions.
func (s *Server) VerifyPostPolicy(ctx context.Context, req *authv1.VerifyPostPolicyRequest) (*authv1.VerifyPostPolicyResponse, error) {
	const op = "authd.VerifyPostPolicy"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	a, err := s.verifier.ParsePost(sigv4.PostFields{
		Algorithm: req.GetAlgorithm(), Credential: req.GetCredential(), Date: req.GetAmzDate(),
		Signature: req.GetSignature(), Policy: req.GetPolicy(),
	})
	if err != nil {
		return nil, err
	}
	k, err := s.s3Key(ctx, st, op, a.Credential.AccessKeyID)
	if err != nil {
		return nil, err
	}
	signingKey := sigv4.SigningKey(k.secret, a.Credential)
	if err := sigv4.VerifyPost(a, signingKey); err != nil {
		return nil, err
	}
	p := principal(k.key)
	if exp := p.GetExpirationTimeUnixMillis(); exp != 0 && s.now().UnixMilli() >= exp {
		return nil, errs.Errorf(errs.Expired, op, "the application key has expired").WithDetail("access_key_id", a.Credential.AccessKeyID)
	}
	return &authv1.VerifyPostPolicyResponse{Principal: p, SigningKey: signingKey, CredentialScope: a.Credential.Scope()}, nil
}

// s3Key loads the key a SigV4 credential names, as S3 refuses one: an
// unknown key id is InvalidAccessKeyId, and so is the master key (as B2
// does: the master key is for the native API only).
func (s *Server) s3Key(ctx context.Context, st *state, op, id string) (*liveKey, error) {
	k, err := s.loadKey(ctx, st, op, id)
	switch {
	case errs.Is(err, errs.KeyNotFound):
		return nil, errs.Errorf(errs.UnknownAccessKey, op, "The AWS Access Key Id you provided does not exist in our records.").
			WithDetail("access_key_id", id)
	case err != nil:
		return nil, err
	}
	if k.key.GetMaster() {
		return nil, errs.Errorf(errs.UnknownAccessKey, op, "The master application key cannot be used with the S3 API; create an application key.").
			WithDetail("access_key_id", id)
	}
	return k, nil
}
