package blobstore_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/metadata"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// meta is a real single-node metadata role over TCP: the blobstore's
// healing and garbage collection are tested against the metadata they
// will run against, not a stand-in.
type meta struct {
	metadatav1.MetadataServiceClient
	addr   string
	bucket string
}

func startMeta(t testing.TB) *meta {
	t.Helper()
	var cfg metadata.Config
	cfg.RegisterFlags("metadata.", flag.NewFlagSet("test", flag.ContinueOnError))
	cfg.DataDir = t.TempDir()
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.HeartbeatTimeout = 50 * time.Millisecond
	cfg.ElectionTimeout = 50 * time.Millisecond
	log := slog.New(slog.DiscardHandler)
	srv, err := metadata.New(cfg, metadata.Deps{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(runtime.Config{GRPCAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "text", ShutdownTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(rt.GRPC())
	served := make(chan error, 1)
	go func() { served <- rt.Serve() }()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.Start(sctx); err != nil {
		t.Fatal(err)
	}
	conn, err := runtime.Dial(rt.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: registered first, metadata stops
	// after the blobstore nodes that call it.
	t.Cleanup(func() {
		conn.Close()
		rt.Stop(context.Background())
		<-served
		srv.Stop(context.Background())
	})
	m := &meta{MetadataServiceClient: metadatav1.NewMetadataServiceClient(conn), addr: rt.GRPCAddr()}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := m.CreateBucket(ctx, &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "blob-tests"}})
		if err == nil {
			m.bucket = resp.GetBucket().GetBucketId()
			return m
		}
		if !errs.Is(err, errs.NotLeader) && !errs.Is(err, errs.Unavailable) || time.Now().After(deadline) {
			t.Fatalf("create bucket: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commit records an object whose one segment is the blob at p.
func (m *meta) commit(t testing.TB, key string, size int64, p *metadatav1.BlobPlacement) *metadatav1.ObjectVersion {
	t.Helper()
	resp, err := m.CommitObject(ctx, &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{
		BucketId: m.bucket, Key: key, Size: size, Etag: "e",
		Segments: []*metadatav1.Segment{{Size: size, Placement: p}},
	}})
	if err != nil {
		t.Fatalf("commit %s: %v", key, err)
	}
	return resp.GetVersion()
}

// placement is the committed placement of a blob.
func (m *meta) placement(t testing.TB, blobID string) *metadatav1.BlobPlacement {
	t.Helper()
	resp, err := m.GetBlobPlacement(ctx, &metadatav1.GetBlobPlacementRequest{BlobId: blobID})
	if err != nil {
		t.Fatalf("placement of %s: %v", blobID, err)
	}
	return resp.GetPlacement()
}

// healing is a node configuration whose background work runs every few
// hundred milliseconds, so tests see it act. Scrubbing is off (it would
// read every byte every pass); the scrub test turns it on.
func healing() blobstore.Config {
	cfg := blobstore.DefaultConfig()
	cfg.GCGrace = 2 * time.Second
	cfg.GCInterval = 300 * time.Millisecond
	cfg.ScrubInterval = 0
	cfg.ScrubRate = 0
	cfg.RepairInterval = 300 * time.Millisecond
	cfg.RepairDownAfter = time.Second
	return cfg
}

// eventually polls cond until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after %v", what, err, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// healthy checks that p names k+m shards on distinct nodes of the cluster
// that are up, each present and passing verification on its node.
func healthy(cl *blobstoretest.Cluster, p *metadatav1.BlobPlacement) error {
	total := int(p.GetDataShards() + p.GetParityShards())
	if len(p.GetShards()) != total {
		return fmt.Errorf("blob %s has %d of %d shards", p.GetBlobId(), len(p.GetShards()), total)
	}
	seen := map[string]bool{}
	for _, s := range p.GetShards() {
		n := cl.Node(s.GetNodeId())
		if n == nil || seen[s.GetNodeId()] {
			return fmt.Errorf("blob %s: shard %d on node %s, which is gone or holds another shard", p.GetBlobId(), s.GetIndex(), s.GetNodeId())
		}
		seen[s.GetNodeId()] = true
		resp, err := n.Client.VerifyBlob(ctx, &blobv1.VerifyBlobRequest{BlobId: client.ShardID(p, int(s.GetIndex()))})
		if err != nil {
			return fmt.Errorf("blob %s shard %d: %w", p.GetBlobId(), s.GetIndex(), err)
		}
		if len(resp.GetCorruptChunks()) > 0 {
			return fmt.Errorf("blob %s shard %d: corrupt chunks %v", p.GetBlobId(), s.GetIndex(), resp.GetCorruptChunks())
		}
	}
	return nil
}

// readBack reads the whole blob through c and compares it with the bytes
// of the seeded generator.
func readBack(c *client.Client, p *metadatav1.BlobPlacement, seed byte, size int64) error {
	r, err := c.Get(ctx, p, 0, -1)
	if err != nil {
		return err
	}
	defer r.Close()
	want := randomReader(seed, size)
	got, exp := make([]byte, 1<<20), make([]byte, 1<<20)
	var total int64
	for {
		n, err := io.ReadFull(r, got)
		if n > 0 {
			io.ReadFull(want, exp[:n])
			if !bytes.Equal(got[:n], exp[:n]) {
				return fmt.Errorf("blob %s: bytes differ near offset %d", p.GetBlobId(), total)
			}
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if total != size {
		return fmt.Errorf("blob %s: read %d of %d bytes", p.GetBlobId(), total, size)
	}
	return nil
}

// randomReader yields size pseudo-random bytes determined by seed.
func randomReader(seed byte, size int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{seed}), size)
}
