package authd

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/coffer-project/coffer/authd/kek"
	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Limits on application keys (spec/b2-native.md §9, §10.1).
const (
	maxKeyNameLen       = 100
	maxValidDuration    = 86400000 // seconds: 1000 days
	defaultListPageSize = 100
	maxListPageSize     = 10000
	maxNamePrefixLen    = 1024
)

// keySpec is a key to create.
type keySpec struct {
	id, secret   string // both empty: generated
	name         string
	capabilities []string
	bucketIDs    []string
	namePrefix   string
	expiresAt    int64 // unix millis; 0 never
	master       bool
}

// CreateKey creates an application key and returns its secret, once. The
// secret is sealed with the KEK before it is sent to metadata.
func (s *Server) CreateKey(ctx context.Context, req *authv1.CreateKeyRequest) (*authv1.CreateKeyResponse, error) {
	const op = "authd.CreateKey"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	by, err := s.caller(ctx, st, op, req.GetAccountToken(), policy.WriteKeys)
	if err != nil {
		return nil, err
	}
	spec, err := s.keySpecOf(op, req)
	if err != nil {
		return nil, err
	}
	if spec.id != "" {
		// A chosen id must be new. Metadata refuses a duplicate id too
		// (Conflict); asking first gives the caller a clear message.
		if _, err := s.meta.GetKey(ctx, &metadatav1.GetKeyRequest{KeyId: spec.id}); err == nil {
			return nil, errs.Errorf(errs.Conflict, op, "application key id %q already exists", spec.id)
		} else if !errs.Is(errs.FromStatus(op, err), errs.KeyNotFound) {
			return nil, errs.FromStatus(op, err)
		}
	}
	key, secret, err := s.storeKey(ctx, st, spec)
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "application key created", "key_id", key.GetKeyId(), "name", key.GetName(),
		"capabilities", len(key.GetCapabilities()), "by_key_id", by.GetKeyId(), "request_id", runtime.RequestID(ctx))
	return &authv1.CreateKeyResponse{Key: keyInfo(key), Secret: secret}, nil
}

// keySpecOf validates a CreateKeyRequest.
func (s *Server) keySpecOf(op string, req *authv1.CreateKeyRequest) (keySpec, error) {
	bad := func(format string, args ...any) (keySpec, error) {
		return keySpec{}, errs.Errorf(errs.InvalidArgument, op, format, args...)
	}
	spec := keySpec{id: req.GetKeyId(), secret: req.GetSecret(), name: req.GetName(), namePrefix: req.GetNamePrefix()}
	if !validKeyName(spec.name) {
		return bad("keyName must be 1-%d letters, digits and '-'", maxKeyNameLen)
	}
	if len(req.GetCapabilities()) == 0 {
		return bad("capabilities must not be empty")
	}
	// Capabilities are B2's case-sensitive names; repeats are harmless and
	// dropped, unknown names are refused as b2_create_key does.
	spec.capabilities = dedupe(req.GetCapabilities())
	for _, c := range spec.capabilities {
		if !policy.Known(c) {
			return bad("unknown capability %q", c)
		}
	}
	spec.bucketIDs = dedupe(req.GetBucketIds())
	for _, b := range spec.bucketIDs {
		if b == "" {
			return bad("bucket ids must not be empty")
		}
	}
	// A bucket-restricted key holds only bucket-level capabilities
	// (spec/b2-native.md §10.1).
	if len(spec.bucketIDs) > 0 {
		for _, c := range spec.capabilities {
			if policy.AccountCapability(c) {
				return bad("a key restricted to buckets cannot have the %s capability", c)
			}
		}
	}
	if len(spec.namePrefix) > maxNamePrefixLen {
		return bad("namePrefix must be at most %d bytes", maxNamePrefixLen)
	}
	// The expiry is fixed at creation, from authd's clock.
	switch d := req.GetValidDurationSeconds(); {
	case d < 0 || d > maxValidDuration:
		return bad("validDurationInSeconds must be between 1 and %d", maxValidDuration)
	case d > 0:
		spec.expiresAt = s.now().Add(time.Duration(d) * time.Second).UnixMilli()
	}
	if (spec.id == "") != (spec.secret == "") {
		return bad("key id and secret must be given together")
	}
	if spec.id != "" {
		if err := validKeyID(spec.id); err != nil {
			return bad("key id %s", err)
		}
		if err := validSecret(spec.secret); err != nil {
			return bad("secret %s", err)
		}
	}
	return spec, nil
}

