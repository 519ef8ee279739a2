package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/reedsolomon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// spaceRefresh is how long the client trusts what it knows of the nodes
// (which are up, their free space) before it asks again.
const spaceRefresh = 10 * time.Second

// nodeInfoTimeout bounds one GetNodeInfo call made for placement, so that an
// unreachable node delays a Put by at most this much.
const nodeInfoTimeout = 2 * time.Second

// Node is one blobstore node: its stable id and a client for it.
type Node struct {
	ID     string
	Client blobv1.BlobServiceClient
	// Shards, when set, moves the bytes of this node's shards instead of
	// Client: the node lives in this process (Config.Local). Control calls
	// always use Client.
	Shards ShardIO
}

// shards is how the bytes of the node's shards move.
func (n Node) shards() ShardIO {
	if n.Shards != nil {
		return n.Shards
	}
	return GRPCShards(n.Client)
}

// NodeStatus is what the client last learnt of a node.
type NodeStatus struct {
	Node
	// Up is whether the node answered the last probe with its id.
	Up bool
	// FreeBytes is its free space then (-1 when it did not answer).
	FreeBytes int64
}

// Lookup returns a client for every blobstore node (discovery). It is
// called again at every refresh, so nodes may come, go, or come back with
// a new id after a disk replacement.
type Lookup func(ctx context.Context) ([]blobv1.BlobServiceClient, error)

// Client stores blobs on blobstore nodes: whole (k=1, m=0) or cut into
// Reed–Solomon shards on k+m distinct nodes. It is safe for concurrent use.
type Client struct {
	cfg    Config
	geom   geometry // of new blobs
	lookup Lookup   // nil: the nodes given to New, fixed
	rr     atomic.Uint64

	// refresh is held by the one goroutine probing the nodes; others use
	// the view they have rather than wait.
	refresh sync.Mutex
	view    atomic.Pointer[view]

	encMu sync.Mutex
	encs  map[[2]int]reedsolomon.Encoder

	sizes   sizeCache
	reports reporter
}

// view is an immutable snapshot of the nodes, replaced as a whole.
type view struct {
	nodes   []Node
	byID    map[string]int
	free    []int64 // -1: unknown or failing
	up      []bool
	probed  bool // false until the first probe: every node counts as up
	checked time.Time
}

// withLocal sets the local path of the nodes Config.Local knows.
func (c *Client) withLocal(nodes []Node) []Node {
	if c.cfg.Local == nil {
		return nodes
	}
	for i := range nodes {
		if nodes[i].Shards == nil {
			nodes[i].Shards = c.cfg.Local(nodes[i].ID)
		}
	}
	return nodes
}

func newView(nodes []Node, free []int64, up []bool, probed bool) *view {
	v := &view{nodes: nodes, byID: make(map[string]int, len(nodes)), free: free, up: up, probed: probed, checked: time.Now()}
	if !probed {
		v.checked = time.Time{}
	}
	for i, n := range nodes {
		v.byID[n.ID] = i
	}
	return v
}

// New returns a client over a fixed set of nodes. nodes must be non-empty
// with distinct, non-empty ids (see Discover).
func New(nodes []Node, cfg Config) (*Client, error) {
	const op = "blobclient.New"
	c, err := newClient(op, cfg)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "at least one blobstore node is required")
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if n.ID == "" || n.Client == nil {
			return nil, errs.Errorf(errs.InvalidArgument, op, "node without id or client")
		}
		if seen[n.ID] {
			return nil, errs.Errorf(errs.InvalidArgument, op, "node %s listed twice", n.ID)
		}
		seen[n.ID] = true
	}
	nodes = c.withLocal(slices.Clone(nodes))
	free := make([]int64, len(nodes))
	up := make([]bool, len(nodes))
	for i := range free {
		free[i], up[i] = -1, true
	}
	c.view.Store(newView(nodes, free, up, false))
	return c, nil
}

