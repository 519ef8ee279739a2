package authd

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
)

// B2 tokens are self-contained: any authd replica holding the cluster's KEK
// verifies them without a shared store, so an upload URL issued through one
// replica works through every gateway (spec/b2-native.md §6.4). A token is
//
//	"c1_" + base64url(claims || HMAC-SHA256(tokenKey, claims))
//
// where tokenKey is derived from the KEK for this purpose only (kek.Derive),
// and claims is a small binary record:
//
//	version (1) | kind (1) | expires unix ms (8) | key create index (8) |
//	nonce (16) | key id | bucket id | scope       (strings: uvarint length + bytes)
//	[ | 6 override strings ]                     (download tokens minted with b2Content*)
//
// The nonce gives every token 128 random bits, as reliability.md §3.6 asks.
// Nothing about a token is stored, so there is nothing to leak at rest; the
// gateway's verdict cache keys tokens by their SHA-256 only. The MAC is
// compared in constant time (hmac.Equal). A token names its key by id and
// create index: once the key is deleted — or deleted and re-created under the
// same id — every token it minted stops verifying, because verification
// reads the live key. The scope is the large-file or bucket id an upload
// token is bound to, or the file-name prefix of a download authorization.

const (
	tokenPrefix   = "c1_"
	tokenVersion  = 1
	tokenMACLabel = "coffer b2 token v1"
	tokenMACSize  = sha256.Size
	tokenNonce    = 16
	// maxTokenLen bounds what is decoded: three strings of at most
	// maxNamePrefixLen-ish bytes and a download authorization's overrides
	// (at most maxOverrideBytes), base64-expanded, with room to spare.
	maxTokenLen = 8192
	// maxOverrideBytes bounds the b2Content* values a download token binds.
	maxOverrideBytes = 2048
)

// Token lifetimes (spec/b2-native.md §1, §6.5).
const (
	accountTokenTTL     = 24 * time.Hour
	uploadTokenTTL      = 24 * time.Hour
	maxDownloadDuration = 604800 // seconds: 7 days
)

// claims is what a token asserts.
type claims struct {
	kind        authv1.TokenKind
	expires     int64  // unix millis
	createIndex uint64 // of the key, so a re-created key does not revive tokens
	nonce       [tokenNonce]byte
	keyID       string
	bucketID    string // upload and download tokens
	scope       string // upload: bucket or large-file id; download: name prefix
	// overrides are a download token's bound b2Content* values, in the
	// order of overrideFields; all empty for every other token.
	overrides [6]string
}

// overrideFields are the DownloadOverrides a token carries, in order.
var overrideFields = []struct {
	get func(*authv1.DownloadOverrides) string
	set func(*authv1.DownloadOverrides, string)
}{
	{(*authv1.DownloadOverrides).GetContentDisposition, func(o *authv1.DownloadOverrides, v string) { o.ContentDisposition = v }},
	{(*authv1.DownloadOverrides).GetContentLanguage, func(o *authv1.DownloadOverrides, v string) { o.ContentLanguage = v }},
	{(*authv1.DownloadOverrides).GetExpires, func(o *authv1.DownloadOverrides, v string) { o.Expires = v }},
	{(*authv1.DownloadOverrides).GetCacheControl, func(o *authv1.DownloadOverrides, v string) { o.CacheControl = v }},
	{(*authv1.DownloadOverrides).GetContentEncoding, func(o *authv1.DownloadOverrides, v string) { o.ContentEncoding = v }},
	{(*authv1.DownloadOverrides).GetContentType, func(o *authv1.DownloadOverrides, v string) { o.ContentType = v }},
}

// overridesOf copies a request's overrides into claims form.
func overridesOf(o *authv1.DownloadOverrides) (out [6]string) {
	for i, f := range overrideFields {
		out[i] = f.get(o)
	}
	return out
}

// bound reports whether any override is set.
func (c claims) bound() bool { return c.overrides != [6]string{} }

// downloadOverrides is the claims' overrides as a message, nil when none.
func (c claims) downloadOverrides() *authv1.DownloadOverrides {
	if !c.bound() {
		return nil
	}
	o := &authv1.DownloadOverrides{}
	for i, f := range overrideFields {
		f.set(o, c.overrides[i])
	}
	return o
}

// errBadToken is returned for anything that is not a token we minted with
// the current KEK. Callers turn it into Unauthenticated without detail: a
// forger learns nothing about which check failed.
var errBadToken = errors.New("authd: bad token")

// tokenSealer mints and opens tokens under one MAC key. It is safe for
// concurrent use (it holds only the key).
type tokenSealer struct {
	key []byte
}

// seal encodes and authenticates c, drawing a fresh nonce.
func (s tokenSealer) seal(c claims) string {
	mustRead(c.nonce[:])
	b := make([]byte, 0, 2+8+8+tokenNonce+3*binary.MaxVarintLen16+len(c.keyID)+len(c.bucketID)+len(c.scope)+tokenMACSize)
	b = append(b, tokenVersion, byte(c.kind))
	b = binary.BigEndian.AppendUint64(b, uint64(c.expires))
	b = binary.BigEndian.AppendUint64(b, c.createIndex)
	b = append(b, c.nonce[:]...)
	fields := []string{c.keyID, c.bucketID, c.scope}
	if c.kind == authv1.TokenKind_TOKEN_KIND_DOWNLOAD && c.bound() {
		fields = append(fields, c.overrides[:]...)
	}
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = append(b, s.macOf(b)...)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// macOf is HMAC-SHA256(key, body).
func (s tokenSealer) macOf(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)
}

// open checks a token's MAC and decodes its claims. It never panics on any
// input (FuzzOpenToken) and does not look at the clock: expiry is the
// caller's decision.
func (s tokenSealer) open(token string) (claims, error) {
	var c claims
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(token) > maxTokenLen {
		return c, errBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) < 2+8+8+tokenNonce+3+tokenMACSize {
		return c, errBadToken
	}
	body, mac := b[:len(b)-tokenMACSize], b[len(b)-tokenMACSize:]
	if !hmac.Equal(s.macOf(body), mac) {
		return c, errBadToken
	}
	// Authentic from here on; the parsing below still checks every length,
	// since a bug elsewhere must not turn into a panic.
	if body[0] != tokenVersion {
		return c, errBadToken
	}
	c.kind = authv1.TokenKind(body[1])
	c.expires = int64(binary.BigEndian.Uint64(body[2:10]))
	c.createIndex = binary.BigEndian.Uint64(body[10:18])
	copy(c.nonce[:], body[18:18+tokenNonce])
	p := body[18+tokenNonce:]
	fields := []*string{&c.keyID, &c.bucketID, &c.scope}
	for i := 0; i < len(fields); i++ {
		n, used := binary.Uvarint(p)
		if used <= 0 || n > uint64(len(p)-used) {
			return c, errBadToken
		}
		*fields[i] = string(p[used : used+int(n)])
		p = p[used+int(n):]
		if i == 2 && len(p) > 0 && c.kind == authv1.TokenKind_TOKEN_KIND_DOWNLOAD {
			// A download token bound to b2Content* overrides.
			for j := range c.overrides {
				fields = append(fields, &c.overrides[j])
			}
		}
	}
	if len(p) != 0 || c.keyID == "" {
		return c, errBadToken
	}
	switch c.kind {
	case authv1.TokenKind_TOKEN_KIND_ACCOUNT, authv1.TokenKind_TOKEN_KIND_UPLOAD, authv1.TokenKind_TOKEN_KIND_DOWNLOAD:
	default:
		return c, errBadToken
	}
	return c, nil
}
