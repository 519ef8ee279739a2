package authd

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// The B2 token RPCs. Tokens are minted and checked as described in
// tokens.go. Errors, which the B2 front-end maps to its JSON codes:
//
//   - Unauthenticated: a wrong key id or secret (b2_authorize_account:
//     401 unauthorized), or a token that is not valid here — forged, minted
//     under another KEK, of a kind this endpoint does not take, for another
//     upload URL, or whose key was deleted (401 bad_auth_token);
//   - Expired: the token or the key expired (401 expired_auth_token);
//   - PermissionDenied and the other policy.Decide refusals: the token is
//     fine but does not allow the access (401 unauthorized).
//
// Messages never carry a token or a secret.

// AuthorizeAccount checks a key id and secret (b2_authorize_account's Basic
// credentials) and returns an account token good for 24 hours, or until the
// key expires if that is sooner. The account id stands for the master key's
// id, as in B2.
func (s *Server) AuthorizeAccount(ctx context.Context, req *authv1.AuthorizeAccountRequest) (*authv1.AuthorizeAccountResponse, error) {
	const op = "authd.AuthorizeAccount"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	refuse := func() error {
		return errs.Errorf(errs.Unauthenticated, op, "invalid application key id or application key")
	}
	id := req.GetKeyId()
	if id == st.accountID {
		id = st.masterID
	}
	if id == "" || req.GetSecret() == "" || validKeyID(id) != nil {
		return nil, refuse()
	}
	k, err := s.loadKey(ctx, st, op, id)
	switch {
	case errs.Is(err, errs.KeyNotFound):
		return nil, refuse()
	case err != nil:
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(k.secret), []byte(req.GetSecret())) != 1 {
		return nil, refuse()
	}
	now := s.now()
	keyExp := k.key.GetExpirationTimeUnixMillis()
	if keyExp != 0 && now.UnixMilli() >= keyExp {
		return nil, errs.Errorf(errs.Expired, op, "the application key has expired")
	}
	exp := earliest(now.Add(accountTokenTTL).UnixMilli(), keyExp)
	token := st.tokens.seal(claims{
		kind: authv1.TokenKind_TOKEN_KIND_ACCOUNT, expires: exp,
		createIndex: k.key.GetCreateIndex(), keyID: k.key.GetKeyId(),
	})
	s.log.InfoContext(ctx, "account authorized", "key_id", k.key.GetKeyId(), "request_id", runtime.RequestID(ctx))
	return &authv1.AuthorizeAccountResponse{Principal: principal(k.key), AuthorizationToken: token, ExpirationTimeUnixMillis: exp}, nil
}

// VerifyToken checks a B2 token and, when req.Access is set, applies the
// one authorization decision to it.
//
// The principal is the token's key as it is now, narrowed by the token:
// its expiration is the earlier of the key's and the token's (so a caller
// that caches the principal stops honouring it when the token expires);
// an upload token allows only writeFiles in its bucket; a download
// authorization allows only readFiles in its bucket under its name prefix.
// Which kinds an endpoint takes is the caller's choice (req.Kinds; empty
// means any): b2_download_file_by_name takes account and download tokens,
// b2_download_file_by_id and the API calls only account tokens, the upload
// URLs only upload tokens, with req.UploadTarget set to the bucket or
// large-file id of the URL.
func (s *Server) VerifyToken(ctx context.Context, req *authv1.VerifyTokenRequest) (*authv1.VerifyTokenResponse, error) {
	const op = "authd.VerifyToken"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	v, err := s.checkToken(ctx, st, op, req.GetToken(), req.GetKinds(), req.GetUploadTarget())
	if err != nil {
		return nil, err
	}
	if req.GetAccess() != nil {
		if err := policy.Decide(v.principal, req.GetAccess(), s.now()); err != nil {
			return nil, err
		}
	}
	resp := &authv1.VerifyTokenResponse{Principal: v.principal, Kind: v.claims.kind}
	switch v.claims.kind {
	case authv1.TokenKind_TOKEN_KIND_UPLOAD:
		resp.BucketId = v.claims.bucketID
	case authv1.TokenKind_TOKEN_KIND_DOWNLOAD:
		resp.BucketId, resp.NamePrefix = v.claims.bucketID, v.claims.scope
		resp.Overrides = v.claims.downloadOverrides()
	}
	return resp, nil
}

