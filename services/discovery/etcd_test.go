package discovery_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/naming/endpoints"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/discovery/etcdtest"
)

// healthServer is a gRPC server with only the health service, standing in
// for a role instance.
type healthServer struct {
	addr string
	hs   *health.Server
	srv  *grpc.Server
}

func startHealth(t *testing.T) *healthServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &healthServer{addr: lis.Addr().String(), hs: health.NewServer(), srv: grpc.NewServer()}
	healthpb.RegisterHealthServer(h.srv, h.hs)
	go h.srv.Serve(lis)
	t.Cleanup(h.srv.Stop)
	return h
}

func newEtcd(t *testing.T, endpoint, prefix string, ttl time.Duration) *discovery.Etcd {
	t.Helper()
	e, err := discovery.NewEtcd(discovery.EtcdOptions{Endpoints: []string{endpoint}, Prefix: prefix, LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func register(t *testing.T, e *discovery.Etcd, in discovery.Instance) *discovery.Registration {
	t.Helper()
	r, err := e.Register(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func dial(t *testing.T, d discovery.Discovery, role string) healthpb.HealthClient {
	t.Helper()
	target, err := d.Target(role)
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, d.DialOptions(role)...)
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return healthpb.NewHealthClient(cc)
}

// call makes one health call and returns the address that answered.
func call(t *testing.T, c healthpb.HealthClient) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var p peer.Peer
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p))
	if err != nil {
		return "", err
	}
	return p.Addr.String(), nil
}

// eventually retries cond every 50ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func endpointsOf(e *discovery.Etcd, role string) []string {
	eps, _ := e.Endpoints(context.Background(), role)
	return eps
}

// TestEtcdRegisterResolveAndBalance registers two instances, checks a
// connection to the etcd target reaches both (round robin), and that a
// deregistered one leaves the set and gets no more calls.
func TestEtcdRegisterResolveAndBalance(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := startHealth(t), startHealth(t)
	server := newEtcd(t, etcd.Endpoint, "rr", 5*time.Second)
	client := newEtcd(t, etcd.Endpoint, "rr", 5*time.Second)
	ra := register(t, server, discovery.Instance{Role: discovery.Authd, Addr: a.addr})
	register(t, server, discovery.Instance{Role: discovery.Authd, Addr: b.addr})

	want := []string{a.addr, b.addr}
	slices.Sort(want)
	eventually(t, 10*time.Second, "both instances listed", func() bool { return slices.Equal(endpointsOf(client, discovery.Authd), want) })
	hc := dial(t, client, discovery.Authd)
	hits := map[string]int{}
	eventually(t, 10*time.Second, "calls reach both instances", func() bool {
		addr, err := call(t, hc)
		if err != nil {
			t.Fatal(err)
		}
		hits[addr]++
		return len(hits) == 2
	})

	if err := ra.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the closed instance leaves the set", func() bool {
		return slices.Equal(endpointsOf(client, discovery.Authd), []string{b.addr})
	})
	// Give the resolver update a moment to reach the balancer, then every
	// call must go to b.
	time.Sleep(200 * time.Millisecond)
	for i := 0; i < 20; i++ {
		addr, err := call(t, hc)
		if err != nil {
			t.Fatal(err)
		}
		if addr != b.addr {
			t.Fatalf("call %d went to %s after it deregistered", i, addr)
		}
	}
	// The entries are in the naming/endpoints format: the etcd project's
	// own reader sees them.
	em, err := endpoints.NewManager(client.Client(), "rr/roles/authd")
	if err != nil {
		t.Fatal(err)
	}
	all, err := em.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all["rr/roles/authd/"+b.addr].Addr != b.addr {
		t.Fatalf("naming/endpoints sees %v", all)
	}
}

// TestEtcdLeaderFirst checks metadata calls go to the instance flagged as
// leader, follow the flag when it moves, and fall back to the others when
// the leader is gone.
func TestEtcdLeaderFirst(t *testing.T) {
	etcd := etcdtest.Start(t)
	nodes := []*healthServer{startHealth(t), startHealth(t), startHealth(t)}
	e := newEtcd(t, etcd.Endpoint, "lf", 5*time.Second)
	var regs []*discovery.Registration
	for i, n := range nodes {
		regs = append(regs, register(t, e, discovery.Instance{Role: discovery.Metadata, Addr: n.addr, NodeID: string(rune('a' + i)), Leader: i == 1}))
	}
	hc := dial(t, e, discovery.Metadata)
	onlyTo := func(addr string) bool {
		for i := 0; i < 10; i++ {
			got, err := call(t, hc)
			if err != nil || got != addr {
				return false
			}
		}
		return true
	}
	eventually(t, 10*time.Second, "every call goes to the leader", func() bool { return onlyTo(nodes[1].addr) })

	regs[1].Update(discovery.Instance{NodeID: "b"})
	regs[2].Update(discovery.Instance{NodeID: "c", Leader: true})
	eventually(t, 10*time.Second, "calls follow the leader flag", func() bool { return onlyTo(nodes[2].addr) })

	// The leader dies (its entry stays until the lease lapses): calls go
	// to the others at once.
	nodes[2].srv.Stop()
	eventually(t, 10*time.Second, "calls go to the others", func() bool {
		got, err := call(t, hc)
		return err == nil && got != nodes[2].addr
	})
	for i := 0; i < 20; i++ {
		if _, err := call(t, hc); err != nil {
			t.Fatalf("call %d with the leader dead: %v", i, err)
		}
	}
}

