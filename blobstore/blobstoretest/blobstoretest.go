package blobstoretest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/client"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Node is one running blobstore node.
type Node struct {
	Server  *blobstore.Server
	Runtime *runtime.Server
	Config  blobstore.Config
	Deps    blobstore.Deps
	// Addr is the node's gRPC address; a restarted node keeps it.
	Addr string
	// ID is the node's stable id.
	ID     string
	Conn   *grpc.ClientConn
	Client blobv1.BlobServiceClient
	// Path is how clients made by this package move the node's shard
	// bytes (PathOf the test that started the node).
	Path Path

	served chan error
}

// Path is how a blob client moves a node's shard bytes: over gRPC, or
// in-process (blobstore.Server.Local), as when the gateway and the node
// share a process. The client's tests run on both.
type Path int

// The paths.
const (
	GRPC Path = iota
	Local
)

func (p Path) String() string {
	if p == Local {
		return "local"
	}
	return "grpc"
}

// Paths runs f as two subtests, "grpc" and "local": nodes started (and
// clients made) within each use that path (PathOf).
func Paths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, p := range []Path{GRPC, Local} {
		t.Run(p.String(), f)
	}
}

// PathOf is the path of a test: Local within a "local" subtest of Paths,
// GRPC otherwise.
func PathOf(tb testing.TB) Path {
	for _, part := range strings.Split(tb.Name(), "/") {
		if part == "local" {
			return Local
		}
	}
	return GRPC
}

// Start starts a node with cfg (and no dependencies: no background work
// that needs the metadata). An empty DataDir becomes a fresh temp dir; a
// zero ChunkSize the default. The node is stopped when the test ends.
func Start(tb testing.TB, cfg blobstore.Config) *Node {
	tb.Helper()
	return StartWith(tb, cfg, blobstore.Deps{}, "127.0.0.1:0")
}

// StartWith starts a node with cfg and deps listening on addr.
func StartWith(tb testing.TB, cfg blobstore.Config, deps blobstore.Deps, addr string) *Node {
	tb.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = tb.TempDir()
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = blobstore.DefaultConfig().ChunkSize
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if os.Getenv("COFFER_TEST_LOG") != "" {
		deps.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	rt := listen(tb, addr, deps.Log)
	srv, err := blobstore.New(cfg, deps)
	if err != nil {
		tb.Fatalf("blobstoretest: new: %v", err)
	}
	srv.Register(rt.GRPC())
	n := &Node{Server: srv, Runtime: rt, Config: cfg, Deps: deps, Addr: rt.GRPCAddr(), Path: PathOf(tb), served: make(chan error, 1)}
	go func() { n.served <- rt.Serve() }()
	if err := srv.Start(context.Background()); err != nil {
		rt.Stop(context.Background())
		tb.Fatalf("blobstoretest: start: %v", err)
	}
	n.ID = srv.NodeID()
	if n.Conn, err = runtime.Dial(n.Addr); err != nil {
		tb.Fatalf("blobstoretest: dial: %v", err)
	}
	n.Client = blobv1.NewBlobServiceClient(n.Conn)
	tb.Cleanup(func() {
		n.Stop()
		n.Conn.Close()
	})
	return n
}

// listen builds the runtime on addr, retrying for a while when a restarted
// node's address is still held by the closing listener.
func listen(tb testing.TB, addr string, log *slog.Logger) *runtime.Server {
	deadline := time.Now().Add(10 * time.Second)
	for {
		rt, err := runtime.New(runtime.Config{
			GRPCAddr:        addr,
			LogLevel:        "error",
			LogFormat:       "text",
			ShutdownTimeout: 5 * time.Second,
		}, log)
		if err == nil {
			return rt
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			tb.Fatalf("blobstoretest: runtime: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartN starts n nodes with cfg (each in its own temp dir).
func StartN(tb testing.TB, n int, cfg blobstore.Config) []*Node {
	tb.Helper()
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = Start(tb, cfg)
	}
	return nodes
}

// Stop stops the node the way the app does: gRPC drains, then the role
// stops. Conn stays open (calls on it fail with Unavailable, as they would
// for a node that went down) until the test ends. Stop is idempotent.
func (n *Node) Stop() {
	if n.served == nil {
		return
	}
	n.Runtime.Stop(context.Background())
	<-n.served
	n.Server.Stop(context.Background())
	n.served = nil
}

// Restart stops the node and starts a new one on the same data directory
// and address, with the same dependencies: clients of the old node reach
// the new one.
func (n *Node) Restart(tb testing.TB) *Node {
	tb.Helper()
	n.Stop()
	return StartWith(tb, n.Config, n.Deps, n.Addr)
}

// ClientNode is the node as package client names it, on the node's Path.
func (n *Node) ClientNode() client.Node {
	cn := client.Node{ID: n.ID, Client: n.Client}
	if n.Path == Local {
		cn.Shards = n.Server.Local()
	}
	return cn
}

// ClientNodes lists the nodes as package client names them.
func ClientNodes(nodes []*Node) []client.Node {
	out := make([]client.Node, len(nodes))
	for i, n := range nodes {
		out[i] = n.ClientNode()
	}
	return out
}

// Cluster is a set of nodes that know each other (each node's Deps.Peers
// reaches every node), as the app wires a multi-node blobstore.
type Cluster struct {
	mu sync.Mutex
	tb testing.TB
	// Path is how clients made by Client move the nodes' shard bytes.
	Path  Path
	Nodes []*Node
	conns map[string]*grpc.ClientConn // by address, shared by peers and tests
}

// StartCluster starts n nodes with cfg and deps (Peers is filled in).
func StartCluster(tb testing.TB, n int, cfg blobstore.Config, deps blobstore.Deps) *Cluster {
	tb.Helper()
	c := &Cluster{tb: tb, Path: PathOf(tb), conns: map[string]*grpc.ClientConn{}}
	tb.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, cc := range c.conns {
			cc.Close()
		}
	})
	deps.Peers = c.Lookup
	for range n {
		nc := cfg
		nc.DataDir = ""
		node := StartWith(tb, nc, deps, "127.0.0.1:0")
		c.mu.Lock()
		c.Nodes = append(c.Nodes, node)
		c.mu.Unlock()
	}
	return c
}

// Add starts one more node in the cluster with its own cfg and deps (Peers
// is filled in): a node with a failing disk, say.
func (c *Cluster) Add(cfg blobstore.Config, deps blobstore.Deps) *Node {
	c.tb.Helper()
	deps.Peers = c.Lookup
	cfg.DataDir = ""
	n := StartWith(c.tb, cfg, deps, "127.0.0.1:0")
	c.mu.Lock()
	c.Nodes = append(c.Nodes, n)
	c.mu.Unlock()
	return n
}

// Lookup returns a client for every node of the cluster, running or not
// (a client.Lookup, as the app's discovery gives).
func (c *Cluster) Lookup(ctx context.Context) ([]blobv1.BlobServiceClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]blobv1.BlobServiceClient, 0, len(c.Nodes))
	for _, n := range c.Nodes {
		cc := c.conns[n.Addr]
		if cc == nil {
			var err error
			if cc, err = runtime.Dial(n.Addr, client.DialOptions()...); err != nil {
				return nil, err
			}
			c.conns[n.Addr] = cc
		}
		out = append(out, blobv1.NewBlobServiceClient(cc))
	}
	return out, nil
}

