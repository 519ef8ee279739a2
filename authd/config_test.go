package authd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func defaults(t *testing.T) (*Config, *flag.FlagSet) {
	t.Helper()
	c := &Config{}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags("authd.", fs)
	return c, fs
}

func TestConfigDefaults(t *testing.T) {
	t.Setenv(EnvAccessKeyID, "env-id")
	t.Setenv(EnvSecretAccessKey, "env-secret-value")
	t.Setenv(EnvMasterSecret, "env-master-secret")
	c, fs := defaults(t)
	if c.MasterSecret != "env-master-secret" || c.Region != "us-east-1" || c.StrictRegion || c.BootstrapKeyID != "env-id" || c.BootstrapSecret != "env-secret-value" {
		t.Fatalf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "env-secret-value") || strings.Contains(help.String(), "env-master-secret") {
		t.Fatal("-help shows a secret")
	}
	for _, name := range []string{"data-dir", "kek-file", "bootstrap-key-id", "bootstrap-secret", "master-secret", "region", "strict-region"} {
		if fs.Lookup("authd."+name) == nil {
			t.Errorf("flag authd.%s missing", name)
		}
	}
	if err := fs.Parse([]string{"-authd.bootstrap-secret=from-the-flag", "-authd.master-secret=master-from-flag", "-authd.region=eu-central-003", "-authd.strict-region"}); err != nil {
		t.Fatal(err)
	}
	if c.BootstrapSecret != "from-the-flag" || c.MasterSecret != "master-from-flag" || c.Region != "eu-central-003" || !c.StrictRegion {
		t.Fatalf("parsed %+v", c)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Setenv(EnvAccessKeyID, "")
	t.Setenv(EnvSecretAccessKey, "")
	t.Setenv(EnvMasterSecret, "")
	base, _ := defaults(t)
	for name, mod := range map[string]func(*Config){
		"short master secret": func(c *Config) { c.MasterSecret = "short" },
		"empty region":        func(c *Config) { c.Region = "" },
		"region with slash":   func(c *Config) { c.Region = "us/east" },
		"id without secret":   func(c *Config) { c.BootstrapKeyID = "id" },
		"secret without id":   func(c *Config) { c.BootstrapSecret = "secret-value" },
		"id with colon":       func(c *Config) { c.BootstrapKeyID, c.BootstrapSecret = "a:b", "secret-value" },
		"id with space":       func(c *Config) { c.BootstrapKeyID, c.BootstrapSecret = "a b", "secret-value" },
		"short secret":        func(c *Config) { c.BootstrapKeyID, c.BootstrapSecret = "id", "short" },
		"control in secret":   func(c *Config) { c.BootstrapKeyID, c.BootstrapSecret = "id", "secret\x00value" },
		"non-ascii secret":    func(c *Config) { c.BootstrapKeyID, c.BootstrapSecret = "id", "sécret-value" },
		"id of 129 bytes":     func(c *Config) { c.BootstrapKeyID, c.BootstrapSecret = strings.Repeat("a", 129), "secret-value" },
		"secret of 129 char":  func(c *Config) { c.BootstrapKeyID, c.BootstrapSecret = "id", Secret(strings.Repeat("s", 129)) },
	} {
		c := *base
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := *base
	ok.BootstrapKeyID, ok.BootstrapSecret = "AKIA.example_key-1", "a secret with spaces"
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestNewRequirements(t *testing.T) {
	t.Setenv(EnvClusterKey, "")
	c, _ := defaults(t)
	c.BootstrapKeyID, c.BootstrapSecret = "", ""
	if _, err := New(*c, Deps{}); err == nil {
		t.Error("accepted without Meta")
	}
	meta := metadatav1.NewMetadataServiceClient(nil)
	if _, err := New(*c, Deps{Meta: meta}); err == nil {
		t.Error("accepted without data dir or KEK")
	}
	c.DataDir = t.TempDir()
	s, err := New(*c, Deps{Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	// Before Start: not ready, and RPCs answer Unavailable.
	if s.Ready() == nil {
		t.Fatal("ready before Start")
	}
	if _, err := s.VerifySigV4(context.Background(), &authv1.VerifySigV4Request{}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("VerifySigV4 before Start: %v", err)
	}
	if _, err := s.CreateKey(context.Background(), &authv1.CreateKeyRequest{}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("CreateKey before Start: %v", err)
	}
}

func TestGeneratedIdentifiers(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		id, secret := newKeyID(), newSecret()
		if len(id) != 25 || !strings.HasPrefix(id, "00") || validKeyID(id) != nil {
			t.Fatalf("key id %q", id)
		}
		if len(secret) != 31 || !strings.HasPrefix(secret, "K00") || validSecret(secret) != nil {
			t.Fatalf("secret %q", secret)
		}
		if seen[id] || seen[secret] {
			t.Fatal("repeated identifier")
		}
		seen[id], seen[secret] = true, true
	}
	if a := randomHex(6); len(a) != 12 {
		t.Fatalf("account id %q", a)
	}
}

// Secrets in the configuration print as "<redacted>" however they are
// printed; the value is still there for the code that needs it.
func TestSecretsDoNotPrint(t *testing.T) {
	c, _ := defaults(t)
	c.BootstrapSecret, c.MasterSecret = "bootstrap-secret-value", "master-secret-value"
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "cfg", c, "master", c.MasterSecret)
	for _, s := range []string{string(out), fmt.Sprintf("%v %+v %#v %s", c, c, c, c.MasterSecret), buf.String()} {
		if strings.Contains(s, "secret-value") || !strings.Contains(s, "<redacted>") {
			t.Fatalf("printed:\n%s", s)
		}
	}
	if string(c.MasterSecret) != "master-secret-value" {
		t.Fatal("the value is lost")
	}
	var back Config
	if err := yaml.Unmarshal([]byte("master_secret: from-yaml-file\n"), &back); err != nil || string(back.MasterSecret) != "from-yaml-file" {
		t.Fatalf("a secret cannot be read from YAML: %v %q", err, back.MasterSecret)
	}
	var empty Secret
	if empty.String() != "" {
		t.Fatal("an empty secret prints as set")
	}
}
