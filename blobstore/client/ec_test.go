package client_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// ec42 is 4+2 with small stripes, so that small blobs span many stripes.
var ec42 = client.Config{DataShards: 4, ParityShards: 2, StripeSize: 4096}

// damageLog collects the damage a client reports.
type damageLog struct {
	mu sync.Mutex
	d  []client.Damage
}

func (l *damageLog) add(d client.Damage) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *damageLog) take() []client.Damage {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.d
	l.d = nil
	return out
}

// checkRanges reads the whole blob and random ranges of it.
func checkRanges(t *testing.T, c *client.Client, p *metadatav1.BlobPlacement, data []byte, rng *rand.Rand, n int) {
	t.Helper()
	size := int64(len(data))
	if got, err := readAll(t, c, p, 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("size %d: whole read: %d bytes, %v", size, len(got), err)
	}
	for range n {
		off := rng.Int64N(size + 1)
		ln := int64(-1)
		if rng.IntN(4) > 0 {
			ln = rng.Int64N(size - off + 10)
		}
		got, err := readAll(t, c, p, off, ln)
		end := size
		if ln >= 0 {
			end = min(end, off+ln)
		}
		if err != nil || !bytes.Equal(got, data[off:end]) {
			t.Fatalf("size %d: read %d+%d: %d bytes, %v", size, off, ln, len(got), err)
		}
	}
}

func shardPath(t testing.TB, cl *blobstoretest.Cluster, p *metadatav1.BlobPlacement, index int) string {
	t.Helper()
	for _, s := range p.GetShards() {
		if int(s.GetIndex()) == index {
			path, err := disk.BlobPath(cl.Node(s.GetNodeId()).Config.DataDir, client.ShardID(p, index))
			if err != nil {
				t.Fatal(err)
			}
			return path
		}
	}
	t.Fatalf("no shard %d", index)
	return ""
}

func TestECRoundTrip(t *testing.T) { blobstoretest.Paths(t, testECRoundTrip) }

func testECRoundTrip(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 6, blobstore.Config{ChunkSize: 1024}, blobstore.Deps{})
	c := cl.Client(ec42)
	rng := rand.New(rand.NewPCG(4, 2))
	sb := 4 * 4096
	for i, size := range []int{0, 1, 3, 4, 5, 4095, sb - 1, sb, sb + 1, 3*sb + 7, 300_000} {
		data := random(byte(i), size)
		announced := int64(size)
		if i%3 == 2 {
			announced = -1 // the size goes into the trailer only
		}
		id := client.NewBlobID()
		p, err := c.Put(ctx, id, bytes.NewReader(data), announced)
		if err != nil {
			t.Fatalf("put %d: %v", size, err)
		}
		if p.GetBlobId() != id || p.GetDataShards() != 4 || p.GetParityShards() != 2 || p.GetStripeSize() != 4096 || len(p.GetShards()) != 6 {
			t.Fatalf("placement %v", p)
		}
		nodes := map[string]bool{}
		for j, s := range p.GetShards() {
			if int(s.GetIndex()) != j || nodes[s.GetNodeId()] {
				t.Fatalf("shards not on distinct nodes in order: %v", p)
			}
			nodes[s.GetNodeId()] = true
		}
		checkRanges(t, c, p, data, rng, 10)
		// A fresh client has no size cached: the header (or, for an unknown
		// size, the trailer) is read again.
		checkRanges(t, cl.Client(ec42), p, data, rng, 3)
		if _, err := c.Get(ctx, p, int64(size)+1, -1); !errs.Is(err, errs.InvalidRange) {
			t.Fatalf("get past the end: %v", err)
		}
		if err := c.Delete(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, p); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := cl.Client(ec42).Get(ctx, p, 0, -1); !errs.Is(err, errs.ObjectNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
	}
}

func TestECDegradedReads(t *testing.T) { blobstoretest.Paths(t, testECDegradedReads) }

