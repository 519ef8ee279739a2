package authd

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/coffer-project/coffer/authd/kek"
	"github.com/coffer-project/coffer/authd/policy"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// masterKeyName is the name of the account's master key.
const masterKeyName = "master"

// masterKeyID is the master key id of an account, in B2's shape:
// "000" + accountId + "0000000000" (spec/b2-native.md §1.1). B2 also
// accepts the bare account id in its place; AuthorizeAccount does too.
func masterKeyID(accountID string) string { return "000" + accountID + "0000000000" }

// ensureMaster makes sure the account's master key exists: every
// capability, no restriction, no expiry, master=true. Like B2's, it works on
// the native API (b2_authorize_account) and is refused on the S3 API
// (VerifySigV4), it is not listed by ListKeys and cannot be deleted.
//
// Its secret is MasterSecret when configured (checked against the stored
// one on every start, as the bootstrap key's is), else generated at first
// start and printed once to Out. Two replicas starting at once race to
// create it; the loser finds the winner's key and keeps it.
func (s *Server) ensureMaster(ctx context.Context, st *state) error {
	id, secret := st.masterID, string(s.cfg.MasterSecret)
	found, err := s.checkMaster(ctx, st, secret)
	if found || err != nil {
		return err
	}
	generated := secret == ""
	if generated {
		secret = newSecret()
	}
	spec := keySpec{id: id, secret: secret, name: masterKeyName, capabilities: policy.AllCapabilities(), master: true}
	err = retry(ctx, func() error {
		_, _, err := s.storeKey(ctx, st, spec)
		return err
	})
	if errs.Is(err, errs.Conflict) {
		// Another replica created it first; a configured secret must match.
		if found, cerr := s.checkMaster(ctx, st, string(s.cfg.MasterSecret)); found || cerr != nil {
			return cerr
		}
	}
	if err != nil {
		return fmt.Errorf("authd: create the master key: %w", err)
	}
	s.log.Info("master application key created", "key_id", id)
	if generated {
		fmt.Fprintf(s.out, "\ncoffer: created the account's master application key, for the B2 native API only "+
			"(the S3 API refuses it, as Backblaze's does). The secret is shown only this once:\n"+
			"  master applicationKeyId: %s (the account id %s works too)\n"+
			"  master applicationKey:   %s\n"+
			"  (set %s to choose it yourself)\n\n",
			id, st.accountID, secret, EnvMasterSecret)
	}
	return nil
}

// checkMaster reports whether the master key exists; with a configured
// secret, a stored key with another secret (or one that is not a master
// key) is an error rather than silently kept.
func (s *Server) checkMaster(ctx context.Context, st *state, secret string) (bool, error) {
	const op = "authd.Start"
	var resp *metadatav1.GetKeyResponse
	err := retry(ctx, func() error {
		var err error
		resp, err = s.meta.GetKey(ctx, &metadatav1.GetKeyRequest{KeyId: st.masterID})
		return errs.FromStatus(op, err)
	})
	switch {
	case errs.Is(err, errs.KeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("authd: look up the master key: %w", err)
	}
	key := resp.GetKey()
	if !key.GetMaster() {
		return false, fmt.Errorf("authd: key id %s is the master key's but holds an ordinary application key; delete it", st.masterID)
	}
	if secret == "" {
		return true, nil
	}
	stored, err := openSecret(st.kek, key)
	switch {
	case errors.Is(err, kek.ErrVersion), errors.Is(err, kek.ErrOpen):
		return false, fmt.Errorf("authd: the master key cannot be decrypted with this key-encryption key "+
			"(kek version %d, stored under %d): every authd replica of a cluster must share %s or the same KEK file",
			st.kek.Version(), key.GetKekVersion(), EnvClusterKey)
	case err != nil:
		return false, fmt.Errorf("authd: master key: %w", err)
	case subtle.ConstantTimeCompare(stored, []byte(secret)) != 1:
		return false, fmt.Errorf("authd: the master key already exists with a different secret: %s does not match it "+
			"(set its current secret, or unset %s)", EnvMasterSecret, EnvMasterSecret)
	}
	return true, nil
}
