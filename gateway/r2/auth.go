package r2

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// principalTTL bounds how long a verified Bearer token is trusted without
// asking authd again: a deleted key stops working within it.
const principalTTL = 5 * time.Second

// Bearer tokens are one of:
//   - "<applicationKeyId>:<applicationKey>": an application key itself, the
//     way Cloudflare API tokens are long-lived secrets (verified through
//     authd's AuthorizeAccount);
//   - a B2 account authorization token from b2_authorize_account (verified
//     through VerifyToken).
type principals struct {
	auth authv1.AuthServiceClient
	now  func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	p       *authv1.Principal
	expires time.Time
}

type principalKey struct{}

func principalFrom(ctx context.Context) *authv1.Principal {
	p, _ := ctx.Value(principalKey{}).(*authv1.Principal)
	return p
}

func (ps *principals) lookup(ctx context.Context, token string) (*authv1.Principal, error) {
	sum := sha256.Sum256([]byte(token))
	ps.mu.Lock()
	if c, ok := ps.cache[sum]; ok && ps.now().Before(c.expires) {
		ps.mu.Unlock()
		return c.p, nil
	}
	ps.mu.Unlock()
	var p *authv1.Principal
	if id, secret, ok := strings.Cut(token, ":"); ok {
		resp, err := ps.auth.AuthorizeAccount(ctx, &authv1.AuthorizeAccountRequest{KeyId: id, Secret: secret})
		if err != nil {
			return nil, err
		}
		p = resp.GetPrincipal()
	} else {
		resp, err := ps.auth.VerifyToken(ctx, &authv1.VerifyTokenRequest{Token: token, Kinds: []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT}})
		if err != nil {
			return nil, err
		}
		p = resp.GetPrincipal()
	}
	ps.mu.Lock()
	if len(ps.cache) > 10000 {
		ps.cache = map[[32]byte]cached{}
	}
	ps.cache[sum] = cached{p: p, expires: ps.now().Add(principalTTL)}
	ps.mu.Unlock()
	return p, nil
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