func testECDegradedReads(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 6, blobstore.Config{ChunkSize: 1024}, blobstore.Deps{})
	var damage damageLog
	cfg := ec42
	cfg.OnDamage = damage.add
	c := cl.Client(cfg)
	type blob struct {
		p    *metadatav1.BlobPlacement
		data []byte
	}
	var blobs []blob
	for i, size := range []int{1, 5000, 16384, 100_000, 333_333} {
		data := random(byte(10+i), size)
		p, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(data), int64(size))
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, blob{p, data})
	}
	rng := rand.New(rand.NewPCG(7, 7))
	// Any two nodes may go: try a pair holding data shards.
	down := []int{1, 4}
	for _, i := range down {
		cl.Nodes[i].Stop()
	}
	fresh := cl.Client(cfg)
	for _, b := range blobs {
		checkRanges(t, c, b.p, b.data, rng, 20)
		checkRanges(t, fresh, b.p, b.data, rng, 5)
	}
	for _, d := range damage.take() {
		if d.Kind != errs.Unavailable {
			t.Fatalf("a node that is down reported as %v", d.Kind)
		}
	}
	// A third node down is more than 4+2 survives: an error, never bytes.
	cl.Nodes[0].Stop()
	for _, b := range blobs[1:] {
		r, err := c.Get(ctx, b.p, 0, -1)
		if err == nil {
			_, err = io.ReadAll(r)
			r.Close()
		}
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("read with 3 of 6 nodes down: %v", err)
		}
	}
	// They come back: the same reads work again, once the client has
	// reconnected.
	for _, i := range []int{0, 1, 4} {
		cl.Restart(i)
	}
	waitUp(t, c, 6)
	for _, b := range blobs {
		checkRanges(t, c, b.p, b.data, rng, 5)
	}
}

func TestECCorruptAndMissingShards(t *testing.T) {
	blobstoretest.Paths(t, testECCorruptAndMissingShards)
}

func testECCorruptAndMissingShards(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 6, blobstore.Config{ChunkSize: 1024}, blobstore.Deps{})
	var damage damageLog
	cfg := ec42
	cfg.OnDamage = damage.add
	c := cl.Client(cfg)
	data := random(3, 200_000)
	p, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the middle of data shard 1 and remove data shard 2.
	path := shardPath(t, cl, p, 1)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	f.ReadAt(b[:], 30_000)
	f.WriteAt([]byte{b[0] ^ 0x40}, 30_000)
	f.Close()
	if err := os.Remove(shardPath(t, cl, p, 2)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	checkRanges(t, c, p, data, rng, 30)
	kinds := map[int]errs.Kind{}
	for _, d := range damage.take() {
		kinds[d.Index] = d.Kind
	}
	if kinds[1] != errs.DataLoss || kinds[2] != errs.ObjectNotFound || len(kinds) != 2 {
		t.Fatalf("damage reported: %v", kinds)
	}

	// Rebuild both onto their nodes: the files come back byte-identical to
	// what the put wrote (the other shards are untouched).
	want, err := os.ReadFile(shardPath(t, cl, p, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2} {
		node, _ := c.Node(p.GetShards()[i].GetNodeId())
		if _, err := c.Rebuild(ctx, p, i, node); err != nil {
			t.Fatalf("rebuild %d: %v", i, err)
		}
	}
	if _, corrupt, err := verifyShard(cl, p, 1); err != nil || len(corrupt) > 0 {
		t.Fatalf("rebuilt shard 1: %v %v", corrupt, err)
	}
	got, _ := os.ReadFile(shardPath(t, cl, p, 0))
	if !bytes.Equal(got, want) {
		t.Fatal("shard 0 changed")
	}
	damage.take() // each rebuild met the other damaged shard
	// A placement that lacks a data shard (never written: its node
	// failed during the put) is read by decoding from the start.
	short := proto.Clone(p).(*metadatav1.BlobPlacement)
	short.Shards = short.Shards[1:]
	checkRanges(t, c, short, data, rng, 10)
	// With the damage healed, shards 0-3 alone serve the read.
	for _, i := range []int{4, 5} {
		cl.Node(p.GetShards()[i].GetNodeId()).Stop()
	}
	checkRanges(t, cl.Client(cfg), p, data, rng, 5)
	if d := damage.take(); len(d) != 0 {
		t.Fatalf("damage after the rebuild: %v", d)
	}
	// A rebuild with too few shards left fails and stores nothing.
	os.Remove(shardPath(t, cl, p, 3))
	node, _ := c.Node(p.GetShards()[0].GetNodeId())
	if _, err := c.Rebuild(ctx, p, 3, node); err == nil {
		t.Fatal("rebuild from 3 of 4+2 shards succeeded")
	}
}

// waitUp waits until the client has reconnected to n nodes.
func waitUp(t *testing.T, c *client.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.Refresh(ctx)
		up := 0
		for _, s := range c.Status() {
			if s.Up {
				up++
			}
		}
		if up >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d nodes up after they came back", up, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func verifyShard(cl *blobstoretest.Cluster, p *metadatav1.BlobPlacement, index int) (int64, []int64, error) {
	n := cl.Node(p.GetShards()[index].GetNodeId())
	resp, err := n.Client.VerifyBlob(ctx, &blobv1.VerifyBlobRequest{BlobId: client.ShardID(p, index)})
	if err != nil {
		return 0, nil, err
	}
	return resp.GetBlob().GetSize(), resp.GetCorruptChunks(), nil
}

func TestECWriteQuorum(t *testing.T) { blobstoretest.Paths(t, testECWriteQuorum) }

func testECWriteQuorum(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 6, blobstore.Config{}, blobstore.Deps{})
	c := cl.Client(ec42)
	cl.Nodes[5].Stop()
	data := random(5, 50_000)
	// One node down: the client's view may be stale, so the first put may
	// try the stopped node; either way five shards are written.
	for range 3 {
		p, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("put with one node down: %v", err)
		}
		if len(p.GetShards()) != 5 {
			t.Fatalf("%d shards with one node down", len(p.GetShards()))
		}
		for _, s := range p.GetShards() {
			if s.GetNodeId() == cl.Nodes[5].ID {
				t.Fatal("shard placed on a stopped node")
			}
		}
		if got, err := readAll(t, c, p, 0, -1); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back: %v", err)
		}
	}
	// Two down: below the write quorum of 5, the put fails fast.
	cl.Nodes[4].Stop()
	start := time.Now()
	_, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(data), int64(len(data)))
	if !errs.Is(err, errs.Unavailable) || time.Since(start) > 5*time.Second {
		t.Fatalf("put with two nodes down: %v after %v", err, time.Since(start))
	}
	// A quorum of all six refuses one node down.
	strict := ec42
	strict.WriteQuorum = 6
	cl.Restart(4)
	if _, err := cl.Client(strict).Put(ctx, client.NewBlobID(), bytes.NewReader(data), int64(len(data))); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("put needing 6 shards with 5 nodes: %v", err)
	}
}