// storeKey seals the secret and stores the key through metadata.
func (s *Server) storeKey(ctx context.Context, st *state, spec keySpec) (*metadatav1.ApplicationKey, string, error) {
	const op = "authd.CreateKey"
	if spec.id == "" {
		spec.id, spec.secret = newKeyID(), newSecret()
	}
	// Seal before the key leaves authd: metadata (and its Raft log) only
	// ever sees nonce || ciphertext, bound to this key id.
	sealed, err := st.kek.Seal(spec.id, []byte(spec.secret))
	if err != nil {
		return nil, "", errs.E(errs.Internal, op, err)
	}
	key := &metadatav1.ApplicationKey{
		KeyId:                    spec.id,
		Name:                     spec.name,
		AccountId:                st.accountID,
		Capabilities:             spec.capabilities,
		BucketIds:                spec.bucketIDs,
		NamePrefix:               spec.namePrefix,
		ExpirationTimeUnixMillis: spec.expiresAt,
		EncryptedSecret:          sealed,
		KekVersion:               st.kek.Version(),
		Master:                   spec.master,
	}
	resp, err := s.meta.CreateKey(ctx, &metadatav1.CreateKeyRequest{Key: key, RequestId: requestID(ctx, op, spec.id)})
	if err != nil {
		return nil, "", errs.FromStatus(op, err)
	}
	stored := resp.GetKey()
	if stored == nil {
		stored = key
	}
	// The store must hold our secret: a replayed or racing create that kept
	// another secret for this id is a conflict, not a success.
	conflict := stored.GetKeyId() != spec.id
	if len(stored.GetEncryptedSecret()) > 0 {
		got, err := openSecret(st.kek, stored)
		conflict = conflict || err != nil || subtle.ConstantTimeCompare(got, []byte(spec.secret)) != 1
	}
	if conflict {
		return nil, "", errs.Errorf(errs.Conflict, op, "application key id %q already exists", spec.id)
	}
	return stored, spec.secret, nil
}

// ListKeys lists keys, never their secrets. The master key is not listed:
// as in B2, b2_list_keys shows the application keys one created, and the
// master key cannot be deleted anyway. A page may therefore hold one key
// fewer than asked; next_key_id still continues the listing.
func (s *Server) ListKeys(ctx context.Context, req *authv1.ListKeysRequest) (*authv1.ListKeysResponse, error) {
	const op = "authd.ListKeys"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	if _, err := s.caller(ctx, st, op, req.GetAccountToken(), policy.ListKeys); err != nil {
		return nil, err
	}
	size := req.GetPageSize()
	switch {
	case size < 0 || size > maxListPageSize:
		return nil, errs.Errorf(errs.InvalidArgument, op, "page size must be between 1 and %d", maxListPageSize)
	case size == 0:
		size = defaultListPageSize
	}
	resp, err := s.meta.ListKeys(ctx, &metadatav1.ListKeysRequest{PageSize: size, StartKeyId: req.GetStartKeyId()})
	if err != nil {
		return nil, errs.FromStatus(op, err)
	}
	out := &authv1.ListKeysResponse{NextKeyId: resp.GetNextKeyId()}
	for _, k := range resp.GetKeys() {
		if k.GetMaster() || k.GetKeyId() == st.masterID {
			continue
		}
		out.Keys = append(out.Keys, keyInfo(k))
	}
	return out, nil
}

// DeleteKey deletes a key. Its signatures and tokens stop working at once
// through authd (every verification reads the key), and in every gateway
// when the metadata watch stream reports the change (gateway/authcache).
// The master key cannot be deleted, as in B2.
func (s *Server) DeleteKey(ctx context.Context, req *authv1.DeleteKeyRequest) (*authv1.DeleteKeyResponse, error) {
	const op = "authd.DeleteKey"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	by, err := s.caller(ctx, st, op, req.GetAccountToken(), policy.DeleteKeys)
	if err != nil {
		return nil, err
	}
	id := req.GetKeyId()
	if id == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "key id is required")
	}
	if id == st.masterID || id == st.accountID {
		return nil, errs.Errorf(errs.InvalidArgument, op, "the master application key cannot be deleted")
	}
	resp, err := s.meta.DeleteKey(ctx, &metadatav1.DeleteKeyRequest{KeyId: id, RequestId: requestID(ctx, op, id)})
	if err != nil {
		return nil, errs.FromStatus(op, err)
	}
	s.log.InfoContext(ctx, "application key deleted", "key_id", id, "by_key_id", by.GetKeyId(), "request_id", runtime.RequestID(ctx))
	key := resp.GetKey()
	if key == nil {
		key = &metadatav1.ApplicationKey{KeyId: id}
	}
	return &authv1.DeleteKeyResponse{Key: keyInfo(key)}, nil
}

