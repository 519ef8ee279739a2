package discovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
	"google.golang.org/grpc/resolver"
)

// etcdScheme is the scheme of etcd targets: etcd:///<prefix>/roles/<role>,
// as with the etcd project's own resolver (go.etcd.io/etcd/client/v3/naming/resolver).
const etcdScheme = "etcd"

// etcdBuilder builds resolvers over an Etcd's watched role sets. It is handed
// to each connection with grpc.WithResolvers, never registered globally, so
// each connection resolves through the Etcd (and etcd cluster) it was dialed
// with.
//
// Why not the etcd project's resolver: it reads the same entries, but it
// stops for good when its watch fails (compaction, a member without leader),
// blocks its Build until etcd answers, and passes on an empty address list;
// spec/reliability.md §4.5 asks that an etcd error or an empty result never
// clear what a client knows.
type etcdBuilder struct{ e *Etcd }

func (b *etcdBuilder) Scheme() string { return etcdScheme }

// Build subscribes a resolver to the target's role set; the first addresses
// come from the set's current view (at once when the set is already synced).
func (b *etcdBuilder) Build(t resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	path := strings.TrimPrefix(t.URL.Path, "/")
	if path == "" {
		path = t.URL.Opaque
	}
	role, ok := strings.CutPrefix(path, b.e.prefix+"/roles/")
	if !ok {
		return nil, fmt.Errorf("discovery: target %q is not under %s/roles/", t.URL.String(), b.e.prefix)
	}
	set, err := b.e.set(role)
	if err != nil {
		return nil, err
	}
	r := &etcdResolver{cc: cc, set: set, kickc: make(chan struct{}, 1)}
	r.ctx, r.cancel = context.WithCancel(b.e.ctx)
	r.wg.Go(r.run)
	set.subscribe(r)
	return r, nil
}

// etcdResolver hands its role set's view to one gRPC connection.
type etcdResolver struct {
	cc     resolver.ClientConn
	set    *roleSet
	kickc  chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// kick tells the resolver the view may have changed (never blocks).
func (r *etcdResolver) kick() {
	select {
	case r.kickc <- struct{}{}:
	default:
	}
}

// run pushes the latest view whenever it changed. One goroutine per
// resolver means pushes never race one another (the latest always wins),
// and the role set never calls into gRPC under its lock.
func (r *etcdResolver) run() {
	var last []Instance
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.kickc:
		}
		view := r.set.current()
		if len(view) == 0 || slices.Equal(view, last) {
			continue
		}
		last = view
		addrs := make([]resolver.Address, len(view))
		for i, in := range view {
			// The attribute is the same pointer for every update, so gRPC
			// sees an unchanged address (no reconnection) when only the
			// leader flag moved; the picker reads the flag from the set.
			addrs[i] = resolver.Address{Addr: in.Addr, BalancerAttributes: attributes.New(roleSetKey{}, r.set)}
		}
		_ = r.cc.UpdateState(resolver.State{Addresses: addrs})
	}
}

// ResolveNow does nothing: the watch pushes every change.
func (r *etcdResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close stops the resolver.
func (r *etcdResolver) Close() {
	r.set.unsubscribe(r)
	r.cancel()
	r.wg.Wait()
}

// roleSetKey is the balancer attribute carrying an address's role set.
type roleSetKey struct{}

// leaderFirstName is the load-balancing policy of etcd targets.
const leaderFirstName = "coffer_leader_first"

func init() {
	balancer.Register(base.NewBalancerBuilder(leaderFirstName, leaderPickerBuilder{}, base.Config{HealthCheck: true}))
}

// leaderPickerBuilder builds leaderPickers over the ready connections.
type leaderPickerBuilder struct{}

// Build implements base.PickerBuilder.
func (leaderPickerBuilder) Build(info base.PickerBuildInfo) balancer.Picker {
	if len(info.ReadySCs) == 0 {
		return base.NewErrPicker(balancer.ErrNoSubConnAvailable)
	}
	p := &leaderPicker{}
	for sc, sci := range info.ReadySCs {
		p.scs = append(p.scs, sc)
		p.addrs = append(p.addrs, sci.Address.Addr)
		if set, ok := sci.Address.BalancerAttributes.Value(roleSetKey{}).(*roleSet); ok {
			p.set = set
		}
	}
	return p
}

// leaderPicker sends every call to the instance flagged as leader when its
// connection is ready — a metadata client then reaches the Raft leader
// without the forwarding hop — and otherwise round-robins over the ready
// connections (any metadata node forwards to the leader; other roles have no
// leader, so they are plain round robin).
type leaderPicker struct {
	scs   []balancer.SubConn
	addrs []string
	set   *roleSet
	mu    sync.Mutex
	next  int
}

// Pick implements balancer.Picker.
func (p *leaderPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	if p.set != nil {
		if l := p.set.leaderAddr(); l != "" {
			for i, a := range p.addrs {
				if a == l {
					return balancer.PickResult{SubConn: p.scs[i]}, nil
				}
			}
		}
	}
	p.mu.Lock()
	i := p.next % len(p.scs)
	p.next++
	p.mu.Unlock()
	return balancer.PickResult{SubConn: p.scs[i]}, nil
}
