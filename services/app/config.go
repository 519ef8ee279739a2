package app

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/coffer-project/coffer/authd"
	"github.com/coffer-project/coffer/blobstore"
	blobclient "github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/corsd"
	"github.com/coffer-project/coffer/gateway"
	"github.com/coffer-project/coffer/metadata"
	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/runtime"
)

// Config is the whole configuration of one coffer process: shared settings
// plus one section per role. Flags and an optional YAML file (--config) set
// it; `coffer config --print` shows the effective result.
type Config struct {
	Roles     string           `yaml:"roles"`
	DataDir   string           `yaml:"data_dir"`
	Runtime   runtime.Config   `yaml:"runtime"`
	Discovery discovery.Config `yaml:"discovery"`
	Metadata  metadata.Config  `yaml:"metadata"`
	Blobstore blobstore.Config `yaml:"blobstore"`
	// EC is how the gateway's blobstore client codes new blobs.
	EC      blobclient.Config `yaml:"ec"`
	Authd   authd.Config      `yaml:"authd"`
	Corsd   corsd.Config      `yaml:"corsd"`
	Gateway gateway.Config    `yaml:"gateway"`
}

// RegisterFlags registers every flag and sets every default. The process-wide
// flags (--roles, --data-dir, the listener addresses, --http-addr) carry no
// prefix; role flags are prefixed with the role name.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Roles, "roles", "all", "comma-separated roles to run: all, or any of metadata, blobstore, authd, corsd, gateway")
	fs.StringVar(&c.DataDir, "data-dir", "./coffer-data", "directory under which each role keeps its data")
	c.Runtime.RegisterFlags("", fs)
	c.Discovery.RegisterFlags("", fs)
	c.Gateway.RegisterFlags("", fs)
	c.Metadata.RegisterFlags("metadata.", fs)
	c.Blobstore.RegisterFlags("blobstore.", fs)
	c.EC.RegisterFlags("ec.", fs)
	c.Authd.RegisterFlags("authd.", fs)
	c.Corsd.RegisterFlags("corsd.", fs)
}

// Validate checks every section.
func (c *Config) Validate() error {
	if _, err := ExpandRoles(c.Roles); err != nil {
		return err
	}
	if c.DataDir == "" {
		return errors.New("data-dir is required")
	}
	return errors.Join(c.Runtime.Validate(), c.Discovery.Validate(), c.Metadata.Validate(),
		c.Blobstore.Validate(), c.EC.Validate(), c.Authd.Validate(), c.Corsd.Validate(), c.Gateway.Validate())
}

// fillDataDirs gives every role that has no data directory of its own one
// under the shared data directory.
func (c *Config) fillDataDirs() {
	set := func(dir *string, role string) {
		if *dir == "" {
			*dir = filepath.Join(c.DataDir, role)
		}
	}
	set(&c.Metadata.DataDir, discovery.Metadata)
	set(&c.Blobstore.DataDir, discovery.Blobstore)
	set(&c.Authd.DataDir, discovery.Authd)
}

// ParseConfig builds a Config from defaults, then the YAML file named by
// --config (if any), then the flags given explicitly.
func ParseConfig(name string, args []string) (*Config, *flag.FlagSet, error) {
	cfg := &Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	configFile := fs.String("config", "", "YAML configuration file (flags override it)")
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return nil, fs, err
		}
		// Defaults → file → explicit flags: decode the file over the
		// defaults, then parse the flags again so explicit ones win.
		if err := yaml.Unmarshal(b, cfg); err != nil {
			return nil, fs, fmt.Errorf("%s: %w", *configFile, err)
		}
		if err := fs.Parse(args); err != nil {
			return nil, fs, err
		}
	}
	cfg.fillDataDirs()
	return cfg, fs, cfg.Validate()
}
