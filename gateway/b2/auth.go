package b2

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Authentication happens before a body is read, authorization once the
// request says what it touches: tokens are verified by the credential cache
// (authd on a miss), then the one authorization decision, policy.Decide, is
// applied here to the principal, as gateway/s3 does. authd's refusals map
// to B2's codes in errors.go: Unauthenticated → 401 bad_auth_token, Expired
// → 401 expired_auth_token, PermissionDenied → 401 unauthorized.

var (
	accountKinds  = []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT}
	downloadKinds = []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT, authv1.TokenKind_TOKEN_KIND_DOWNLOAD}
	uploadKinds   = []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_UPLOAD}
)

// maxTokenLen bounds a token the gateway passes on to authd (authd's own
// tokens are shorter, download authorizations with b2Content* overrides
// included).
const maxTokenLen = 8192

// missingToken is the error for a call that needs a token and has none.
func missingToken() error {
	return errs.Errorf(errs.Unauthenticated, "b2.auth", "authorization token is missing")
}

// verify checks the request's token for the given kinds (and upload
// target) and records the principal. It does not authorize anything.
func (h *Handler) verify(r *http.Request, c *call, token string, kinds []authv1.TokenKind, target string) error {
	if token == "" {
		return missingToken()
	}
	if len(token) > maxTokenLen || !utf8.ValidString(token) {
		// Nothing authd could have minted; not worth a round trip (and
		// not valid in a protobuf string).
		return errs.Errorf(errs.Unauthenticated, "b2.auth", "the authorization token is not valid")
	}
	resp, err := h.creds.VerifyToken(r.Context(), &authv1.VerifyTokenRequest{Token: token, Kinds: kinds, UploadTarget: target})
	if err != nil {
		return err
	}
	c.token, c.principal, c.tokenKind, c.overrides = token, resp.GetPrincipal(), resp.GetKind(), resp.GetOverrides()
	if c.ex != nil {
		c.ex.KeyID = c.principal.GetKeyId()
	}
	return nil
}

// authenticate verifies the token the call's table entry asks for
// (calls.go), once, before the handler runs.
func (h *Handler) authenticate(r *http.Request, c *call) error {
	switch c.spec.token {
	case accountToken:
		return h.verify(r, c, r.Header.Get("Authorization"), accountKinds, "")
	case uploadToken:
		return h.verify(r, c, r.Header.Get("Authorization"), uploadKinds, c.route.Target)
	case downloadToken:
		return h.authenticateDownload(r, c, downloadKinds)
	case accountDownloadToken:
		return h.authenticateDownload(r, c, accountKinds)
	}
	return nil
}

// decide applies the one authorization decision to the caller.
func (h *Handler) decide(c *call, a *authv1.Access) error {
	return policy.Decide(c.principal, a, h.now())
}

// decideAnyName is decide for an access whose names come later.
func (h *Handler) decideAnyName(c *call, a *authv1.Access) error {
	return policy.DecideAnyName(c.principal, a, h.now())
}

// bucketByID reads a bucket by id. A missing bucket is returned as nil
// with the error, so callers can authorize before they tell.
func (h *Handler) bucketByID(r *http.Request, id string) (*metadatav1.Bucket, error) {
	if id == "" {
		return nil, required("bucketId")
	}
	if len(id) > 64 {
		return nil, errs.E(errs.BucketNotFound, "b2.bucket", nil)
	}
	resp, err := h.meta.GetBucket(r.Context(), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: id}})
	if err != nil {
		return nil, err
	}
	return resp.GetBucket(), nil
}

// authorizedBucket reads the bucket a call names and authorizes access to
// it: the decision comes first, so a caller not allowed in a bucket learns
// nothing about whether it exists.
func (h *Handler) authorizedBucket(r *http.Request, c *call, id, capability, name string) (*metadatav1.Bucket, error) {
	if id == "" {
		return nil, required("bucketId")
	}
	access := &authv1.Access{Capability: capability, BucketId: id, Name: name}
	if err := h.decide(c, access); err != nil {
		return nil, err
	}
	return h.bucketByID(r, id)
}

// checkAccount refuses a request naming another account.
func checkAccount(c *call, accountID string) error {
	if accountID == "" {
		return required("accountId")
	}
	if accountID != c.accountID() {
		return errs.Errorf(errs.PermissionDenied, "b2.auth", "the accountId does not match the authorization token")
	}
	return nil
}

// basicAuth parses b2_authorize_account's "Basic base64(keyId:key)".
func basicAuth(r *http.Request) (id, secret string, err error) {
	bad := errs.Errorf(errs.MalformedAuth, "b2.authorize", "an Authorization header with Basic credentials is required")
	scheme, b64, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") || len(b64) > 4096 {
		return "", "", bad
	}
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if derr != nil {
		return "", "", bad
	}
	id, secret, ok = strings.Cut(string(raw), ":")
	if !ok || id == "" || secret == "" || !utf8.ValidString(id) || !utf8.ValidString(secret) {
		return "", "", bad
	}
	return id, secret, nil
}

// tokenSlots enforces "one upload at a time per upload token"
// (spec/b2-native.md §5.1): a second concurrent upload with the same token
// is refused with 400 auth_token_limit, which clients answer by fetching a
// new upload URL. Tokens are kept only as SHA-256 while in use.
type tokenSlots struct {
	mu   sync.Mutex
	busy map[[sha256.Size]byte]struct{}
}

func newTokenSlots() *tokenSlots {
	return &tokenSlots{busy: map[[sha256.Size]byte]struct{}{}}
}

// acquire takes the token's slot; release gives it back.
func (s *tokenSlots) acquire(token string) (release func(), err error) {
	key := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.busy[key]; ok {
		return nil, withCode(errs.Errorf(errs.InvalidRequest, "b2.upload", "more than one upload using this auth token"), 400, "auth_token_limit")
	}
	s.busy[key] = struct{}{}
	return func() {
		s.mu.Lock()
		delete(s.busy, key)
		s.mu.Unlock()
	}, nil
}
