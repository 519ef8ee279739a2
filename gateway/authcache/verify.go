package authcache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/authd/sigv4"
	"github.com/coffer-project/coffer/gateway/watchfollow"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const opVerify = "authcache.VerifySigV4"

// VerifySigV4 authenticates an S3 request as authd's VerifySigV4 would
// (without an Access: the caller applies policy.Decide to the principal).
//
// The request is parsed here first, so malformed credentials never reach
// authd. A request without credentials is anonymous: its principal has
// anonymous=true and nothing else. A signed request whose key and
// credential scope are cached is verified here — time window, then the
// signature, in constant time — with the cached signing key; otherwise
// authd verifies it and, if the stream allows (see the package comment),
// its principal and signing key are cached. The response has the same
// fields authd's has, signing_key included.
func (c *Cache) VerifySigV4(ctx context.Context, r *sigv4.Request) (*authv1.VerifySigV4Response, error) {
	a, err := c.verifier.Parse(r)
	if err != nil {
		return nil, err
	}
	if a.Anonymous {
		return &authv1.VerifySigV4Response{Principal: &authv1.Principal{Anonymous: true}, PayloadHash: a.PayloadHash}, nil
	}
	id, scope := a.Credential.AccessKeyID, a.Credential.Scope()
	if p, key := c.lookupKey(id, scope); p != nil {
		if err := c.verifier.Verify(r, a, key); err != nil {
			return nil, err
		}
		// authd refuses an expired key even without an Access; so do we.
		if exp := p.GetExpirationTimeUnixMillis(); exp != 0 && c.now().UnixMilli() >= exp {
			return nil, errs.Errorf(errs.Expired, opVerify, "the application key has expired").WithDetail("access_key_id", id)
		}
		c.hits.Add(1)
		return &authv1.VerifySigV4Response{
			Principal:       p,
			PayloadHash:     a.PayloadHash,
			SigningKey:      key,
			SeedSignature:   a.Signature,
			AmzDate:         a.AmzDate,
			CredentialScope: scope,
		}, nil
	}
	c.misses.Add(1)
	t := c.watch.Ticket()
	resp, err := c.auth.VerifySigV4(ctx, wireRequest(r))
	if err != nil {
		return nil, err
	}
	if len(resp.GetSigningKey()) > 0 && resp.GetCredentialScope() == scope && resp.GetPrincipal().GetKeyId() == id {
		c.storeKey(t, id, scope, resp.GetPrincipal(), resp.GetSigningKey())
	}
	return resp, nil
}

// lookupKey returns the cached principal and signing key of a key and
// scope, or nil when there is none that may be used.
func (c *Cache) lookupKey(id, scope string) (*authv1.Principal, []byte) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.watch.LiveLocked() {
		return nil, nil
	}
	e := c.keys[id]
	if e == nil || !c.fresh(e.added, c.now()) {
		return nil, nil
	}
	key := e.signing[scope]
	if key == nil {
		return nil, nil
	}
	return e.principal, key
}

// storeKey caches authd's answer for a key and scope if t allows.
func (c *Cache) storeKey(t watchfollow.Ticket, id, scope string, p *authv1.Principal, key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.watch.StorableLocked(t) {
		return
	}
	now := c.now()
	e := c.keys[id]
	if e == nil || !c.fresh(e.added, now) {
		c.makeRoomLocked()
		e = &keyEntry{added: now, signing: map[string][]byte{}}
		c.keys[id] = e
	}
	// A key never changes without a watch event, which would have removed
	// the entry; the newest principal is as good as the cached one.
	e.principal = p
	if len(e.signing) >= maxScopesPerKey {
		e.signing = map[string][]byte{}
	}
	e.signing[scope] = append([]byte(nil), key...)
}

// wireRequest is what authd's VerifySigV4 takes: the request as received.
func wireRequest(r *sigv4.Request) *authv1.VerifySigV4Request {
	req := &authv1.VerifySigV4Request{Method: r.Method, RawPath: r.RawPath, RawQuery: r.RawQuery, Host: r.Host}
	for name, values := range r.Header {
		for _, v := range values {
			req.Headers = append(req.Headers, &authv1.HTTPHeader{Name: name, Value: v})
		}
	}
	return req
}

const opToken = "authcache.VerifyToken"

