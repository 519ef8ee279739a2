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

// bootstrapKeyName is the name of the key created at first start.
const bootstrapKeyName = "coffer-bootstrap"

// bootstrap makes sure a first application key exists, with every
// capability:
//
//   - configured id and secret: the key is created when no key exists yet;
//     when a key with that id exists its secret must match, or Start fails
//     (the environment would otherwise silently not apply);
//   - nothing configured: when no key exists, one is generated and printed
//     once to Out.
//
// Keys created later, or a deliberately deleted bootstrap key, are left
// alone: authd never recreates a key while other keys exist.
func (s *Server) bootstrap(ctx context.Context, st *state) error {
	id, secret := s.cfg.BootstrapKeyID, string(s.cfg.BootstrapSecret)
	if id != "" {
		done, err := s.checkConfiguredKey(ctx, st, id, secret)
		if done || err != nil {
			return err
		}
	}
	exist, err := s.anyKeys(ctx)
	if err != nil {
		return err
	}
	if exist {
		if id != "" {
			s.log.Warn("the configured bootstrap key does not exist and is not created, because other application keys exist",
				"key_id", id, "env", EnvAccessKeyID)
		}
		return nil
	}
	spec := keySpec{id: id, secret: secret, name: bootstrapKeyName, capabilities: policy.AllCapabilities()}
	if spec.id == "" {
		spec.id, spec.secret = newKeyID(), newSecret() // fixed across retries
	}
	var key *metadatav1.ApplicationKey
	err = retry(ctx, func() error {
		var err error
		key, _, err = s.storeKey(ctx, st, spec)
		return err
	})
	if err != nil {
		if id != "" && errs.Is(err, errs.Conflict) {
			// Another replica created it first: it must carry our secret.
			if done, cerr := s.checkConfiguredKey(ctx, st, id, secret); done || cerr != nil {
				return cerr
			}
		}
		return fmt.Errorf("authd: create bootstrap key: %w", err)
	}
	s.log.Info("bootstrap application key created", "key_id", key.GetKeyId(), "capabilities", len(key.GetCapabilities()))
	if id == "" {
		s.printGenerated(key.GetKeyId(), spec.secret)
	}
	return nil
}

// checkConfiguredKey reports done=true when the configured key exists with
// the configured secret, and an error when it exists with another secret.
func (s *Server) checkConfiguredKey(ctx context.Context, st *state, id, secret string) (done bool, err error) {
	const op = "authd.Start"
	var resp *metadatav1.GetKeyResponse
	err = retry(ctx, func() error {
		var err error
		resp, err = s.meta.GetKey(ctx, &metadatav1.GetKeyRequest{KeyId: id})
		return errs.FromStatus(op, err)
	})
	switch {
	case errs.Is(err, errs.KeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("authd: look up bootstrap key: %w", err)
	}
	stored, err := openSecret(st.kek, resp.GetKey())
	switch {
	case errors.Is(err, kek.ErrVersion), errors.Is(err, kek.ErrOpen):
		return false, fmt.Errorf("authd: application key %q exists but cannot be decrypted with this key-encryption key "+
			"(kek version %d, stored under %d): every authd replica of a cluster must share %s or the same KEK file",
			id, st.kek.Version(), resp.GetKey().GetKekVersion(), EnvClusterKey)
	case err != nil:
		return false, fmt.Errorf("authd: bootstrap key: %w", err)
	case subtle.ConstantTimeCompare(stored, []byte(secret)) != 1:
		return false, fmt.Errorf("authd: application key %q already exists with a different secret: %s does not match it "+
			"(set the key's current secret, unset both %s and %s, or delete the key)", id, EnvSecretAccessKey, EnvAccessKeyID, EnvSecretAccessKey)
	}
	return true, nil
}

// anyKeys reports whether at least one application key other than the
// master key exists.
func (s *Server) anyKeys(ctx context.Context) (bool, error) {
	const op = "authd.Start"
	var resp *metadatav1.ListKeysResponse
	err := retry(ctx, func() error {
		var err error
		resp, err = s.meta.ListKeys(ctx, &metadatav1.ListKeysRequest{PageSize: 2})
		return errs.FromStatus(op, err)
	})
	if err != nil {
		return false, fmt.Errorf("authd: list keys: %w", err)
	}
	for _, k := range resp.GetKeys() {
		if !k.GetMaster() {
			return true, nil
		}
	}
	return false, nil
}

// printGenerated shows a generated key once, with a hint for aws-cli. The
// secret goes to Out only, never to the log.
func (s *Server) printGenerated(id, secret string) {
	fmt.Fprintf(s.out, "\ncoffer: created the first application key, with every capability. The secret is shown only this once:\n"+
		"  access key id (applicationKeyId):   %s\n"+
		"  secret access key (applicationKey): %s\n"+
		"  try: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s aws --endpoint-url http://<gateway http address> s3 ls\n"+
		"  (set %s and %s to choose them yourself)\n\n",
		id, secret, id, secret, s.cfg.Region, EnvAccessKeyID, EnvSecretAccessKey)
}