func TestECPutAbortLeavesNothing(t *testing.T) { blobstoretest.Paths(t, testECPutAbortLeavesNothing) }

func testECPutAbortLeavesNothing(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 6, blobstore.Config{}, blobstore.Deps{})
	c := cl.Client(client.Config{DataShards: 4, ParityShards: 2})
	digest := errs.Errorf(errs.BadDigest, "verify", "md5 mismatch")
	cases := []struct {
		name string
		r    io.Reader
		size int64
		kind errs.Kind
	}{
		{"reader error", &failingReader{n: 3 << 20, err: errors.New("connection reset")}, -1, errs.IncompleteBody},
		{"domain error passes through", &failingReader{n: 3 << 20, err: digest}, 5 << 20, errs.BadDigest},
		{"short body", bytes.NewReader(make([]byte, 1000)), 2000, errs.IncompleteBody},
		{"long body", bytes.NewReader(make([]byte, 3000)), 2000, errs.InvalidArgument},
	}
	for _, tc := range cases {
		id := client.NewBlobID()
		_, err := c.Put(ctx, id, tc.r, tc.size)
		if !errs.Is(err, tc.kind) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.kind)
		}
		for _, n := range cl.Nodes {
			for i := range 6 {
				waitNothingLeft(t, n, id+"."+strconv.Itoa(i))
			}
		}
	}
}

// TestECBadBlobIDs: shard ids append ".<index>", so an erasure-coded blob
// id may not contain a dot or be too long to take the suffix.
func TestECBadBlobIDs(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 6, blobstore.Config{}, blobstore.Deps{})
	c := cl.Client(ec42)
	for _, id := range []string{"a.b", string(bytes.Repeat([]byte{'a'}, 125)), ""} {
		if _, err := c.Put(ctx, id, bytes.NewReader(nil), 0); !errs.Is(err, errs.InvalidArgument) {
			t.Fatalf("put %q: %v", id, err)
		}
	}
}

func TestParseShardID(t *testing.T) {
	p := &metadatav1.BlobPlacement{BlobId: "abc", DataShards: 4, ParityShards: 2}
	if id := client.ShardID(p, 5); id != "abc.5" {
		t.Fatal(id)
	}
	if id := client.ShardID(&metadatav1.BlobPlacement{BlobId: "abc", DataShards: 1}, 0); id != "abc" {
		t.Fatal(id)
	}
	for id, want := range map[string]bool{"abc.5": true, "a.b.12": true, "abc": false, "abc.": false, ".1": false,
		"abc.05": false, "abc.256": false, "abc.255": true, "abc.x": false, "abc.-1": false} {
		blob, i, ok := client.ParseShardID(id)
		if ok != want {
			t.Fatalf("%q: %v", id, ok)
		}
		if ok && blob+"."+strconv.Itoa(i) != id {
			t.Fatalf("%q: %q %d", id, blob, i)
		}
	}
}

