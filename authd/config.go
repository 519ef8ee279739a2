package authd

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
)

// Environment variables read by authd.
const (
	// EnvAccessKeyID and EnvSecretAccessKey default the bootstrap key.
	EnvAccessKeyID     = "COFFER_ACCESS_KEY_ID"
	EnvSecretAccessKey = "COFFER_SECRET_ACCESS_KEY"
	// EnvClusterKey, base64 of 32 bytes, is the KEK; it overrides KEKFile.
	// Every authd replica of a cluster must be given the same value.
	EnvClusterKey = "COFFER_CLUSTER_KEY"
	// EnvMasterSecret defaults the secret of the account's master key.
	EnvMasterSecret = "COFFER_MASTER_APPLICATION_KEY"
)

// Config configures authd.
type Config struct {
	// DataDir holds authd's local files; the app sets it to <data-dir>/authd.
	DataDir string `yaml:"data_dir"`
	// KEKFile is the key-encryption key file; "" means <DataDir>/kek. It is
	// created (mode 0600, 32 random bytes) at first start when missing.
	// COFFER_CLUSTER_KEY, when set, is used instead.
	KEKFile string `yaml:"kek_file"`
	// BootstrapKeyID and BootstrapSecret, when set, are the id and secret of
	// the key created at first start (defaults: COFFER_ACCESS_KEY_ID and
	// COFFER_SECRET_ACCESS_KEY). When empty, a key is generated and printed.
	BootstrapKeyID  string `yaml:"bootstrap_key_id"`
	BootstrapSecret Secret `yaml:"bootstrap_secret"`
	// MasterSecret, when set, is the secret of the account's master key
	// (B2 native API only), created at first start with the id
	// "000" + accountId + "0000000000". Default: COFFER_MASTER_APPLICATION_KEY;
	// when empty, a secret is generated and printed once.
	MasterSecret Secret `yaml:"master_secret"`
	// Region is the S3 region we advertise. Any region in a SigV4 credential
	// scope is accepted unless StrictRegion is set.
	Region       string `yaml:"region"`
	StrictRegion bool   `yaml:"strict_region"`
}

// Secret is a configured secret. Wherever a configuration is shown — as
// YAML (coffer config), with fmt or through slog — a set secret reads
// "<redacted>"; string(s) is the value. Making the type unprintable means no
// printer has to remember to redact it.
type Secret string

// String returns "<redacted>" for a set secret, "" for an empty one.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalYAML shows the secret as String does.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue shows the secret as String does.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// RegisterFlags registers the flags under prefix and sets the defaults. The
// bootstrap secret's default (from the environment) is never shown in
// -help output.
func (c *Config) RegisterFlags(prefix string, fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, prefix+"data-dir", "", "authd data directory (set by the app to <data-dir>/authd)")
	fs.StringVar(&c.KEKFile, prefix+"kek-file", "", "key-encryption key file (default <authd data dir>/kek, created on first start); "+EnvClusterKey+" overrides it")
	fs.StringVar(&c.BootstrapKeyID, prefix+"bootstrap-key-id", os.Getenv(EnvAccessKeyID), "access key id of the key created on first start (default $"+EnvAccessKeyID+"; generated when empty)")
	c.BootstrapSecret = Secret(os.Getenv(EnvSecretAccessKey))
	fs.Func(prefix+"bootstrap-secret", "secret of the key created on first start (default $"+EnvSecretAccessKey+"; generated when empty)", func(s string) error {
		c.BootstrapSecret = Secret(s)
		return nil
	})
	c.MasterSecret = Secret(os.Getenv(EnvMasterSecret))
	fs.Func(prefix+"master-secret", "secret of the account's master key, created on first start (default $"+EnvMasterSecret+"; generated and printed once when empty)", func(s string) error {
		c.MasterSecret = Secret(s)
		return nil
	})
	fs.StringVar(&c.Region, prefix+"region", "us-east-1", "S3 region advertised to clients")
	fs.BoolVar(&c.StrictRegion, prefix+"strict-region", false, "refuse SigV4 credentials scoped to another region")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if !visibleASCII(c.Region, 64) || containsAny(c.Region, "/,") {
		return errors.New("authd: region must be 1-64 visible ASCII characters without '/' or ','")
	}
	if (c.BootstrapKeyID == "") != (c.BootstrapSecret == "") {
		return fmt.Errorf("authd: set both %s and %s (or bootstrap-key-id and bootstrap-secret), or neither", EnvAccessKeyID, EnvSecretAccessKey)
	}
	if c.BootstrapKeyID != "" {
		if err := validKeyID(c.BootstrapKeyID); err != nil {
			return fmt.Errorf("authd: bootstrap key id: %w", err)
		}
		if err := validSecret(string(c.BootstrapSecret)); err != nil {
			return fmt.Errorf("authd: bootstrap secret: %w", err)
		}
	}
	if c.MasterSecret != "" {
		if err := validSecret(string(c.MasterSecret)); err != nil {
			return fmt.Errorf("authd: master secret: %w", err)
		}
	}
	return nil
}

// validKeyID accepts ids usable in a SigV4 credential and in B2 Basic auth:
// 1-128 visible ASCII characters, none of '/', ',', ':' or '='.
func validKeyID(id string) error {
	if !visibleASCII(id, 128) || containsAny(id, "/,:=") {
		return errors.New("must be 1-128 visible ASCII characters without '/', ',', ':' or '='")
	}
	return nil
}

// validSecret accepts 8-128 printable ASCII characters (space allowed).
func validSecret(s string) error {
	if len(s) < 8 || len(s) > 128 {
		return errors.New("must be 8-128 characters")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return errors.New("must be printable ASCII")
		}
	}
	return nil
}

func visibleASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}
