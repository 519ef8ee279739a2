package metadata

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/coffer-project/coffer/metadata/fsm"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// testConfig is the flag defaults with a temp dir, a free Raft port and
// short Raft timeouts (a single node elects itself after one timeout).
func testConfig(t testing.TB) Config {
	var c Config
	c.RegisterFlags("metadata.", flag.NewFlagSet("test", flag.ContinueOnError))
	c.DataDir = t.TempDir()
	c.RaftAddr = "127.0.0.1:0"
	c.HeartbeatTimeout = 50 * time.Millisecond
	c.ElectionTimeout = 50 * time.Millisecond
	return c
}

// node is one metadata server behind the real runtime, over TCP.
type node struct {
	srv     *Server
	rt      *runtime.Server
	meta    metadatav1.MetadataServiceClient
	cluster metadatav1.ClusterServiceClient
	stopped bool
	stop    func()
}

// startNode starts a metadata server on cfg (runtime.New on 127.0.0.1:0,
// then runtime.Dial), registered for cleanup.
func startNode(t testing.TB, cfg Config) *node { return startNodeWith(t, cfg, Deps{}) }

// startNodeWith is startNode with dependencies (the logger and the gRPC
// address are filled in).
func startNodeWith(t testing.TB, cfg Config, deps Deps) *node {
	t.Helper()
	n := newNode(t, cfg, deps)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.srv.Start(ctx); err != nil {
		n.rt.Stop(context.Background())
		t.Fatal(err)
	}
	return n
}

// newNode builds and serves a node without starting it (Start may block
// until a quorum is up, so cluster tests start nodes concurrently).
func newNode(t testing.TB, cfg Config, deps Deps) *node {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() && os.Getenv("COFFER_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", cfg.NodeID)
	}
	rt, err := runtime.New(runtime.Config{
		GRPCAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "text", ShutdownTimeout: 5 * time.Second,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	deps.Log, deps.GRPCAddr = log, rt.GRPCAddr()
	srv, err := New(cfg, deps)
	if err != nil {
		rt.Stop(context.Background())
		t.Fatal(err)
	}
	srv.Register(rt.GRPC())
	served := make(chan error, 1)
	go func() { served <- rt.Serve() }()
	conn, err := runtime.Dial(rt.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	n := &node{srv: srv, rt: rt, meta: metadatav1.NewMetadataServiceClient(conn), cluster: metadatav1.NewClusterServiceClient(conn)}
	n.stop = func() {
		if n.stopped {
			return
		}
		n.stopped = true
		conn.Close()
		srv.Drain(context.Background())
		rt.Stop(context.Background())
		<-served
		if err := srv.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(n.stop)
	return n
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantKind fails unless err has the kind.
func wantKind(t testing.TB, err error, kind errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != kind || err == nil {
		t.Fatalf("error %v (kind %v), want kind %v", err, errs.KindOf(err), kind)
	}
}

func mustBucket(t testing.TB, n *node, name string) *metadatav1.Bucket {
	t.Helper()
	resp, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Bucket
}

func put(t testing.TB, n *node, bucketID, key, etag string, blobs ...string) *metadatav1.ObjectVersion {
	t.Helper()
	v := &metadatav1.ObjectVersion{BucketId: bucketID, Key: key, Etag: etag, Size: 3}
	for _, b := range blobs {
		v.Segments = append(v.Segments, &metadatav1.Segment{Size: 3, Placement: &metadatav1.BlobPlacement{BlobId: b, DataShards: 1}})
	}
	resp, err := n.meta.CommitObject(ctx(t), &metadatav1.CommitObjectRequest{Version: v})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Version
}

// waitRegistered waits until every member of n's configuration has its
// entry in n's copy of the replicated address book.
func waitRegistered(t testing.TB, n *node) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := n.srv.Store()
		members, err := st.Members()
		done := err == nil && len(members) > 0
		for _, m := range members {
			st.FSM().View(func(r *fsm.Reader) error {
				e, err := r.Member(m.ID)
				done = done && err == nil && e.GetGrpcAddress() != ""
				return nil
			})
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("members not registered: %v, %v", members, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