func TestConfig(t *testing.T) {
	var c client.Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags("ec.", fs)
	if c.DataShards != 1 || c.ParityShards != 0 || c.StripeSize != client.DefaultStripeSize || c.WriteQuorum != 0 || c.Validate() != nil {
		t.Fatalf("defaults %+v", c)
	}
	if err := fs.Parse([]string{"-ec.data-shards=17", "-ec.parity-shards=3", "-ec.write-quorum=19"}); err != nil || c.Validate() != nil {
		t.Fatalf("17+3: %v %v", err, c.Validate())
	}
	for _, bad := range []client.Config{
		{DataShards: -1}, {DataShards: 200, ParityShards: 57}, {StripeSize: 100},
		{DataShards: 4, ParityShards: 2, WriteQuorum: 3}, {DataShards: 4, ParityShards: 2, WriteQuorum: 7},
	} {
		if bad.Validate() == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
	cl, err := client.New([]client.Node{{ID: "n", Client: nil}}, client.Config{})
	if err == nil || cl != nil {
		t.Fatal("node without a client accepted")
	}
	one := blobstoretest.Start(t, blobstore.Config{})
	for _, tc := range []struct {
		cfg    client.Config
		quorum int
	}{
		{client.Config{}, 1},
		{client.Config{DataShards: 4, ParityShards: 2}, 5},
		{client.Config{DataShards: 4}, 4},
		{client.Config{DataShards: 2, ParityShards: 1, WriteQuorum: 3}, 3},
	} {
		c, err := client.New([]client.Node{one.ClientNode()}, tc.cfg)
		if err != nil || c.Config().WriteQuorum != tc.quorum {
			t.Fatalf("%+v: %v", tc.cfg, err)
		}
	}
}

// TestECBitrotModes damages one shard of a blob in each of the ways of
// spec/reliability.md F7 (flip a bit, zero a 4 KiB block, truncate, delete)
// and checks that every read still returns the right bytes and that the
// damage is reported against the right shard.
func TestECBitrotModes(t *testing.T) { blobstoretest.Paths(t, testECBitrotModes) }

func testECBitrotModes(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 6, blobstore.Config{ChunkSize: 4096}, blobstore.Deps{})
	var damage damageLog
	cfg := ec42
	cfg.OnDamage = damage.add
	c := cl.Client(cfg)
	rng := rand.New(rand.NewPCG(9, 9))
	modes := []struct {
		name string
		kind errs.Kind
		hurt func(path string, size int64) error
	}{
		{"flip a bit", errs.DataLoss, func(path string, size int64) error {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			off := rng.Int64N(size)
			var b [1]byte
			f.ReadAt(b[:], off)
			_, err = f.WriteAt([]byte{b[0] ^ byte(1<<rng.IntN(8))}, off)
			return err
		}},
		{"zero 4 KiB", errs.DataLoss, func(path string, size int64) error {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(make([]byte, 4096), rng.Int64N(max(size-4096, 1)))
			return err
		}},
		{"truncate", errs.DataLoss, func(path string, size int64) error { return os.Truncate(path, rng.Int64N(size)) }},
		{"delete", errs.ObjectNotFound, func(path string, size int64) error { return os.Remove(path) }},
	}
	for _, mode := range modes {
		for trial := range 5 {
			data := random(byte(trial), 40_000+rng.IntN(60_000))
			p, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			victim := rng.IntN(6)
			path := shardPath(t, cl, p, victim)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := mode.hurt(path, st.Size()); err != nil {
				t.Fatal(err)
			}
			damage.take()
			fresh := cl.Client(cfg)
			checkRanges(t, fresh, p, data, rng, 5)
			found := false
			for _, d := range damage.take() {
				if d.Index != victim {
					t.Fatalf("%s: damage reported on shard %d, not %d: %v", mode.name, d.Index, victim, d.Err)
				}
				found = found || d.Kind == mode.kind
			}
			// The whole read meets a damaged data shard; a damaged parity
			// shard is not read at all, and its node's verify finds it.
			if victim >= 4 {
				if found {
					t.Fatalf("%s: parity shard %d read by a healthy read", mode.name, victim)
				}
				_, corrupt, err := verifyShard(cl, p, victim)
				found = len(corrupt) > 0 || errs.Is(err, mode.kind)
			}
			if !found {
				t.Fatalf("%s of shard %d not reported as %v", mode.name, victim, mode.kind)
			}
		}
	}
}
