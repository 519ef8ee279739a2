package authd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/authd/kek"
	"github.com/coffer-project/coffer/authd/sigv4"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Deps are authd's dependencies.
type Deps struct {
	// Meta stores keys and the account. It should be a client built by
	// runtime.Dial, so that its errors are domain errors.
	Meta metadatav1.MetadataServiceClient
	// Log is the logger; nil means slog.Default().
	Log *slog.Logger
	// Out is where a generated bootstrap key is printed, once; nil means
	// os.Stdout. Secrets are never written to Log.
	Out io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the authd role: it implements authv1.AuthServiceServer and the
// app's Service contract (Register, Start, Stop, Ready). Its RPCs answer
// Unavailable until Start has finished.
type Server struct {
	authv1.UnsafeAuthServiceServer

	cfg      Config
	meta     metadatav1.MetadataServiceClient
	log      *slog.Logger
	out      io.Writer
	now      func() time.Time
	verifier *sigv4.Verifier

	state atomic.Pointer[state]
}

var _ authv1.AuthServiceServer = (*Server)(nil)

// state is what Start establishes; it never changes afterwards.
type state struct {
	kek       *kek.KEK
	accountID string
	// masterID is the account's master application key id.
	masterID string
	tokens   tokenSealer
	// dataKeys wraps SSE-B2 data keys (datakeys.go).
	dataKeys dataKeyWrapper
}

// New builds the authd role. It does no I/O; Start loads the KEK and
// bootstraps the account and first key.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Meta == nil {
		return nil, errors.New("authd: Deps.Meta is required")
	}
	if cfg.KEKFile == "" && cfg.DataDir == "" && os.Getenv(EnvClusterKey) == "" {
		return nil, fmt.Errorf("authd: data-dir or kek-file is required (or set %s)", EnvClusterKey)
	}
	s := &Server{cfg: cfg, meta: deps.Meta, log: deps.Log, out: deps.Out, now: deps.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.out == nil {
		s.out = os.Stdout
	}
	if s.now == nil {
		s.now = time.Now
	}
	// The skew is S3's fixed 15 minutes: the gateway checks request times
	// itself for credentials it has cached (gateway/authcache) with the same
	// constant, so the two must not be configurable apart.
	s.verifier = &sigv4.Verifier{Region: cfg.Region, StrictRegion: cfg.StrictRegion, MaxSkew: sigv4.DefaultMaxSkew, Now: s.now}
	return s, nil
}

// Register registers AuthService.
func (s *Server) Register(r grpc.ServiceRegistrar) { authv1.RegisterAuthServiceServer(r, s) }

// Start loads (or creates) the KEK, initialises the account through
// metadata, creates the bootstrap key when no key exists and the account's
// master key when it does not exist. It waits for metadata to become
// reachable, honouring ctx.
func (s *Server) Start(ctx context.Context) error {
	k, err := s.loadKEK()
	if err != nil {
		return err
	}
	accountID, err := s.initAccount(ctx)
	if err != nil {
		return err
	}
	dk, err := newDataKeyWrapper(k.Derive(dataKeyLabel), k.Version())
	if err != nil {
		return err
	}
	st := &state{kek: k, accountID: accountID, masterID: masterKeyID(accountID), tokens: tokenSealer{key: k.Derive(tokenMACLabel)},
		dataKeys: dk}
	if err := s.bootstrap(ctx, st); err != nil {
		return err
	}
	if err := s.ensureMaster(ctx, st); err != nil {
		return err
	}
	s.state.Store(st)
	s.log.Info("authd ready", "account_id", accountID, "kek_version", k.Version(), "region", s.cfg.Region)
	return nil
}

// Stop does nothing: authd holds no decrypted key between calls (every
// verification reads the key from metadata; the gateway caches what it may).
func (s *Server) Stop(ctx context.Context) error { return nil }

// Ready reports whether Start has completed.
func (s *Server) Ready() error {
	if s.state.Load() == nil {
		return errors.New("authd: not started")
	}
	return nil
}

// started returns the state, or Unavailable before Start has finished.
func (s *Server) started(op string) (*state, error) {
	st := s.state.Load()
	if st == nil {
		return nil, errs.Errorf(errs.Unavailable, op, "authd is starting")
	}
	return st, nil
}

// loadKEK takes COFFER_CLUSTER_KEY when set, else the KEK file (created on
// first start).
func (s *Server) loadKEK() (*kek.KEK, error) {
	if v := os.Getenv(EnvClusterKey); v != "" {
		k, err := kek.FromBase64(v)
		if err != nil {
			return nil, fmt.Errorf("authd: %s must be the base64 of %d bytes: %w", EnvClusterKey, kek.Size, err)
		}
		s.log.Info("using the key-encryption key from the environment", "env", EnvClusterKey, "kek_version", k.Version())
		return k, nil
	}
	path := s.cfg.KEKFile
	if path == "" {
		path = filepath.Join(s.cfg.DataDir, "kek")
	}
	k, created, err := kek.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authd: %w", err)
	}
	if created {
		s.log.Info("created a key-encryption key; every authd replica of this cluster must use the same one "+
			"(copy the file or set "+EnvClusterKey+")", "path", path, "kek_version", k.Version())
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		s.log.Warn("the key-encryption key file is readable by other users; chmod 600 it", "path", path, "mode", st.Mode().Perm().String())
	}
	return k, nil
}

// initAccount proposes a random account id; the stored one wins.
func (s *Server) initAccount(ctx context.Context) (string, error) {
	const op = "authd.Start"
	var resp *metadatav1.InitAccountResponse
	err := retry(ctx, func() error {
		var err error
		resp, err = s.meta.InitAccount(ctx, &metadatav1.InitAccountRequest{AccountId: randomHex(6)})
		return errs.FromStatus(op, err)
	})
	if err != nil {
		return "", fmt.Errorf("authd: init account: %w", err)
	}
	id := resp.GetAccount().GetAccountId()
	if id == "" {
		return "", errors.New("authd: init account: metadata returned no account id")
	}
	return id, nil
}

// retry runs f until it succeeds, fails with a non-retryable error, or ctx
// ends. Metadata may still be electing a leader when authd starts.
func retry(ctx context.Context, f func() error) error {
	delay := 50 * time.Millisecond
	for {
		err := f()
		if err == nil || !(errs.Retryable(err) || errs.Is(err, errs.Unavailable)) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		if delay *= 2; delay > 2*time.Second {
			delay = 2 * time.Second
		}
	}
}
