package blobstore_test

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

var ec42 = client.Config{DataShards: 4, ParityShards: 2}

// object is a committed object of a test: its blob and how to regenerate
// its bytes.
type object struct {
	key    string
	seed   byte
	size   int64
	blobID string
}

func putObject(t testing.TB, c *client.Client, m *meta, key string, seed byte, size int64) object {
	t.Helper()
	p, err := c.Put(ctx, client.NewBlobID(), randomReader(seed, size), size)
	if err != nil {
		t.Fatalf("put %s (%d bytes): %v", key, size, err)
	}
	m.commit(t, key, size, p)
	return object{key, seed, size, p.GetBlobId()}
}

// allHealthy checks the shape of every object's committed placement (k+m
// shards on distinct nodes of the cluster), then, when verify is set, has
// every shard verified on its node.
func allHealthy(t testing.TB, cl *blobstoretest.Cluster, m *meta, objs []object, verify bool) error {
	for _, o := range objs {
		p := m.placement(t, o.blobID)
		if len(p.GetShards()) != int(p.GetDataShards()+p.GetParityShards()) {
			return fmt.Errorf("%s has %d shards", o.key, len(p.GetShards()))
		}
		seen := map[string]bool{}
		for _, s := range p.GetShards() {
			if cl.Node(s.GetNodeId()) == nil || seen[s.GetNodeId()] {
				return fmt.Errorf("%s: shard %d is on node %s, gone or doubly used", o.key, s.GetIndex(), s.GetNodeId())
			}
			seen[s.GetNodeId()] = true
		}
		if verify {
			if err := healthy(cl, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestFourPlusTwoSurvivesAndRepairs is the first acceptance test:
// six nodes, 4+2, objects from 0 B to 100 MiB; any two nodes stop and every
// object reads back byte-exact; they return and the repair scan brings
// every object back to six healthy shards. Then a node's disk is replaced
// and its shards are rebuilt on the new, empty node.
func TestFourPlusTwoSurvivesAndRepairs(t *testing.T) {
	m := startMeta(t)
	cl := blobstoretest.StartCluster(t, 6, healing(), blobstore.Deps{Meta: m})
	c := cl.Client(ec42)
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	var objs []object
	sizes := []int64{0, 1, 100, 4095, 1<<20 + 3, 7 << 20, 100 << 20}
	if testing.Short() {
		sizes = sizes[:6]
	}
	for i, size := range sizes {
		objs = append(objs, putObject(t, c, m, fmt.Sprintf("all-up/%d", i), byte(i), size))
	}
	for _, o := range objs {
		if p := m.placement(t, o.blobID); len(p.GetShards()) != 6 {
			t.Fatalf("%s written with %d shards", o.key, len(p.GetShards()))
		}
	}

	phase("written")
	// One node down: writes go on with five shards (the write quorum).
	cl.Nodes[0].Stop()
	for i, size := range []int64{10, 3<<20 + 1} {
		o := putObject(t, c, m, fmt.Sprintf("one-down/%d", i), byte(50+i), size)
		if p := m.placement(t, o.blobID); len(p.GetShards()) != 5 {
			t.Fatalf("%s written with %d shards with one node down", o.key, len(p.GetShards()))
		}
		objs = append(objs, o)
	}

	// A second node down: every object reads back byte-exact, through the
	// writer's client and through a fresh one.
	cl.Nodes[3].Stop()
	fresh := cl.Client(ec42)
	for _, o := range objs {
		p := m.placement(t, o.blobID)
		readers := []*client.Client{fresh}
		if o.size < 10<<20 {
			readers = append(readers, c) // sizes cached: no header read
		}
		for _, r := range readers {
			if err := readBack(r, p, o.seed, o.size); err != nil {
				t.Fatalf("%s with two nodes down: %v", o.key, err)
			}
		}
	}

	phase("read with two down")
	// They come back: the repair scan rebuilds the shards the objects
	// written meanwhile lack, and every shard verifies.
	cl.Restart(0)
	cl.Restart(3)
	eventually(t, 90*time.Second, "every object back to 6 shards", func() error { return allHealthy(t, cl, m, objs, false) })
	phase("repaired")
	if err := allHealthy(t, cl, m, objs, true); err != nil {
		t.Fatal(err)
	}
	phase("verified")

	// A node's disk is replaced: the node comes back empty, with a new id,
	// and the shards it held are rebuilt on it from the others.
	lost := cl.Nodes[2].ID
	cl.Replace(2)
	eventually(t, 90*time.Second, "shards of the replaced disk rebuilt", func() error {
		for _, o := range objs {
			for _, s := range m.placement(t, o.blobID).GetShards() {
				if s.GetNodeId() == lost {
					return fmt.Errorf("%s still has shard %d on the lost node", o.key, s.GetIndex())
				}
			}
		}
		return allHealthy(t, cl, m, objs, false)
	})
	phase("rebuilt on the new disk")
	if err := allHealthy(t, cl, m, objs, true); err != nil {
		t.Fatal(err)
	}
	phase("verified")
	// With every shard in place, the data shards alone serve every read.
	var damage []client.Damage
	var mu sync.Mutex
	cfg := ec42
	cfg.OnDamage = func(d client.Damage) { mu.Lock(); damage = append(damage, d); mu.Unlock() }
	final := cl.Client(cfg)
	for _, o := range objs {
		if err := readBack(final, m.placement(t, o.blobID), o.seed, o.size); err != nil {
			t.Fatalf("%s after repair: %v", o.key, err)
		}
	}
	if len(damage) > 0 {
		t.Fatalf("reads after repair met damaged shards: %v", damage)
	}
	phase("read back")
}

// TestCorruptShardHealedOnRead is the second acceptance test: bytes
// flipped in a shard file; the read still returns the right bytes, reports
// the damage, and the node rewrites the shard. Then the same without a
// read: the scrubber finds it.
func TestCorruptShardHealedOnRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		scrub bool
		index int
	}{{"read", false, 1}, {"scrub", true, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			m := startMeta(t)
			cfg := healing()
			cfg.ChunkSize = 4096
			cfg.RepairInterval = 0 // only the read report, or the scrubber, may heal
			if tc.scrub {
				cfg.ScrubInterval = 300 * time.Millisecond
			}
			cl := blobstoretest.StartCluster(t, 6, cfg, blobstore.Deps{Meta: m})
			var mu sync.Mutex
			var damage []client.Damage
			ccfg := ec42
			ccfg.OnDamage = func(d client.Damage) { mu.Lock(); damage = append(damage, d); mu.Unlock() }
			c := cl.Client(ccfg)
			o := putObject(t, c, m, "victim", 7, 3<<20+5)
			p := m.placement(t, o.blobID)
			node := cl.Node(p.GetShards()[tc.index].GetNodeId())
			path, err := disk.BlobPath(node.Config.DataDir, client.ShardID(p, tc.index))
			if err != nil {
				t.Fatal(err)
			}
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bad := bytes.Clone(orig)
			for _, off := range []int{100, 50_000, 300_001} {
				bad[off] ^= 0xa5
			}
			if err := os.WriteFile(path, bad, 0o640); err != nil {
				t.Fatal(err)
			}
			if !tc.scrub {
				if err := readBack(c, p, o.seed, o.size); err != nil {
					t.Fatalf("read over a corrupt shard: %v", err)
				}
				mu.Lock()
				found := false
				for _, d := range damage {
					found = found || d.Index == tc.index && d.Kind == errs.DataLoss && d.NodeID == node.ID
				}
				mu.Unlock()
				if !found {
					t.Fatalf("corruption not reported: %v", damage)
				}
			}
			eventually(t, 30*time.Second, "shard rewritten", func() error {
				got, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				// The file's own header carries its commit time; the
				// content after it must come back byte for byte.
				if !bytes.Equal(got[disk.HeaderSize:], orig[disk.HeaderSize:]) {
					return fmt.Errorf("shard %d not yet rewritten", tc.index)
				}
				return nil
			})
			if err := healthy(cl, p); err != nil {
				t.Fatal(err)
			}
			if st := node.Server.Stats(); st.ShardsRebuilt != 1 || tc.scrub && st.CorruptFound == 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestStaleShardCollected: a repair moves a shard off a node that is down;
// when that node returns, its copy is garbage and is collected, while the
// object stays whole.
func TestStaleShardCollected(t *testing.T) {
	m := startMeta(t)
	cl := blobstoretest.StartCluster(t, 7, healing(), blobstore.Deps{Meta: m})
	c := cl.Client(ec42)
	o := putObject(t, c, m, "moved", 3, 1<<20)
	p := m.placement(t, o.blobID)
	var gone *blobstoretest.Node
	var idx int
	for i, n := range cl.Nodes {
		if n.ID == p.GetShards()[2].GetNodeId() {
			gone, idx = n, i
		}
	}
	gone.Stop()
	eventually(t, 30*time.Second, "shard 2 moved", func() error {
		if now := m.placement(t, o.blobID); now.GetShards()[2].GetNodeId() == gone.ID {
			return fmt.Errorf("shard 2 still on the stopped node")
		}
		return nil
	})
	cl.Restart(idx)
	path, _ := disk.BlobPath(gone.Config.DataDir, client.ShardID(p, 2))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the returning node lost its copy early: %v", err)
	}
	eventually(t, 30*time.Second, "stale copy collected", func() error {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("stale copy still there")
		}
		return nil
	})
	if err := allHealthy(t, cl, m, []object{o}, true); err != nil {
		t.Fatal(err)
	}
	if err := readBack(c, m.placement(t, o.blobID), o.seed, o.size); err != nil {
		t.Fatal(err)
	}
}

// shardFiles lists the stored ids on node n that belong to blob id.
func shardFiles(t testing.TB, n *blobstoretest.Node, id string) []string {
	t.Helper()
	var out []string
	for i := range 6 {
		path, _ := disk.BlobPath(n.Config.DataDir, fmt.Sprintf("%s.%d", id, i))
		if _, err := os.Stat(path); err == nil {
			out = append(out, path)
		}
	}
	if path, _ := disk.BlobPath(n.Config.DataDir, id); path != "" {
		if _, err := os.Stat(path); err == nil {
			out = append(out, path)
		}
	}
	return out
}

// TestGarbageCollection: blobs no committed version references are removed
// after the grace period (never written ones, deleted versions); referenced
// ones never are, whatever their name looks like.
func TestGarbageCollection(t *testing.T) {
	m := startMeta(t)
	cl := blobstoretest.StartCluster(t, 6, healing(), blobstore.Deps{Meta: m})
	ec := cl.Client(ec42)
	whole := cl.Client(client.Config{})

	kept := putObject(t, ec, m, "kept", 1, 300_000)
	keptWhole := putObject(t, whole, m, "kept-whole", 2, 1000)
	// A whole blob whose id looks like a shard id of a blob that is not
	// referenced: the collector must not read it as that shard.
	p, err := whole.Put(ctx, "dotted.3", randomReader(3, 100), 100)
	if err != nil {
		t.Fatal(err)
	}
	m.commit(t, "dotted", 100, p)
	dotted := object{"dotted", 3, 100, "dotted.3"}

	never, err := ec.Put(ctx, client.NewBlobID(), randomReader(4, 200_000), 200_000)
	if err != nil {
		t.Fatal(err)
	}
	neverWhole, err := whole.Put(ctx, client.NewBlobID(), randomReader(5, 100), 100)
	if err != nil {
		t.Fatal(err)
	}
	deleted := putObject(t, ec, m, "deleted", 6, 100_000)
	v, err := m.GetObject(ctx, &metadatav1.GetObjectRequest{BucketId: m.bucket, Key: "deleted"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.DeleteObjectVersion(ctx, &metadatav1.DeleteObjectVersionRequest{BucketId: m.bucket, Key: "deleted", VersionId: v.GetVersion().GetVersionId()}); err != nil {
		t.Fatal(err)
	}
	garbage := []string{never.GetBlobId(), neverWhole.GetBlobId(), deleted.blobID}
	start := time.Now()
	eventually(t, 30*time.Second, "garbage collected", func() error {
		for _, n := range cl.Nodes {
			for _, id := range garbage {
				if f := shardFiles(t, n, id); len(f) > 0 {
					return fmt.Errorf("%v still there", f)
				}
			}
		}
		return nil
	})
	if d := time.Since(start); d < healing().GCGrace-500*time.Millisecond {
		t.Fatalf("garbage collected after %v, within the grace period", d)
	}
	// Several more passes: what is referenced stays.
	passes := cl.Nodes[0].Server.Stats().GCPasses
	eventually(t, 30*time.Second, "more GC passes", func() error {
		if cl.Nodes[0].Server.Stats().GCPasses < passes+3 {
			return fmt.Errorf("waiting")
		}
		return nil
	})
	for _, o := range []object{kept, keptWhole, dotted} {
		if err := readBack(whole, m.placement(t, o.blobID), o.seed, o.size); err != nil {
			t.Fatalf("%s after GC: %v", o.key, err)
		}
	}
	if err := allHealthy(t, cl, m, []object{kept}, true); err != nil {
		t.Fatal(err)
	}
}