// TestEtcdOutageKeepsEndpoints stops etcd for longer than the lease TTL:
// resolved connections and Endpoints keep the instances they saw, and when
// etcd is back every registration is made again.
func TestEtcdOutageKeepsEndpoints(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := startHealth(t), startHealth(t)
	const ttl = 2 * time.Second
	e := newEtcd(t, etcd.Endpoint, "out", ttl)
	ra := register(t, e, discovery.Instance{Role: discovery.Blobstore, Addr: a.addr, NodeID: "node-a", Zone: "z1"})
	rb := register(t, e, discovery.Instance{Role: discovery.Blobstore, Addr: b.addr, NodeID: "node-b", Zone: "z2"})
	eventually(t, 10*time.Second, "both listed", func() bool { return len(endpointsOf(e, discovery.Blobstore)) == 2 })
	hc := dial(t, e, discovery.Blobstore)
	if _, err := call(t, hc); err != nil {
		t.Fatal(err)
	}

	etcd.Stop()
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if _, err := call(t, hc); err != nil {
			t.Fatalf("call during the etcd outage: %v", err)
		}
		if n := len(endpointsOf(e, discovery.Blobstore)); n != 2 {
			t.Fatalf("the outage changed the endpoint set to %d instances", n)
		}
	}
	if ra.Live() || rb.Live() {
		t.Fatal("registrations claim to be live while etcd is down")
	}

	etcd.Restart()
	eventually(t, ttl+5*time.Second, "registrations come back", func() bool { return ra.Live() && rb.Live() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := e.List(ctx, discovery.Blobstore)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("etcd lists %v after the outage", list)
	}
	for _, in := range list {
		want := map[string]string{a.addr: "node-a", b.addr: "node-b"}[in.Addr]
		if in.NodeID != want || in.Role != discovery.Blobstore || in.Zone == "" {
			t.Fatalf("instance %+v", in)
		}
	}
	// The old leases lapse after the restart; the re-made entries stay.
	time.Sleep(2 * ttl)
	if list, _ := e.List(ctx, discovery.Blobstore); len(list) != 2 {
		t.Fatalf("after the old leases lapsed etcd lists %v", list)
	}
}

// TestEtcdDeadInstanceLapses: an instance that dies without deregistering
// leaves the set once its lease lapses; the last instance of a role is
// never dropped from the view (an empty set would fail every call).
func TestEtcdDeadInstanceLapses(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := startHealth(t), startHealth(t)
	const ttl = 2 * time.Second
	watcher := newEtcd(t, etcd.Endpoint, "dead", ttl)
	live := newEtcd(t, etcd.Endpoint, "dead", ttl)
	register(t, live, discovery.Instance{Role: discovery.Corsd, Addr: a.addr})

	// The dying process: its own client, closed without deregistering.
	dying, err := discovery.NewEtcd(discovery.EtcdOptions{Endpoints: []string{etcd.Endpoint}, Prefix: "dead", LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := dying.Register(discovery.Instance{Role: discovery.Corsd, Addr: b.addr})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "both listed", func() bool { return len(endpointsOf(watcher, discovery.Corsd)) == 2 })
	_ = rd
	dying.Close() // keep-alives stop; the entry stays until the lease lapses
	eventually(t, ttl+5*time.Second, "the dead instance lapses", func() bool {
		return slices.Equal(endpointsOf(watcher, discovery.Corsd), []string{a.addr})
	})

	// Now the last one goes: the view keeps it.
	lastOnly := newEtcd(t, etcd.Endpoint, "dead", ttl)
	eventually(t, 10*time.Second, "a fresh reader sees it", func() bool { return len(endpointsOf(lastOnly, discovery.Corsd)) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := live.Client().Delete(ctx, "dead/roles/corsd/"+a.addr); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := endpointsOf(watcher, discovery.Corsd); !slices.Equal(got, []string{a.addr}) {
		t.Fatalf("after the last entry went the view is %v", got)
	}
}

// TestEtcdEndpointsWithoutEtcd: a first lookup with etcd unreachable fails
// after a bounded wait instead of hanging.
func TestEtcdEndpointsWithoutEtcd(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e := newEtcd(t, addr, "none", 2*time.Second)
	start := time.Now()
	if _, err := e.Endpoints(context.Background(), discovery.Blobstore); err == nil {
		t.Fatal("want an error with etcd unreachable")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the lookup took %v", d)
	}
}

// TestEtcdHealthChecked: an instance whose gRPC health turns NOT_SERVING
// (a process shutting down sets it first) gets no more calls while it is
// still registered, and gets them again once it serves.
func TestEtcdHealthChecked(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := startHealth(t), startHealth(t)
	e := newEtcd(t, etcd.Endpoint, "hc", 5*time.Second)
	register(t, e, discovery.Instance{Role: discovery.Corsd, Addr: a.addr})
	register(t, e, discovery.Instance{Role: discovery.Corsd, Addr: b.addr})
	hc := dial(t, e, discovery.Corsd)
	hits := map[string]int{}
	eventually(t, 10*time.Second, "calls reach both instances", func() bool {
		addr, err := call(t, hc)
		if err != nil {
			t.Fatal(err)
		}
		hits[addr]++
		return len(hits) == 2
	})
	a.hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	onlyB := func() bool {
		for i := 0; i < 10; i++ {
			if addr, err := call(t, hc); err != nil || addr != b.addr {
				return false
			}
		}
		return true
	}
	eventually(t, 10*time.Second, "calls avoid the NOT_SERVING instance", onlyB)
	a.hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hits = map[string]int{}
	eventually(t, 10*time.Second, "calls reach it again", func() bool {
		addr, err := call(t, hc)
		if err != nil {
			t.Fatal(err)
		}
		hits[addr]++
		return hits[a.addr] > 0
	})
}
