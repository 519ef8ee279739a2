package discovery

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	// Registers the client side of gRPC health checking, which the
	// service config of etcd targets turns on.
	_ "google.golang.org/grpc/health"
)

// Instance is what one role instance publishes about itself. It is the
// Metadata of a go.etcd.io/etcd/client/v3/naming/endpoints entry (stored as
// JSON), whose Addr is the gRPC address; any reader of that format (the
// stock etcd gRPC resolver included) sees the addresses.
type Instance struct {
	// Role is the role's name (Metadata, Blobstore, ...).
	Role string `json:"role"`
	// Addr is the gRPC address other roles dial.
	Addr string `json:"addr"`
	// NodeID is the node's stable id: the Raft server id of a metadata
	// node, the node id (kept in its data directory) of a blobstore node.
	NodeID string `json:"node_id,omitempty"`
	// Zone is a blobstore node's failure domain, for placement.
	Zone string `json:"zone,omitempty"`
	// Leader is set on the metadata node that is the Raft leader (as it last
	// saw itself): metadata clients send their calls there first.
	Leader bool `json:"leader,omitempty"`
	// Term is the Raft term in which a metadata node saw itself leader:
	// while an old leader's entry lingers (its lease not yet lapsed), the
	// flag with the highest term wins.
	Term uint64 `json:"term,omitempty"`
	// HTTP is a gateway's HTTP address (S3, B2 and R2-style APIs).
	HTTP string `json:"http,omitempty"`
	// Version is the coffer version the instance runs.
	Version string `json:"version,omitempty"`
}

// EtcdOptions configure NewEtcd.
type EtcdOptions struct {
	// Endpoints are etcd client URLs (http://host:port) or host:port.
	Endpoints []string
	// Prefix is the key prefix of this cluster's registrations.
	Prefix string
	// LeaseTTL is the TTL of registration leases (0: DefaultLeaseTTL).
	LeaseTTL time.Duration
	// Log receives registration and watch trouble; nil discards.
	Log *slog.Logger
	// TLS, when set, is the client's TLS configuration (etcd with
	// --client-cert-auth): endpoints without a scheme then use TLS too.
	TLS *tls.Config
}

// Etcd is discovery through etcd. Each role instance registers under
// <prefix>/roles/<role>/<addr>, in the naming/endpoints format, attached to
// a lease it keeps alive (Register). Readers keep one watched set per role
// (roleSet): gRPC connections resolve etcd:///<prefix>/roles/<role> from it,
// and Endpoints lists it.
//
// etcd is only ever a hint for where to connect. Nothing on the data path
// waits for it: during an etcd outage every set keeps the endpoints it last
// saw, and registrations are re-made when etcd answers again.
type Etcd struct {
	cli     *clientv3.Client
	prefix  string
	ttl     time.Duration
	log     *slog.Logger
	builder *etcdBuilder

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	sets map[string]*roleSet
}

// NewEtcd returns etcd discovery over a (lazily connecting) etcd client:
// it does not wait for etcd to answer.
func NewEtcd(opts EtcdOptions) (*Etcd, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("discovery: no etcd endpoint")
	}
	if opts.Prefix == "" {
		return nil, errors.New("discovery: empty etcd prefix")
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: opts.Endpoints,
		TLS:       opts.TLS,
		// A short timeout for the client's own setup calls; every call
		// we make carries its own deadline.
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		// The client logs every retry during an outage; our loops log
		// what matters (a registration lost, a watch restarted) once.
		Logger: zap.NewNop(),
		// gRPC's default reconnect backoff grows to two minutes: after an
		// outage of one, registrations would wait that long for etcd. A
		// few seconds at most keeps re-registration within the lease TTL.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 3 * time.Second,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("discovery: etcd client: %w", err)
	}
	e := &Etcd{
		cli:    cli,
		prefix: strings.TrimSuffix(opts.Prefix, "/"),
		ttl:    opts.LeaseTTL,
		log:    log,
		sets:   map[string]*roleSet{},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.builder = &etcdBuilder{e: e}
	return e, nil
}

// Close stops every watch and registration loop and closes the client. It
// does not deregister: call Registration.Close first for that.
func (e *Etcd) Close() error {
	e.cancel()
	e.wg.Wait()
	return e.cli.Close()
}