// Open returns a client over the nodes lookup finds, asking each for its
// node id; it fails only when no node answers. The node set is refreshed
// from lookup as the client goes, so nodes that were down at Open (or whose
// disk was replaced, giving them a new id) are picked up.
func Open(ctx context.Context, lookup Lookup, cfg Config) (*Client, error) {
	const op = "blobclient.Open"
	c, err := newClient(op, cfg)
	if err != nil {
		return nil, err
	}
	if lookup == nil {
		return nil, errs.Errorf(errs.InvalidArgument, op, "lookup is required")
	}
	c.lookup = lookup
	c.view.Store(newView(nil, nil, nil, false))
	if err := c.Refresh(ctx); err != nil {
		return nil, err
	}
	if len(c.view.Load().nodes) == 0 {
		return nil, errs.Errorf(errs.Unavailable, op, "no blobstore node answered")
	}
	return c, nil
}

func newClient(op string, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, errs.E(errs.InvalidArgument, op, err)
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:   cfg,
		geom:  geometry{k: cfg.DataShards, m: cfg.ParityShards, s: int64(cfg.StripeSize)},
		encs:  map[[2]int]reedsolomon.Encoder{},
		sizes: sizeCache{max: sizeCacheEntries},
	}
	c.reports.init(c)
	if c.cfg.DataShards > 1 || c.cfg.ParityShards > 0 {
		if _, err := c.encoder(c.geom); err != nil {
			return nil, errs.E(errs.InvalidArgument, op, err)
		}
	}
	return c, nil
}

// Config is the client's configuration, with defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// Nodes returns the nodes the client knows.
func (c *Client) Nodes() []Node { return slices.Clone(c.view.Load().nodes) }

// Status returns what the client last learnt of each node.
func (c *Client) Status() []NodeStatus {
	v := c.view.Load()
	out := make([]NodeStatus, len(v.nodes))
	for i, n := range v.nodes {
		out[i] = NodeStatus{Node: n, Up: v.up[i], FreeBytes: v.free[i]}
	}
	return out
}

// Node returns the node with the given id.
func (c *Client) Node(id string) (Node, bool) {
	v := c.view.Load()
	i, ok := v.byID[id]
	if !ok {
		return Node{}, false
	}
	return v.nodes[i], true
}

// encoder returns a (shared, concurrency-safe) Reed–Solomon encoder for g.
func (c *Client) encoder(g geometry) (reedsolomon.Encoder, error) {
	c.encMu.Lock()
	defer c.encMu.Unlock()
	key := [2]int{g.k, g.m}
	if e := c.encs[key]; e != nil {
		return e, nil
	}
	e, err := reedsolomon.New(g.k, g.m)
	if err != nil {
		return nil, err
	}
	c.encs[key] = e
	return e, nil
}

// Discover asks each node client for its node id. It returns the nodes that
// answered, in input order; err joins the failures (and names duplicates:
// two clients reaching one node), so a caller may go on with a partial set
// or retry.
func Discover(ctx context.Context, clients []blobv1.BlobServiceClient) ([]Node, error) {
	nodes, _, _, err := probe(ctx, clients)
	return nodes, err
}

// probe asks every client for its node info in parallel and returns the
// nodes that answered (in input order, duplicates dropped), their free
// space, and for every client the index of its node in that list (-1: no
// answer).
func probe(ctx context.Context, clients []blobv1.BlobServiceClient) ([]Node, []int64, []int, error) {
	const op = "blobclient.Discover"
	infos := make([]*blobv1.GetNodeInfoResponse, len(clients))
	errl := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, nodeInfoTimeout)
			defer cancel()
			resp, err := cl.GetNodeInfo(ctx, &blobv1.GetNodeInfoRequest{})
			if err != nil {
				errl[i] = fmt.Errorf("blobstore node %d: %w", i, errs.FromStatus(op, err))
				return
			}
			infos[i] = resp
		})
	}
	wg.Wait()
	var nodes []Node
	var free []int64
	at := make([]int, len(clients))
	seen := map[string]bool{}
	for i, in := range infos {
		at[i] = -1
		switch {
		case errl[i] != nil:
		case in.GetNodeId() == "":
			errl[i] = errs.Errorf(errs.Internal, op, "blobstore node %d reported no node id", i)
		case seen[in.GetNodeId()]:
			errl[i] = errs.Errorf(errs.InvalidArgument, op, "blobstore nodes reach node %s twice", in.GetNodeId())
		default:
			seen[in.GetNodeId()] = true
			at[i] = len(nodes)
			nodes = append(nodes, Node{ID: in.GetNodeId(), Client: clients[i]})
			free = append(free, in.GetFreeBytes())
		}
	}
	return nodes, free, at, errors.Join(errl...)
}

