package discovery

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
)

// Role names, as used by `coffer serve --roles`.
const (
	Metadata  = "metadata"
	Blobstore = "blobstore"
	Authd     = "authd"
	Corsd     = "corsd"
	Gateway   = "gateway"
)

// Roles lists every role, in start order (every role after the roles it calls).
var Roles = []string{Metadata, Blobstore, Authd, Corsd, Gateway}

// Discovery finds the gRPC endpoints of roles. Implementations are safe for
// concurrent use.
type Discovery interface {
	// Target returns a gRPC dial target that balances over every instance of role.
	Target(role string) (string, error)
	// DialOptions are the options a connection to Target(role) needs (its
	// resolver and balancing policy); nil when the defaults do.
	DialOptions(role string) []grpc.DialOption
	// Endpoints lists the instances of role (each blobstore node, for example).
	Endpoints(ctx context.Context, role string) ([]string, error)
}

// EnvEtcdEndpoints, when set, is the default of --etcd-endpoints, so that
// `coffer admin` inside a container finds the cluster's etcd by itself.
const EnvEtcdEndpoints = "COFFER_ETCD_ENDPOINTS"

// DefaultLeaseTTL is how long a registration outlives its process: a killed
// instance disappears from discovery at most this long after its death.
const DefaultLeaseTTL = 10 * time.Second

// Config says how roles find each other: static addresses per role (empty
// means "this process"), or etcd.
type Config struct {
	MetadataAddrs  string `yaml:"metadata_addrs"`
	BlobstoreAddrs string `yaml:"blobstore_addrs"`
	AuthdAddrs     string `yaml:"authd_addrs"`
	CorsdAddrs     string `yaml:"corsd_addrs"`

	// EtcdEndpoints, comma-separated etcd client URLs or host:port, turns
	// on etcd discovery: every role registers under a lease and finds the
	// others through etcd. The static address lists must then be empty.
	EtcdEndpoints string `yaml:"etcd_endpoints"`
	// EtcdPrefix is the key prefix of this cluster's registrations, so
	// that several clusters (or tests) may share one etcd.
	EtcdPrefix string `yaml:"etcd_prefix"`
	// LeaseTTL is the registrations' lease TTL.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Advertise is the gRPC address this process registers (the one other
	// roles dial). Empty means the bound gRPC address, or this host's name
	// with the bound port when it listens on every interface.
	Advertise string `yaml:"advertise"`
}

// RegisterFlags registers the discovery flags.
func (c *Config) RegisterFlags(prefix string, fs *flag.FlagSet) {
	fs.StringVar(&c.MetadataAddrs, prefix+"metadata-addrs", "", "comma-separated gRPC addresses of metadata nodes (empty: this process)")
	fs.StringVar(&c.BlobstoreAddrs, prefix+"blobstore-addrs", "", "comma-separated gRPC addresses of blobstore nodes (empty: this process)")
	fs.StringVar(&c.AuthdAddrs, prefix+"authd-addrs", "", "comma-separated gRPC addresses of authd (empty: this process)")
	fs.StringVar(&c.CorsdAddrs, prefix+"corsd-addrs", "", "comma-separated gRPC addresses of corsd (empty: this process)")
	fs.StringVar(&c.EtcdEndpoints, prefix+"etcd-endpoints", os.Getenv(EnvEtcdEndpoints), "comma-separated etcd endpoints: register every role there and discover the others through it (default $"+EnvEtcdEndpoints+"; empty: static addresses)")
	fs.StringVar(&c.EtcdPrefix, prefix+"etcd-prefix", "coffer", "etcd key prefix of this cluster's registrations")
	fs.DurationVar(&c.LeaseTTL, prefix+"etcd-lease-ttl", DefaultLeaseTTL, "lease TTL of the etcd registrations (how long a dead instance stays listed)")
	fs.StringVar(&c.Advertise, prefix+"advertise-addr", "", "gRPC address registered in etcd for other roles to dial (default: the bound grpc-addr, or hostname:port when it listens on every interface)")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.EtcdEndpoints == "" {
		return nil
	}
	switch {
	case c.MetadataAddrs != "" || c.BlobstoreAddrs != "" || c.AuthdAddrs != "" || c.CorsdAddrs != "":
		return errors.New("discovery: etcd-endpoints and the static *-addrs flags exclude each other")
	case c.EtcdPrefix == "" || strings.ContainsAny(c.EtcdPrefix, " \t\n"):
		return errors.New("discovery: etcd-prefix must be non-empty without spaces")
	case c.LeaseTTL < 2*time.Second:
		return errors.New("discovery: etcd-lease-ttl must be at least 2s (etcd's minimum)")
	}
	if c.Advertise != "" {
		if _, _, err := splitHostPort(c.Advertise); err != nil {
			return fmt.Errorf("discovery: advertise-addr: %w", err)
		}
	}
	return nil
}