// Client is the underlying etcd client (for tools).
func (e *Etcd) Client() *clientv3.Client { return e.cli }

// roleKey is the naming/endpoints target of a role: every instance's key
// lies under roleKey + "/".
func (e *Etcd) roleKey(role string) string { return e.prefix + "/roles/" + role }

// Target implements Discovery: etcd:///<prefix>/roles/<role>, resolved by
// the resolver DialOptions installs.
func (e *Etcd) Target(role string) (string, error) {
	if role == "" || strings.Contains(role, "/") {
		return "", fmt.Errorf("discovery: bad role %q", role)
	}
	return etcdScheme + ":///" + e.roleKey(role), nil
}

// DialOptions implements Discovery: the etcd resolver (per connection, so
// that several Etcd instances may live in one process), the leader-first
// balancer with round robin among the rest, and gRPC health checking, so an
// instance that is shutting down (NOT_SERVING) is left out at once.
func (e *Etcd) DialOptions(string) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithResolvers(e.builder),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"` + leaderFirstName + `":{}}],"healthCheckConfig":{"serviceName":""}}`),
	}
}

// Endpoints implements Discovery: the gRPC addresses of role's instances,
// sorted, from the watched set. On the first call for a role it waits (at
// most firstSyncWait, and within ctx) for the first read from etcd.
func (e *Etcd) Endpoints(ctx context.Context, role string) ([]string, error) {
	insts, err := e.Instances(ctx, role)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(insts))
	for _, in := range insts {
		out = append(out, in.Addr)
	}
	return out, nil
}

// firstSyncWait bounds how long a first lookup waits for etcd. Afterwards a
// lookup never waits: it answers from the watched set.
const firstSyncWait = 5 * time.Second

// Instances returns role's instances (sorted by address) from the watched
// set, waiting for the first read from etcd as Endpoints does.
func (e *Etcd) Instances(ctx context.Context, role string) ([]Instance, error) {
	s, err := e.set(role)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, firstSyncWait)
	defer cancel()
	select {
	case <-s.synced:
	case <-ctx.Done():
		// Not synced yet: an empty view is the honest answer below.
	}
	view := s.current()
	if len(view) == 0 {
		return nil, fmt.Errorf("discovery: no %s instance registered in etcd (or etcd unreachable)", role)
	}
	return view, nil
}

// List reads role's instances from etcd now (not from the watched set),
// for tools that run once.
func (e *Etcd) List(ctx context.Context, role string) ([]Instance, error) {
	resp, err := e.cli.Get(ctx, e.roleKey(role)+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("discovery: etcd: %w", err)
	}
	var out []Instance
	for _, kv := range resp.Kvs {
		if in, ok := decodeInstance(role, kv.Value); ok {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b Instance) int { return strings.Compare(a.Addr, b.Addr) })
	return out, nil
}

// set returns the watched set of role, starting its watch on first use.
func (e *Etcd) set(role string) (*roleSet, error) {
	if role == "" || strings.Contains(role, "/") {
		return nil, fmt.Errorf("discovery: bad role %q", role)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.sets[role]; s != nil {
		return s, nil
	}
	s := newRoleSet(role)
	e.sets[role] = s
	e.wg.Go(func() { e.watchLoop(s) })
	return s, nil
}

// watchLoop keeps s in step with etcd: a full read, then a watch from the
// revision after it; when the watch fails (etcd gone, compacted, lost its
// leader) it starts over after a pause. Nothing here ever empties s because
// etcd is unreachable.
func (e *Etcd) watchLoop(s *roleSet) {
	pause := 100 * time.Millisecond
	for e.ctx.Err() == nil {
		err := e.syncOnce(s)
		if e.ctx.Err() != nil {
			return
		}
		if s.hasSynced() {
			e.log.Debug("etcd watch ended; keeping the endpoints last seen", "role", s.role, "err", err)
		}
		select {
		case <-e.ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// syncOnce reads the role's entries and follows them until the watch ends.
func (e *Etcd) syncOnce(s *roleSet) error {
	key := e.roleKey(s.role) + "/"
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	resp, err := e.cli.Get(ctx, key, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return err
	}
	all := map[string]Instance{}
	for _, kv := range resp.Kvs {
		if in, ok := decodeInstance(s.role, kv.Value); ok {
			all[string(kv.Key)] = in
		}
	}
	s.replace(all)
	// WithRequireLeader ends the watch when the member it talks to has no
	// leader (a partitioned etcd member), so we move to a live one.
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(e.ctx))
	defer wcancel()
	for wr := range e.cli.Watch(wctx, key, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			switch ev.Type {
			case clientv3.EventTypePut:
				if in, ok := decodeInstance(s.role, ev.Kv.Value); ok {
					all[string(ev.Kv.Key)] = in
				}
			case clientv3.EventTypeDelete:
				delete(all, string(ev.Kv.Key))
			}
		}
		s.replace(all)
	}
	return errors.New("watch closed")
}

// entry is the stored JSON of a naming/endpoints entry
// (go.etcd.io/etcd/client/v3/naming/endpoints/internal.Update).
type entry struct {
	Op       uint8
	Addr     string
	Metadata json.RawMessage
}

// decodeInstance decodes one entry; entries without an address are skipped.
func decodeInstance(role string, b []byte) (Instance, bool) {
	var en entry
	if err := json.Unmarshal(b, &en); err != nil || en.Addr == "" || en.Op != 0 {
		return Instance{}, false
	}
	var in Instance
	if len(en.Metadata) > 0 {
		// Entries written by other tools may carry other metadata: the
		// address is what matters.
		_ = json.Unmarshal(en.Metadata, &in)
	}
	in.Role, in.Addr = role, en.Addr
	return in, true
}

// roleSet is the watched set of one role's instances. Its view is what
// resolvers and Endpoints see.
type roleSet struct {
	role   string
	synced chan struct{} // closed after the first read from etcd

	once sync.Once

	mu     sync.Mutex
	view   []Instance // sorted by Addr; never replaced by an empty set
	leader string     // Addr of the instance flagged Leader, or ""
	subs   map[*etcdResolver]struct{}
}

func newRoleSet(role string) *roleSet {
	return &roleSet{role: role, synced: make(chan struct{}), subs: map[*etcdResolver]struct{}{}}
}

func (s *roleSet) hasSynced() bool {
	select {
	case <-s.synced:
		return true
	default:
		return false
	}
}

// replace installs the instances read from etcd. An empty set does not
// replace a non-empty view (spec/reliability.md §4.5): with no instance
// registered — every lease lapsed, or etcd restored from an old state — the
// last ones seen are still the best guess, and dialing a dead address costs
// only a failed connection, while an empty view would fail every call.
func (s *roleSet) replace(all map[string]Instance) {
	view := make([]Instance, 0, len(all))
	leader, term := "", uint64(0)
	for _, in := range all {
		view = append(view, in)
		if in.Leader && (leader == "" || in.Term > term || in.Term == term && in.Addr < leader) {
			leader, term = in.Addr, in.Term
		}
	}
	slices.SortFunc(view, func(a, b Instance) int { return strings.Compare(a.Addr, b.Addr) })
	view = slices.CompactFunc(view, func(a, b Instance) bool { return a.Addr == b.Addr })
	s.mu.Lock()
	if len(view) > 0 || len(s.view) == 0 {
		s.view, s.leader = view, leader
	}
	for r := range s.subs {
		r.kick()
	}
	s.mu.Unlock()
	s.once.Do(func() { close(s.synced) })
}

// current returns the view.
func (s *roleSet) current() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.view)
}

// leaderAddr returns the address flagged as leader ("" when none is).
func (s *roleSet) leaderAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leader
}

// subscribe makes r hear of every change (and of the current view at once).
func (s *roleSet) subscribe(r *etcdResolver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[r] = struct{}{}
	r.kick()
}

func (s *roleSet) unsubscribe(r *etcdResolver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, r)
}

// splitHostPort is net.SplitHostPort requiring a host and a port.
func splitHostPort(addr string) (string, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", err
	}
	if host == "" || port == "" {
		return "", "", fmt.Errorf("%q: want host:port", addr)
	}
	return host, port, nil
}
