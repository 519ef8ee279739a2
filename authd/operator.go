package authd

import (
	"context"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Calls that change who may do what — creating, listing and deleting keys —
// and the operator's runs on other roles take the caller's application key,
// as an account token, and check it here. Reaching authd's port is never
// enough: with mutual TLS only gateways and operator tools reach these RPCs
// at all, and even they act only for a key that may.

var accountKinds = []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT}

// caller verifies an account token and that its key holds capability
// (account-wide, as the key capabilities are).
func (s *Server) caller(ctx context.Context, st *state, op, token, capability string) (*authv1.Principal, error) {
	if token == "" {
		return nil, errs.Errorf(errs.Unauthenticated, op, "an account authorization token is required")
	}
	v, err := s.checkToken(ctx, st, op, token, accountKinds, "")
	if err != nil {
		return nil, err
	}
	if err := policy.Decide(v.principal, &authv1.Access{Capability: capability}, s.now()); err != nil {
		return nil, err
	}
	return v.principal, nil
}

// VerifyOperator checks that an account token's key may act as an
// operator: it holds writeKeys (and could therefore mint itself any other
// capability) and is restricted to no bucket.
func (s *Server) VerifyOperator(ctx context.Context, req *authv1.VerifyOperatorRequest) (*authv1.VerifyOperatorResponse, error) {
	const op = "authd.VerifyOperator"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	p, err := s.caller(ctx, st, op, req.GetAccountToken(), policy.WriteKeys)
	if err != nil {
		return nil, err
	}
	if len(p.GetBucketIds()) > 0 || p.GetNamePrefix() != "" {
		return nil, errs.Errorf(errs.PermissionDenied, op, "an operator's key must not be restricted to buckets or a name prefix")
	}
	s.log.InfoContext(ctx, "operator verified", "key_id", p.GetKeyId(), "caller_roles", runtime.CallerRoles(ctx), "request_id", runtime.RequestID(ctx))
	return &authv1.VerifyOperatorResponse{Principal: p}, nil
}