// CreateUploadToken mints an upload-URL token (b2_get_upload_url,
// b2_get_upload_part_url) from an account token. The target is a bucket id,
// or a large file's id, whose bucket is the one embedded in it
// (spec/b2-native.md §1.1); the key must hold writeFiles in that bucket
// (its name prefix is checked on each upload). The token is good for 24
// hours, or until the key expires, and only at an upload URL for target.
// The B2 front-end checks that a large file exists, is unfinished and
// belongs to the request's bucket before asking.
func (s *Server) CreateUploadToken(ctx context.Context, req *authv1.CreateUploadTokenRequest) (*authv1.CreateUploadTokenResponse, error) {
	const op = "authd.CreateUploadToken"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	target := req.GetTarget()
	if target == "" || len(target) > maxNamePrefixLen || !visibleASCII(target, maxNamePrefixLen) {
		return nil, errs.Errorf(errs.InvalidArgument, op, "a bucket id or large file id is required")
	}
	v, err := s.checkToken(ctx, st, op, req.GetAccountToken(), []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT}, "")
	if err != nil {
		return nil, err
	}
	bucketID := bucketOfTarget(target)
	now := s.now()
	if err := policy.DecideAnyName(v.principal, &authv1.Access{Capability: policy.WriteFiles, BucketId: bucketID}, now); err != nil {
		return nil, err
	}
	exp := earliest(now.Add(uploadTokenTTL).UnixMilli(), v.key.GetExpirationTimeUnixMillis())
	token := st.tokens.seal(claims{
		kind: authv1.TokenKind_TOKEN_KIND_UPLOAD, expires: exp, createIndex: v.key.GetCreateIndex(),
		keyID: v.key.GetKeyId(), bucketID: bucketID, scope: target,
	})
	return &authv1.CreateUploadTokenResponse{AuthorizationToken: token, ExpirationTimeUnixMillis: exp}, nil
}

// CreateDownloadAuthorization mints a download-authorization token
// (b2_get_download_authorization) from an account token: the key must hold
// shareFiles for the bucket and the prefix (which must lie inside the key's
// own name prefix); the token lasts valid_duration_seconds (1…604800) or
// until the key expires, whichever is sooner.
func (s *Server) CreateDownloadAuthorization(ctx context.Context, req *authv1.CreateDownloadAuthorizationRequest) (*authv1.CreateDownloadAuthorizationResponse, error) {
	const op = "authd.CreateDownloadAuthorization"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	d := req.GetValidDurationSeconds()
	switch {
	case req.GetBucketId() == "" || !visibleASCII(req.GetBucketId(), 128):
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucketId is required")
	case d < 1 || d > maxDownloadDuration:
		return nil, errs.Errorf(errs.InvalidArgument, op, "validDurationInSeconds must be between 1 and %d", maxDownloadDuration)
	case len(req.GetFileNamePrefix()) > maxNamePrefixLen:
		return nil, errs.Errorf(errs.InvalidArgument, op, "fileNamePrefix must be at most %d bytes", maxNamePrefixLen)
	}
	overrides := overridesOf(req.GetOverrides())
	total := 0
	for _, o := range overrides {
		total += len(o)
	}
	if total > maxOverrideBytes {
		return nil, errs.Errorf(errs.InvalidArgument, op, "b2Content* values must total at most %d bytes", maxOverrideBytes)
	}
	v, err := s.checkToken(ctx, st, op, req.GetAccountToken(), []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT}, "")
	if err != nil {
		return nil, err
	}
	now := s.now()
	access := &authv1.Access{Capability: policy.ShareFiles, BucketId: req.GetBucketId(), Name: req.GetFileNamePrefix()}
	if err := policy.Decide(v.principal, access, now); err != nil {
		return nil, err
	}
	exp := earliest(now.Add(time.Duration(d)*time.Second).UnixMilli(), v.key.GetExpirationTimeUnixMillis())
	token := st.tokens.seal(claims{
		kind: authv1.TokenKind_TOKEN_KIND_DOWNLOAD, expires: exp, createIndex: v.key.GetCreateIndex(),
		keyID: v.key.GetKeyId(), bucketID: req.GetBucketId(), scope: req.GetFileNamePrefix(), overrides: overrides,
	})
	return &authv1.CreateDownloadAuthorizationResponse{AuthorizationToken: token}, nil
}

