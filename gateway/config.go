package gateway

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/gateway/bucketcache"
	"github.com/coffer-project/coffer/gateway/objects"
)

// Config configures the gateway.
type Config struct {
	HTTPAddr       string `yaml:"http_addr"`
	Region         string `yaml:"region"`
	Domains        string `yaml:"domains"`
	MaxObjectSize  int64  `yaml:"max_object_size"`
	MaxHeaderBytes int    `yaml:"max_header_bytes"`
	MaxInflight    int    `yaml:"max_inflight"`
	// MaxInflightAnonymous bounds the requests without credentials among
	// MaxInflight (0: a quarter of it), so anonymous clients cannot take
	// every slot from authenticated ones.
	MaxInflightAnonymous int `yaml:"max_inflight_anonymous"`
	// StallTimeout is how long a request may make no progress reading its
	// body or writing its response before it is dropped and its slot freed.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// AccessLog logs one line per request at INFO (request id, key id,
	// operation, bucket, status, bytes, duration; never URLs, signatures
	// or tokens).
	AccessLog         bool          `yaml:"access_log"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// AuthCacheSize bounds the credentials (keys and B2 tokens) the gateway
	// verifies without asking authd; AuthCacheMaxAge bounds how long one is
	// used. Key changes reach the cache through metadata's watch stream
	// (gateway/authcache); the age is only a backstop.
	AuthCacheSize   int           `yaml:"auth_cache_size"`
	AuthCacheMaxAge time.Duration `yaml:"auth_cache_max_age"`
	// PublicURL is the base URL clients reach the gateway at (scheme, host,
	// port), advertised by b2_authorize_account as apiUrl, downloadUrl and
	// s3ApiUrl and used in B2 upload URLs. Empty: taken from each
	// request's Host, right whenever clients reach the gateway directly.
	PublicURL string `yaml:"public_url"`
	// TLSCert and TLSKey, when set, make the gateway serve HTTPS (and
	// HTTP/2) with this certificate and key, read again whenever the files
	// change. Empty: plain HTTP.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// B2TestMode honours B2's X-Bz-Test-Mode header (simulated upload
	// failures, token expiries and cap errors for client retry tests).
	B2TestMode bool `yaml:"b2_test_mode"`
	// InlineMaxSize is the largest single-part object (its stored size,
	// sealed for SSE) kept in metadata instead of a blob (0: never); see
	// gateway/objects/inline.go.
	InlineMaxSize int64 `yaml:"inline_max_size"`
	// B2RecommendedPartSize is the part size b2_authorize_account
	// advertises; clients (the console too) upload larger files as large
	// files in parts of this size.
	B2RecommendedPartSize int64 `yaml:"b2_recommended_part_size"`
	// ConsoleAddr is the web console's listen address (gateway/console);
	// empty turns the console off. When the default address is taken the
	// gateway runs without a console and says so; any other address must
	// bind.
	ConsoleAddr string `yaml:"console_addr"`
	// ConsoleGatewayPort is the gateway's port as the console's users
	// reach it, for the URLs the console shows (Endpoint, Friendly URL...)
	// when there is no PublicURL: behind a port mapping (docker's -p) the
	// listener's own port is not the one users see. Empty: the listener's.
	ConsoleGatewayPort string `yaml:"console_gateway_port"`
	// BucketCacheSize bounds the buckets the gateway looks up without a
	// metadata read (0: no cache, every request reads its bucket);
	// BucketCacheMaxAge bounds how long one is used. Changes reach the
	// cache through metadata's watch stream (gateway/bucketcache).
	BucketCacheSize   int           `yaml:"bucket_cache_size"`
	BucketCacheMaxAge time.Duration `yaml:"bucket_cache_max_age"`
}

// DefaultConsoleAddr is the console's default listen address, next to the
// gateway's default 127.0.0.1:9000.
const DefaultConsoleAddr = "127.0.0.1:9001"

// Part sizes B2 allows (spec/b2-native.md §9).
const (
	minPartSize = 5_000_000
	maxPartSize = 5_000_000_000
)

// RegisterFlags registers the gateway's flags under prefix and sets defaults.
func (c *Config) RegisterFlags(prefix string, fs *flag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, prefix+"http-addr", "127.0.0.1:9000", "gateway HTTP listen address (S3, B2 and R2-style APIs on one port)")
	fs.StringVar(&c.Region, prefix+"region", "us-east-1", "S3 region advertised by the gateway")
	fs.StringVar(&c.Domains, prefix+"domains", "localhost,s3.localhost", "comma-separated base host names for virtual-hosted-style S3 requests (<bucket>.<domain>)")
	fs.Int64Var(&c.MaxObjectSize, prefix+"max-object-size", 5<<30, "largest single-part upload in bytes")
	fs.IntVar(&c.MaxHeaderBytes, prefix+"max-header-bytes", 64<<10, "largest request header section in bytes")
	fs.IntVar(&c.MaxInflight, prefix+"max-inflight", 1024, "requests served at once before answering 503 (S3 SlowDown, B2 service_unavailable, R2 429)")
	fs.IntVar(&c.MaxInflightAnonymous, prefix+"max-inflight-anonymous", 0, "requests without credentials served at once, within max-inflight (0: a quarter of max-inflight)")
	fs.BoolVar(&c.AccessLog, prefix+"access-log", true, "log one line per HTTP request at INFO (no URLs, signatures or tokens)")
	fs.DurationVar(&c.StallTimeout, prefix+"stall-timeout", 60*time.Second, "a request that reads none of its body or writes none of its response for this long is dropped")
	fs.DurationVar(&c.ReadHeaderTimeout, prefix+"read-header-timeout", 10*time.Second, "time allowed to read request headers")
	fs.DurationVar(&c.IdleTimeout, prefix+"idle-timeout", 120*time.Second, "keep-alive idle timeout")
	fs.IntVar(&c.AuthCacheSize, prefix+"auth-cache-size", authcache.DefaultMaxEntries, "credentials (keys and B2 tokens) the gateway verifies without asking authd")
	fs.StringVar(&c.PublicURL, prefix+"public-url", "", "base URL clients reach the gateway at, advertised by b2_authorize_account (default: each request's Host)")
	fs.StringVar(&c.TLSCert, prefix+"tls-cert", "", "PEM certificate (chain) the gateway serves HTTPS with; reloaded when the file changes (`coffer cert dev` makes one for trying)")
	fs.StringVar(&c.TLSKey, prefix+"tls-key", "", "PEM private key of --tls-cert; reloaded when the file changes")
	fs.BoolVar(&c.B2TestMode, prefix+"b2-test-mode", false, "honour B2's X-Bz-Test-Mode header (simulated failures for client retry tests; never in production)")
	fs.IntVar(&c.BucketCacheSize, prefix+"bucket-cache-size", bucketcache.DefaultMaxEntries, "buckets looked up without a metadata read, kept current by metadata's watch stream (0: read the bucket on every request)")
	fs.DurationVar(&c.BucketCacheMaxAge, prefix+"bucket-cache-max-age", bucketcache.DefaultMaxAge, "longest a cached bucket is used; changes reach the cache at once through metadata's watch stream")
	fs.Int64Var(&c.InlineMaxSize, prefix+"inline-max-size", objects.DefaultInlineMax, "largest object (stored bytes) kept in metadata instead of a blob: one Raft commit per PUT, one metadata read per GET (0: never)")
	fs.Int64Var(&c.B2RecommendedPartSize, prefix+"b2-recommended-part-size", 100_000_000, "part size b2_authorize_account recommends (5000000 to 5000000000 bytes); larger files are uploaded as large files")
	fs.StringVar(&c.ConsoleAddr, prefix+"console-addr", DefaultConsoleAddr, "web console listen address (empty: no console); it also serves the B2 API for the browser")
	fs.StringVar(&c.ConsoleGatewayPort, prefix+"console-gateway-port", "", "the gateway's port as console users reach it (behind a port mapping), for the URLs the console shows; default: --public-url, else the gateway listener's port")
	fs.DurationVar(&c.AuthCacheMaxAge, prefix+"auth-cache-max-age", authcache.DefaultMaxAge, "longest a cached credential is used; key changes reach the cache at once through metadata's watch stream")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.HTTPAddr == "" {
		return errors.New("gateway: http-addr is required")
	}
	if c.Region == "" {
		return errors.New("gateway: region is required")
	}
	if c.AuthCacheSize <= 0 || c.AuthCacheMaxAge <= 0 {
		return errors.New("gateway: auth-cache-size and auth-cache-max-age must be positive")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return errors.New("gateway: public-url must be an http(s) URL with a host and no path, e.g. https://b2.example.com")
		}
	}
	if c.MaxInflightAnonymous < 0 || c.MaxInflightAnonymous > c.MaxInflight {
		return errors.New("gateway: max-inflight-anonymous must be between 0 and max-inflight")
	}
	if c.StallTimeout < time.Second {
		return errors.New("gateway: stall-timeout must be at least 1s")
	}
	if c.BucketCacheSize < 0 || (c.BucketCacheSize > 0 && c.BucketCacheMaxAge <= 0) {
		return errors.New("gateway: bucket-cache-size must not be negative, bucket-cache-max-age must be positive")
	}
	if c.InlineMaxSize < 0 || c.InlineMaxSize > objects.MaxInlineSize {
		return fmt.Errorf("gateway: inline-max-size must be between 0 and %d", objects.MaxInlineSize)
	}
	if c.B2RecommendedPartSize < minPartSize || c.B2RecommendedPartSize > maxPartSize {
		return errors.New("gateway: b2-recommended-part-size must be from 5000000 to 5000000000 bytes")
	}
	if p := c.ConsoleGatewayPort; p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("gateway: console-gateway-port must be a port number")
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("gateway: tls-cert and tls-key go together")
	}
	if c.MaxObjectSize <= 0 || c.MaxInflight <= 0 || c.MaxHeaderBytes < 4096 {
		return errors.New("gateway: max-object-size and max-inflight must be positive, max-header-bytes at least 4096")
	}
	return nil
}

// DomainList splits Domains.
func (c *Config) DomainList() []string {
	var out []string
	for _, d := range strings.Split(c.Domains, ",") {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			out = append(out, d)
		}
	}
	return out
}