// NewBlobID returns a random blob id (32 hex digits). Blob ids must never be
// derived from object keys (spec/reliability.md I7), and random ids also
// spread blobs evenly over a node's directories.
func NewBlobID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Delete removes the blob's shards from their nodes. It is idempotent.
// Shards on nodes that cannot be reached, and copies a repair left behind,
// are the garbage collector's: once no committed version references the
// blob, every node removes its shards of it.
func (c *Client) Delete(ctx context.Context, p *metadatav1.BlobPlacement) error {
	const op = "blobclient.Delete"
	if err := checkPlacement(op, p); err != nil {
		return err
	}
	var mu sync.Mutex
	var failed []error
	var wg sync.WaitGroup
	for _, s := range p.GetShards() {
		wg.Go(func() {
			n, err := c.node(op, s.GetNodeId())
			if err == nil {
				_, err = n.Client.DeleteBlob(ctx, &blobv1.DeleteBlobRequest{BlobId: ShardID(p, int(s.GetIndex()))})
				err = errs.FromStatus(op, err)
			}
			if err != nil {
				mu.Lock()
				failed = append(failed, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// One shard's error is returned as is so that its Kind survives.
	if len(failed) == 1 {
		return failed[0]
	}
	return errors.Join(failed...)
}

func (c *Client) node(op, id string) (Node, error) {
	n, ok := c.Node(id)
	if !ok {
		return Node{}, errs.Errorf(errs.Unavailable, op, "unknown blobstore node").WithDetail("node_id", id)
	}
	return n, nil
}

// checkPlacement accepts the placements this client can read: one whole
// copy (k=1, m=0) with shard 0 on a named node, or k+m shards with distinct
// indexes below k+m on named nodes (fewer than k+m when some were lost or
// never written; reads need k of them).
func checkPlacement(op string, p *metadatav1.BlobPlacement) error {
	bad := func(format string, args ...any) error {
		return errs.Errorf(errs.InvalidArgument, op, format, args...).WithDetail("blob_id", p.GetBlobId())
	}
	if p == nil || p.GetBlobId() == "" {
		return errs.Errorf(errs.InvalidArgument, op, "placement without a blob id")
	}
	k, m := int(p.GetDataShards()), int(p.GetParityShards())
	if !IsErasureCoded(p) {
		if len(p.GetShards()) != 1 || p.GetShards()[0].GetIndex() != 0 || p.GetShards()[0].GetNodeId() == "" {
			return bad("placement must name the node of shard 0")
		}
		return nil
	}
	switch {
	case k < 1 || m < 0 || k+m > MaxShards:
		return bad("placement has %d+%d shards", k, m)
	case p.GetStripeSize() < 1 || p.GetStripeSize() > MaxStripeSize:
		return bad("placement has a bad stripe size")
	}
	seen := make([]bool, k+m)
	for _, s := range p.GetShards() {
		i := int(s.GetIndex())
		if i >= k+m || seen[i] || s.GetNodeId() == "" {
			return bad("placement has a bad shard list")
		}
		seen[i] = true
	}
	return nil
}

// Refresh asks every node for its id and free space now. Other callers
// keep using the previous view while it runs.
func (c *Client) Refresh(ctx context.Context) error {
	c.refresh.Lock()
	defer c.refresh.Unlock()
	return c.probeLocked(ctx)
}

// probeLocked refreshes the view; c.refresh is held.
func (c *Client) probeLocked(ctx context.Context) error {
	// The answer is shared by every caller, so one caller's cancellation
	// must not make all nodes look unreachable.
	ctx = context.WithoutCancel(ctx)
	old := c.view.Load()
	if c.lookup == nil {
		clients := make([]blobv1.BlobServiceClient, len(old.nodes))
		for i, n := range old.nodes {
			clients[i] = n.Client
		}
		found, freeFound, at, _ := probe(ctx, clients)
		free := make([]int64, len(old.nodes))
		up := make([]bool, len(old.nodes))
		for i, n := range old.nodes {
			free[i] = -1
			// A node answering with another id is not this node (its
			// disk was replaced): it is not up as far as n is concerned.
			if j := at[i]; j >= 0 && found[j].ID == n.ID {
				free[i], up[i] = freeFound[j], true
			}
		}
		c.view.Store(newView(old.nodes, free, up, true))
		return nil
	}
	clients, err := c.lookup(ctx)
	if err != nil {
		return errs.E(errs.Unavailable, "blobclient.Refresh", err)
	}
	found, free, _, _ := probe(ctx, clients)
	found = c.withLocal(found)
	up := make([]bool, len(found))
	for i := range up {
		up[i] = true
	}
	// Nodes known before that did not answer stay known (down), so that
	// placements naming them resolve and a read tries them again once they
	// are back; writes only ever go to nodes that answered.
	seen := map[string]bool{}
	for _, n := range found {
		seen[n.ID] = true
	}
	for _, n := range old.nodes {
		if !seen[n.ID] {
			found = append(found, n)
			free = append(free, -1)
			up = append(up, false)
		}
	}
	c.view.Store(newView(found, free, up, true))
	return nil
}

// current returns the view, refreshing it first when it is stale (and no
// one else is refreshing it).
func (c *Client) current(ctx context.Context) *view {
	v := c.view.Load()
	if time.Since(v.checked) <= spaceRefresh || !c.refresh.TryLock() {
		return v
	}
	defer c.refresh.Unlock()
	_ = c.probeLocked(ctx)
	return c.view.Load()
}

// candidates returns the nodes to try for a new blob, best first: round
// robin among the nodes with the most free space (within 10% of the
// emptiest), then the others. A node that failed recently sorts last; with
// upOnly, nodes that did not answer the last probe are left out.
func (c *Client) candidates(ctx context.Context, upOnly bool) []Node {
	v := c.current(ctx)
	var nodes []Node
	var free []int64
	for i, n := range v.nodes {
		if upOnly && v.probed && !v.up[i] {
			continue
		}
		nodes = append(nodes, n)
		free = append(free, v.free[i])
	}
	if len(nodes) <= 1 {
		return nodes
	}
	best := int64(-1)
	for _, f := range free {
		best = max(best, f)
	}
	var top, rest []Node
	for i, n := range nodes {
		if best < 0 || (free[i] >= 0 && free[i] >= best-best/10) {
			top = append(top, n)
		} else {
			rest = append(rest, n)
		}
	}
	k := int(c.rr.Add(1) % uint64(len(top)))
	out := make([]Node, 0, len(nodes))
	out = append(out, top[k:]...)
	out = append(out, top[:k]...)
	return append(out, rest...)
}

// markFailed makes a node sort last until the next refresh. The view is
// copied, not changed in place, because others read it unlocked.
func (c *Client) markFailed(id string) {
	for {
		old := c.view.Load()
		i, ok := old.byID[id]
		if !ok || old.free[i] < 0 {
			return
		}
		free := slices.Clone(old.free)
		free[i] = -1
		nv := *old
		nv.free = free
		if c.view.CompareAndSwap(old, &nv) {
			return
		}
	}
}

// DialOptions are the gRPC dial options this package recommends for
// connections to blobstore nodes: reconnect attempts back off to at most two
// seconds (gRPC's default is two minutes), so that a node that comes back
// is used again, and its shards read and repaired, within seconds.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
		MinConnectTimeout: 5 * time.Second,
	})}
}