// verifiedToken is a token that checked out, with its live key.
type verifiedToken struct {
	claims    claims
	key       *metadatav1.ApplicationKey
	principal *authv1.Principal
}

// checkToken opens a token, checks its kind, expiry and upload target,
// reads its key, and builds the narrowed principal (see VerifyToken).
func (s *Server) checkToken(ctx context.Context, st *state, op, token string, kinds []authv1.TokenKind, uploadTarget string) (*verifiedToken, error) {
	bad := func(msg string) error { return errs.Errorf(errs.Unauthenticated, op, "%s", msg) }
	c, err := st.tokens.open(token)
	if err != nil {
		return nil, bad("the authorization token is not valid")
	}
	if len(kinds) > 0 && !containsKind(kinds, c.kind) {
		return nil, bad("this kind of authorization token is not valid here")
	}
	now := s.now()
	if now.UnixMilli() >= c.expires {
		return nil, errs.Errorf(errs.Expired, op, "the authorization token has expired")
	}
	if c.kind == authv1.TokenKind_TOKEN_KIND_UPLOAD && subtle.ConstantTimeCompare([]byte(c.scope), []byte(uploadTarget)) != 1 {
		return nil, bad("the upload authorization token belongs to another upload URL")
	}
	k, err := s.loadKey(ctx, st, op, c.keyID)
	switch {
	case errs.Is(err, errs.KeyNotFound):
		return nil, bad("the application key of this authorization token no longer exists")
	case err != nil:
		return nil, err
	}
	if k.key.GetCreateIndex() != c.createIndex {
		// Deleted and created again under the same id: not the same key.
		return nil, bad("the application key of this authorization token no longer exists")
	}
	if exp := k.key.GetExpirationTimeUnixMillis(); exp != 0 && now.UnixMilli() >= exp {
		return nil, errs.Errorf(errs.Expired, op, "the application key has expired")
	}
	p := principal(k.key)
	p.ExpirationTimeUnixMillis = earliest(c.expires, p.GetExpirationTimeUnixMillis())
	switch c.kind {
	case authv1.TokenKind_TOKEN_KIND_UPLOAD:
		// An upload may also set retention and legal hold (X-Bz-File-*
		// headers) when the key itself may, and its answer shows them when
		// the key may read them: the token keeps those, and nothing else
		// beyond writing files.
		p.Capabilities = intersect(p.GetCapabilities(), policy.WriteFiles, policy.WriteFileRetentions, policy.WriteFileLegalHolds,
			policy.ReadFileRetentions, policy.ReadFileLegalHolds)
		p.BucketIds = []string{c.bucketID}
	case authv1.TokenKind_TOKEN_KIND_DOWNLOAD:
		// Minting checked that the token's prefix lies inside the key's;
		// checked again, so that a token can never widen its key.
		if !strings.HasPrefix(c.scope, p.GetNamePrefix()) {
			return nil, bad("the authorization token is not valid")
		}
		p.Capabilities = []string{policy.ReadFiles}
		p.BucketIds = []string{c.bucketID}
		p.NamePrefix = c.scope
	}
	return &verifiedToken{claims: c, key: k.key, principal: p}, nil
}

// bucketOfTarget is the bucket an upload target names: the bucket id
// embedded in a B2 fileId ("4_z<24 hex>_f…"), else the target itself.
func bucketOfTarget(target string) string {
	const pre = "4_z"
	if len(target) > len(pre)+24 && strings.HasPrefix(target, pre) && target[len(pre)+24] == '_' {
		id := target[len(pre) : len(pre)+24]
		if strings.Trim(id, "0123456789abcdef") == "" {
			return id
		}
	}
	return target
}

// earliest returns the earlier of two unix-millisecond instants, where 0
// means "never".
func earliest(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0 || a < b:
		return a
	}
	return b
}

func containsKind(kinds []authv1.TokenKind, k authv1.TokenKind) bool {
	for _, v := range kinds {
		if v == k {
			return true
		}
	}
	return false
}

// intersect returns the capabilities of have that are among want.
func intersect(have []string, want ...string) []string {
	var out []string
	for _, c := range have {
		for _, w := range want {
			if c == w {
				out = append(out, c)
			}
		}
	}
	return out
}