// UsesEtcd reports whether discovery goes through etcd.
func (c *Config) UsesEtcd() bool { return c.EtcdEndpoints != "" }

// Static builds a Static from the config, with self standing in for roles
// whose addresses are not configured.
func (c *Config) Static(self string) *Static {
	pick := func(s string) []string {
		if s == "" {
			return []string{self}
		}
		return splitAddrs(s)
	}
	return NewStatic(map[string][]string{
		Metadata:  pick(c.MetadataAddrs),
		Blobstore: pick(c.BlobstoreAddrs),
		Authd:     pick(c.AuthdAddrs),
		Corsd:     pick(c.CorsdAddrs),
	})
}

func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Static is a fixed role → addresses map.
type Static struct {
	id    string
	addrs map[string][]string
}

// staticScheme is the gRPC resolver scheme for Static targets. Targets look
// like "coffer-static://<registry id>/<role>" so several Static maps (one per
// in-process test cluster) can coexist.
const staticScheme = "coffer-static"

var (
	registerOnce sync.Once
	registryMu   sync.Mutex
	registry     = map[string]*Static{}
	nextID       int
)

// NewStatic returns a Static for the given map.
func NewStatic(addrs map[string][]string) *Static {
	registerOnce.Do(func() { resolver.Register(staticBuilder{}) })
	registryMu.Lock()
	defer registryMu.Unlock()
	nextID++
	s := &Static{id: fmt.Sprintf("s%d", nextID), addrs: map[string][]string{}}
	for role, list := range addrs {
		s.addrs[role] = append([]string(nil), list...)
	}
	registry[s.id] = s
	return s
}

// Target implements Discovery.
func (s *Static) Target(role string) (string, error) {
	if len(s.addrs[role]) == 0 {
		return "", fmt.Errorf("discovery: no address for role %q", role)
	}
	if len(s.addrs[role]) == 1 {
		return "passthrough:///" + s.addrs[role][0], nil
	}
	return staticScheme + "://" + s.id + "/" + role, nil
}

// DialOptions implements Discovery: static targets need no extra option.
func (s *Static) DialOptions(string) []grpc.DialOption { return nil }

// Endpoints implements Discovery.
func (s *Static) Endpoints(_ context.Context, role string) ([]string, error) {
	list := s.addrs[role]
	if len(list) == 0 {
		return nil, fmt.Errorf("discovery: no address for role %q", role)
	}
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out, nil
}

type staticBuilder struct{}

func (staticBuilder) Scheme() string { return staticScheme }

func (staticBuilder) Build(t resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	registryMu.Lock()
	s := registry[t.URL.Host]
	registryMu.Unlock()
	if s == nil {
		return nil, errors.New("discovery: unknown static registry " + t.URL.Host)
	}
	role := strings.TrimPrefix(t.URL.Path, "/")
	var state resolver.State
	for _, a := range s.addrs[role] {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	if err := cc.UpdateState(state); err != nil {
		return nil, err
	}
	return nopResolver{}, nil
}

type nopResolver struct{}

func (nopResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (nopResolver) Close()                                {}
