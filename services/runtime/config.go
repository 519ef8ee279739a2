package runtime

import (
	"errors"
	"flag"
	"time"
)

// Config configures the listeners and logs of one process.
type Config struct {
	GRPCAddr        string        `yaml:"grpc_addr"`
	AdminAddr       string        `yaml:"admin_addr"`
	LogLevel        string        `yaml:"log_level"`
	LogFormat       string        `yaml:"log_format"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// DebugPprof serves /debug/pprof on the admin listener. Off by default:
	// profiles cost CPU on demand and show the process's internals to
	// whoever reaches the admin port.
	DebugPprof bool `yaml:"debug_pprof"`
	// MTLSCA, MTLSCert and MTLSKey turn on mutual TLS between roles: the
	// cluster CA every peer's certificate must chain to, and this
	// process's certificate (naming its roles) and key. All three or none;
	// none is plaintext, which is safe on loopback only.
	MTLSCA   string `yaml:"mtls_ca"`
	MTLSCert string `yaml:"mtls_cert"`
	MTLSKey  string `yaml:"mtls_key"`
}

// RegisterFlags registers the flags under prefix and sets the defaults.
func (c *Config) RegisterFlags(prefix string, fs *flag.FlagSet) {
	fs.StringVar(&c.GRPCAddr, prefix+"grpc-addr", "127.0.0.1:9100", "gRPC listen address (internal traffic between roles)")
	fs.StringVar(&c.AdminAddr, prefix+"admin-addr", "127.0.0.1:9101", "admin HTTP listen address: /healthz, /readyz, /metrics, and /debug/pprof with --debug-pprof (empty: off)")
	fs.BoolVar(&c.DebugPprof, prefix+"debug-pprof", false, "serve Go's profiler under /debug/pprof on the admin listener (its cmdline page shows the command line with secret values redacted)")
	fs.StringVar(&c.LogLevel, prefix+"log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, prefix+"log-format", "text", "log format: text or json")
	fs.StringVar(&c.MTLSCA, prefix+"mtls-ca", "", "cluster CA (PEM): with --mtls-cert and --mtls-key, every gRPC call between roles, the Raft transport and etcd use mutual TLS and each call is authorized by the caller's role (coffer cert ca / issue)")
	fs.StringVar(&c.MTLSCert, prefix+"mtls-cert", "", "this process's certificate from the cluster CA, naming the roles it runs (reloaded when the file changes)")
	fs.StringVar(&c.MTLSKey, prefix+"mtls-key", "", "the private key of --mtls-cert")
	fs.DurationVar(&c.ShutdownTimeout, prefix+"shutdown-timeout", 20*time.Second, "how long a graceful stop may take before connections are cut")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.GRPCAddr == "" {
		return errors.New("runtime: grpc-addr is required")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return errors.New("runtime: log-format must be text or json")
	}
	if n := count(c.MTLSCA != "", c.MTLSCert != "", c.MTLSKey != ""); n != 0 && n != 3 {
		return errors.New("runtime: mtls-ca, mtls-cert and mtls-key go together")
	}
	return nil
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// MTLS reports whether mutual TLS between roles is configured.
func (c *Config) MTLS() bool { return c.MTLSCA != "" }
