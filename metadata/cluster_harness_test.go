package metadata

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-project/coffer/metadata/metadatatest"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// testCluster is a group of in-process metadata nodes, each with its own
// runtime (gRPC over TCP) and Raft transport (TCP), bootstrapped from a
// peer list. With faults, node i dials node j's Raft transport through its
// own proxy links[i][j], so any link can be cut.
type testCluster struct {
	t     testing.TB
	cfgs  []Config
	deps  []Deps
	nodes []*node
	links [][]*metadatatest.Proxy // nil without faults
}

// clusterConfig is testConfig with Raft timeouts that survive a loaded
// 2-core machine running the race detector (300 ms heartbeat and election,
// so a failover takes about a second).
func clusterConfig(t testing.TB, id, raftAddr, peers string) Config {
	c := testConfig(t)
	c.NodeID, c.RaftAddr, c.Peers = id, raftAddr, peers
	c.HeartbeatTimeout, c.ElectionTimeout = 300*time.Millisecond, 300*time.Millisecond
	return c
}

// newCluster starts size nodes m1..mN from one peer list (Raft addresses
// only: the gRPC addresses reach the others through the address book).
func newCluster(t testing.TB, size int, faults bool, mut func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	addrs := metadatatest.FreePorts(t, size)
	var peers []string
	for i, a := range addrs {
		peers = append(peers, fmt.Sprintf("m%d=%s", i+1, a))
	}
	if faults {
		c.links = make([][]*metadatatest.Proxy, size)
		for i := range size {
			c.links[i] = make([]*metadatatest.Proxy, size)
			for j := range size {
				if i == j {
					continue
				}
				p, err := metadatatest.NewProxy(addrs[j])
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { p.Close() })
				c.links[i][j] = p
			}
		}
	}
	for i := range size {
		cfg := clusterConfig(t, fmt.Sprintf("m%d", i+1), addrs[i], strings.Join(peers, ","))
		if mut != nil {
			mut(&cfg)
		}
		var deps Deps
		if faults {
			deps.RaftDialAddress = func(id string) string {
				var j int
				fmt.Sscanf(id, "m%d", &j)
				if j < 1 || j > size || j-1 == i {
					return ""
				}
				return c.links[i][j-1].Addr()
			}
		}
		c.cfgs, c.deps = append(c.cfgs, cfg), append(c.deps, deps)
		c.nodes = append(c.nodes, nil)
	}
	var wg sync.WaitGroup
	for i := range size {
		wg.Add(1)
		go func() { defer wg.Done(); c.start(i) }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return c
}

// start (re)starts node i on its data directory; it is safe to call from
// several goroutines for different nodes.
func (c *testCluster) start(i int) {
	n := newNode(c.t, c.cfgs[i], c.deps[i])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.srv.Start(ctx); err != nil {
		c.t.Errorf("start %s: %v", c.cfgs[i].NodeID, err)
		n.stop()
		return
	}
	c.nodes[i] = n
}

// leader waits until every running node agrees on one leader and returns
// its position.
func (c *testCluster) leader() int {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ids := map[string]bool{}
		for _, n := range c.nodes {
			if n == nil || n.stopped {
				continue
			}
			id, _ := n.srv.Store().Leader()
			ids[id] = true
		}
		if len(ids) == 1 && !ids[""] {
			for i, n := range c.nodes {
				if n != nil && !n.stopped && n.srv.Store().IsLeader() {
					return i
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no agreed leader within 30s")
	return -1
}

// converge waits until every running node has applied the same index and
// holds the same state, and returns that index.
func (c *testCluster) converge() uint64 {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var idx []uint64
		var digests [][]byte
		for _, n := range c.nodes {
			if n == nil || n.stopped {
				continue
			}
			idx = append(idx, n.srv.Store().FSM().AppliedIndex())
			d, err := n.srv.Store().FSM().Digest()
			if err != nil {
				c.t.Fatal(err)
			}
			digests = append(digests, d)
		}
		same := true
		for k := range idx {
			same = same && idx[k] == idx[0] && bytes.Equal(digests[k], digests[0])
		}
		if same {
			return idx[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nodes did not converge: applied %v", idx)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isolate cuts (or, with heal, restores) every Raft link to and from node i.
func (c *testCluster) isolate(i int, heal bool) {
	for j := range c.links {
		for _, p := range []*metadatatest.Proxy{c.links[i][j], c.links[j][i]} {
			switch {
			case p == nil:
			case heal:
				p.Unblock()
			default:
				p.Block()
			}
		}
	}
}

// proposeAtLeader proposes cmd at whichever running node leads, following
// leadership changes for up to a minute. A proposal that found no leader
// or lost it on the way is sent again: with cmd's request id set, the state
// machine applies it once however many attempts reach the log. Any other
// error ends it. Unlike leader, it may be called from any goroutine.
func (c *testCluster) proposeAtLeader(cmd *fsmv1.Command) error {
	deadline := time.Now().Add(time.Minute)
	for {
		var err error = errs.Errorf(errs.NotLeader, "test.proposeAtLeader", "no running node leads")
		for _, n := range c.nodes {
			if n != nil && !n.stopped && n.srv.Store().IsLeader() {
				pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err = n.srv.Store().Propose(pctx, cmd)
				cancel()
				break
			}
		}
		if k := errs.KindOf(err); err == nil || (k != errs.NotLeader && k != errs.Unavailable) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// follower returns the position of some running node that is not the leader.
func (c *testCluster) follower(leader int) int {
	for i, n := range c.nodes {
		if i != leader && n != nil && !n.stopped {
			return i
		}
	}
	c.t.Fatal("no follower")
	return -1
}

func (c *testCluster) status(i int) *metadatav1.GetClusterStatusResponse {
	c.t.Helper()
	st, err := c.nodes[i].cluster.GetClusterStatus(ctx(c.t), &metadatav1.GetClusterStatusRequest{})
	if err != nil {
		c.t.Fatal(err)
	}
	return st
}