// Client opens an erasure-coding client over the cluster, on the
// cluster's Path: with Local, every node's shard bytes move in-process.
func (c *Cluster) Client(cfg client.Config) *client.Client {
	c.tb.Helper()
	if c.Path == Local && cfg.Local == nil {
		cfg.Local = func(id string) client.ShardIO { return clusterLocal{c, id} }
	}
	cl, err := client.Open(context.Background(), c.Lookup, cfg)
	if err != nil {
		c.tb.Fatalf("blobstoretest: client: %v", err)
	}
	return cl
}

// Node returns the node with the given id, or nil.
func (c *Cluster) Node(id string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// Restart restarts node i on its data directory and address.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	c.mu.Lock()
	old := c.Nodes[i]
	c.mu.Unlock()
	n := old.Restart(c.tb)
	c.mu.Lock()
	c.Nodes[i] = n
	c.mu.Unlock()
}

// Replace stops node i and starts an empty one (a new disk, so a new node
// id) at its address.
func (c *Cluster) Replace(i int) {
	c.tb.Helper()
	c.mu.Lock()
	old := c.Nodes[i]
	c.mu.Unlock()
	old.Stop()
	cfg := old.Config
	cfg.DataDir = ""
	n := StartWith(c.tb, cfg, old.Deps, old.Addr)
	c.mu.Lock()
	c.Nodes[i] = n
	c.mu.Unlock()
}

// clusterLocal is the local path to the cluster's node id, whichever
// server runs it now (as a gRPC connection reaches a restarted node).
type clusterLocal struct {
	c  *Cluster
	id string
}

func (l clusterLocal) shards() (client.ShardIO, error) {
	if n := l.c.Node(l.id); n != nil {
		return n.Server.Local(), nil
	}
	return nil, errs.Errorf(errs.Unavailable, "blobstoretest.Local", "node %s is not running", l.id)
}

func (l clusterLocal) Create(ctx context.Context, id string, size int64) (client.ShardWriter, error) {
	s, err := l.shards()
	if err != nil {
		return nil, err
	}
	return s.Create(ctx, id, size)
}

func (l clusterLocal) Open(ctx context.Context, id string, offset, length int64) (client.ShardReader, error) {
	s, err := l.shards()
	if err != nil {
		return nil, err
	}
	return s.Open(ctx, id, offset, length)
}
