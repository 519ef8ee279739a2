package r2

import (
	"context"
	"net/http"
	"strings"

	"github.com/coffer-project/coffer/gateway/authcache"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Bearer tokens are one of:
//   - "<applicationKeyId>:<applicationKey>": an application key itself, the
//     way Cloudflare API tokens are long-lived secrets (authd's
//     AuthorizeAccount);
//   - a B2 account authorization token from b2_authorize_account (authd's
//     VerifyToken).
//
// Both are verified through the gateway's credential cache, the one S3 and
// B2 use, which follows metadata's key changes: a deleted key is refused
// here within the same bound as on the other dialects.
type principals struct {
	creds *authcache.Cache
}

type principalKey struct{}

func principalFrom(ctx context.Context) *authv1.Principal {
	p, _ := ctx.Value(principalKey{}).(*authv1.Principal)
	return p
}

func (ps *principals) lookup(ctx context.Context, token string) (*authv1.Principal, error) {
	if id, secret, ok := strings.Cut(token, ":"); ok {
		return ps.creds.VerifyKeySecret(ctx, id, secret)
	}
	resp, err := ps.creds.VerifyToken(ctx, &authv1.VerifyTokenRequest{Token: token, Kinds: []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT}})
	if err != nil {
		return nil, err
	}
	return resp.GetPrincipal(), nil
}

// authenticate resolves the Bearer token before any route runs.
func (ps *principals) authenticate(r *http.Request) (*authv1.Principal, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return nil, errs.Errorf(errs.Unauthenticated, "r2.auth", "Missing or malformed Authorization: Bearer token.")
	}
	p, err := ps.lookup(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		if k := errs.KindOf(err); k != errs.Unavailable && k != errs.DeadlineExceeded && k != errs.NotLeader && k != errs.Internal {
			err = errs.Errorf(errs.Unauthenticated, "r2.auth", "Authentication error.")
		}
		return nil, err
	}
	return p, nil
}