// liveKey is an application key with its decrypted secret, read for one
// call and dropped afterwards.
type liveKey struct {
	key    *metadatav1.ApplicationKey
	secret string
}

// loadKey reads a key and opens its secret. A key metadata does not know is
// KeyNotFound.
//
// There is deliberately no cache here: the gateway caches verdicts and
// signing keys and invalidates them from the metadata watch stream, and it
// may only do so safely if what authd answers is never older than the
// moment it asked (a stale answer cached after the invalidation arrived
// would live on). So every verification through authd is a linearizable
// read: a key created a moment ago through another replica is found, and a
// deleted one is not.
func (s *Server) loadKey(ctx context.Context, st *state, op, id string) (*liveKey, error) {
	resp, err := s.meta.GetKey(ctx, &metadatav1.GetKeyRequest{KeyId: id})
	if err != nil {
		return nil, errs.FromStatus(op, err)
	}
	key := resp.GetKey()
	secret, err := openSecret(st.kek, key)
	if err != nil {
		s.log.ErrorContext(ctx, "cannot decrypt a stored application key; do all authd replicas share the key-encryption key?",
			"key_id", id, "stored_kek_version", key.GetKekVersion(), "kek_version", st.kek.Version(), "err", err)
		return nil, errs.E(errs.Internal, op, fmt.Errorf("key %s: %w", id, err))
	}
	return &liveKey{key: key, secret: string(secret)}, nil
}

// requestID makes the metadata request id of a mutation: the caller's
// request id when there is one (so a retried call is deduplicated), else a
// fresh one.
func requestID(ctx context.Context, op, keyID string) string {
	rid := runtime.RequestID(ctx)
	if rid == "" {
		rid = randomHex(8)
	}
	return op + "/" + keyID + "/" + rid
}

// keyInfo describes a key without its secret.
func keyInfo(k *metadatav1.ApplicationKey) *authv1.KeyInfo {
	return &authv1.KeyInfo{
		KeyId:                    k.GetKeyId(),
		Name:                     k.GetName(),
		AccountId:                k.GetAccountId(),
		Capabilities:             k.GetCapabilities(),
		BucketIds:                k.GetBucketIds(),
		NamePrefix:               k.GetNamePrefix(),
		ExpirationTimeUnixMillis: k.GetExpirationTimeUnixMillis(),
		Master:                   k.GetMaster(),
	}
}

// principal is who a key's holder is.
func principal(k *metadatav1.ApplicationKey) *authv1.Principal {
	return &authv1.Principal{
		AccountId:                k.GetAccountId(),
		KeyId:                    k.GetKeyId(),
		KeyName:                  k.GetName(),
		Capabilities:             k.GetCapabilities(),
		BucketIds:                k.GetBucketIds(),
		NamePrefix:               k.GetNamePrefix(),
		ExpirationTimeUnixMillis: k.GetExpirationTimeUnixMillis(),
		Master:                   k.GetMaster(),
	}
}

func validKeyName(n string) bool {
	if n == "" || len(n) > maxKeyNameLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func dedupe(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// newKeyID returns a 25-character key id in B2's style: "00" and 23 hex digits.
func newKeyID() string { return "00" + randomHex(12)[:23] }

// newSecret returns a 31-character secret in B2's style: "K00" and 28
// characters of [A-Za-z0-9] (about 166 bits).
func newSecret() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, 31)
	out = append(out, "K00"...)
	buf := make([]byte, 64)
	for len(out) < 31 {
		mustRead(buf)
		for _, b := range buf {
			if b < 248 && len(out) < 31 { // 248 = 4*62: no modulo bias
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out)
}

func randomHex(n int) string {
	b := make([]byte, n)
	mustRead(b)
	return hex.EncodeToString(b)
}

func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("authd: crypto/rand failed: " + err.Error()))
	}
}

// openSecret decrypts a stored key's secret.
func openSecret(k *kek.KEK, key *metadatav1.ApplicationKey) ([]byte, error) {
	return k.Open(key.GetKeyId(), key.GetKekVersion(), key.GetEncryptedSecret())
}