// VerifyToken checks a B2 token as authd's VerifyToken does — req.Kinds
// and req.UploadTarget included — and, when req.Access is set, applies
// the one authorization decision (policy.Decide) to its principal, here.
// The verdict is cached under the SHA-256 of the token, kinds and target;
// a cached verdict is used until the token (or its key) expires, the key
// changes, or MaxAge passes.
func (c *Cache) VerifyToken(ctx context.Context, req *authv1.VerifyTokenRequest) (*authv1.VerifyTokenResponse, error) {
	id := tokenKey(req)
	resp := c.lookupToken(id)
	if resp == nil {
		c.misses.Add(1)
		t := c.watch.Ticket()
		var err error
		resp, err = c.auth.VerifyToken(ctx, &authv1.VerifyTokenRequest{
			Token: req.GetToken(), Kinds: req.GetKinds(), UploadTarget: req.GetUploadTarget(),
		})
		if err != nil {
			return nil, err
		}
		c.storeToken(t, id, resp)
	} else {
		c.hits.Add(1)
		if exp := resp.GetPrincipal().GetExpirationTimeUnixMillis(); exp != 0 && c.now().UnixMilli() >= exp {
			return nil, errs.Errorf(errs.Expired, opToken, "the authorization token has expired")
		}
	}
	if req.GetAccess() != nil {
		if err := policy.Decide(resp.GetPrincipal(), req.GetAccess(), c.now()); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// tokenKey hashes what a verdict depends on: the token, the kinds the
// endpoint accepts and the upload target. The token itself is not kept.
func tokenKey(req *authv1.VerifyTokenRequest) tokenID {
	h := sha256.New()
	h.Write([]byte{'t'})
	var n [binary.MaxVarintLen64]byte
	write := func(s string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	write(req.GetToken())
	write(req.GetUploadTarget())
	for _, k := range req.GetKinds() {
		h.Write(n[:binary.PutUvarint(n[:], uint64(k))])
	}
	var id tokenID
	h.Sum(id[:0])
	return id
}

func (c *Cache) lookupToken(id tokenID) *authv1.VerifyTokenResponse {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.watch.LiveLocked() {
		return nil
	}
	e := c.tokens[id]
	if e == nil || !c.fresh(e.added, c.now()) {
		return nil
	}
	return e.resp
}

func (c *Cache) storeToken(t watchfollow.Ticket, id tokenID, resp *authv1.VerifyTokenResponse) {
	if resp.GetPrincipal().GetKeyId() == "" {
		return // not tied to a key: nothing could invalidate it
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.watch.StorableLocked(t) {
		return
	}
	if _, ok := c.tokens[id]; !ok {
		c.makeRoomLocked()
	}
	c.tokens[id] = &tokenEntry{resp: resp, added: c.now()}
}

const opSecret = "authcache.VerifyKeySecret"

// VerifyKeySecret authenticates an application key by its id and secret,
// as authd's AuthorizeAccount does, and returns the key's principal (the
// R2-style API takes "<keyId>:<secret>" as a Bearer token). The verdict is
// cached like a token's — under the SHA-256 of the id and secret, never the
// secret itself — and dropped with the key's other entries when the key
// changes, so a deleted key is refused here within the same bound as on S3
// and B2.
func (c *Cache) VerifyKeySecret(ctx context.Context, keyID, secret string) (*authv1.Principal, error) {
	id := secretKey(keyID, secret)
	resp := c.lookupToken(id)
	if resp == nil {
		c.misses.Add(1)
		t := c.watch.Ticket()
		got, err := c.auth.AuthorizeAccount(ctx, &authv1.AuthorizeAccountRequest{KeyId: keyID, Secret: secret})
		if err != nil {
			return nil, err
		}
		resp = &authv1.VerifyTokenResponse{Principal: got.GetPrincipal(), Kind: authv1.TokenKind_TOKEN_KIND_ACCOUNT}
		c.storeToken(t, id, resp)
	} else {
		c.hits.Add(1)
		if exp := resp.GetPrincipal().GetExpirationTimeUnixMillis(); exp != 0 && c.now().UnixMilli() >= exp {
			return nil, errs.Errorf(errs.Expired, opSecret, "the application key has expired").WithDetail("access_key_id", keyID)
		}
	}
	return resp.GetPrincipal(), nil
}

// secretKey is the cache key of a key id and secret; its first byte keeps
// it apart from every token's (tokenKey).
func secretKey(keyID, secret string) tokenID {
	h := sha256.New()
	h.Write([]byte{'s'})
	var n [binary.MaxVarintLen64]byte
	for _, s := range []string{keyID, secret} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	var id tokenID
	h.Sum(id[:0])
	return id
}
