package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

var ctx = context.Background()

func newClient(t testing.TB, nodes ...*blobstoretest.Node) *client.Client {
	t.Helper()
	c, err := client.New(blobstoretest.ClientNodes(nodes), client.Config{DataShards: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func random(seed byte, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func readAll(t *testing.T, c *client.Client, p *metadatav1.BlobPlacement, off, n int64) ([]byte, error) {
	t.Helper()
	r, err := c.Get(ctx, p, off, n)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// waitNothingLeft waits for the node to drop an aborted write: the client
// returns as soon as it cancels, and the node cleans up when it sees that.
func waitNothingLeft(t *testing.T, n *blobstoretest.Node, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ents, _ := os.ReadDir(disk.TempDir(n.Config.DataDir))
		_, err := n.Client.StatBlob(ctx, &blobv1.StatBlobRequest{BlobId: id})
		if len(ents) == 0 && errs.Is(err, errs.ObjectNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind: %d temp files, stat %v", len(ents), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPutGetDelete(t *testing.T) { blobstoretest.Paths(t, testPutGetDelete) }

func testPutGetDelete(t *testing.T) {
	n := blobstoretest.Start(t, blobstore.Config{})
	c := newClient(t, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, size := range []int{0, 1, 65535, 65536, 65537, 3<<20 + 5} {
		data := random(byte(i), size)
		id := client.NewBlobID()
		announced := int64(size)
		if i%2 == 1 {
			announced = -1
		}
		p, err := c.Put(ctx, id, bytes.NewReader(data), announced)
		if err != nil {
			t.Fatalf("put %d: %v", size, err)
		}
		if p.GetBlobId() != id || p.GetDataShards() != 1 || p.GetParityShards() != 0 || p.GetStripeSize() != client.DefaultStripeSize ||
			len(p.GetShards()) != 1 || p.GetShards()[0].GetNodeId() != n.ID || p.GetShards()[0].GetIndex() != 0 {
			t.Fatalf("placement %v", p)
		}
		for range 10 {
			off := rng.Int64N(int64(size) + 1)
			ln := int64(-1)
			if rng.IntN(3) > 0 {
				ln = rng.Int64N(int64(size) - off + 10)
			}
			got, err := readAll(t, c, p, off, ln)
			end := int64(size)
			if ln >= 0 {
				end = min(end, off+ln)
			}
			if err != nil || !bytes.Equal(got, data[off:end]) {
				t.Fatalf("size %d: get %d+%d: %d bytes, %v", size, off, ln, len(got), err)
			}
		}
		if _, err := c.Get(ctx, p, int64(size)+1, -1); !errs.Is(err, errs.InvalidRange) {
			t.Fatalf("get past the end: %v", err)
		}
		if err := c.Delete(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, p); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := c.Get(ctx, p, 0, -1); !errs.Is(err, errs.ObjectNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
	}

	bad := &metadatav1.BlobPlacement{BlobId: "x", DataShards: 1, Shards: []*metadatav1.ShardLocation{{NodeId: "elsewhere"}}}
	if _, err := c.Get(ctx, bad, 0, -1); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("unknown node: %v", err)
	}
	if _, err := c.Get(ctx, &metadatav1.BlobPlacement{BlobId: "x", DataShards: 4, ParityShards: 2}, 0, -1); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("ec placement without a stripe size: %v", err)
	}
	if _, err := client.New(blobstoretest.ClientNodes([]*blobstoretest.Node{n}), client.Config{DataShards: 4, ParityShards: 2, WriteQuorum: 7}); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("quorum above k+m: %v", err)
	}
	if _, err := client.New(nil, client.Config{}); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("no nodes: %v", err)
	}
}

// failingReader yields n bytes, then fails with err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestPutAbortLeavesNothing(t *testing.T) { blobstoretest.Paths(t, testPutAbortLeavesNothing) }

func testPutAbortLeavesNothing(t *testing.T) {
	n := blobstoretest.Start(t, blobstore.Config{})
	c := newClient(t, n)
	digest := errs.Errorf(errs.BadDigest, "verify", "md5 mismatch")
	cases := []struct {
		name string
		r    io.Reader
		size int64
		kind errs.Kind
	}{
		{"reader error", &failingReader{n: 1 << 20, err: errors.New("connection reset")}, -1, errs.IncompleteBody},
		{"domain error passes through", &failingReader{n: 3 << 20, err: digest}, 3 << 20, errs.BadDigest},
		{"short body", bytes.NewReader(make([]byte, 1000)), 2000, errs.IncompleteBody},
		{"long body", bytes.NewReader(make([]byte, 3000)), 2000, errs.InvalidArgument},
	}
	for _, tc := range cases {
		id := client.NewBlobID()
		_, err := c.Put(ctx, id, tc.r, tc.size)
		if !errs.Is(err, tc.kind) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.kind)
		}
		waitNothingLeft(t, n, id)
	}
}

// blockingReader yields some bytes, then blocks until released.
type blockingReader struct {
	n       int
	started chan struct{}
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if b.n > 0 {
		k := min(len(p), b.n)
		b.n -= k
		return k, nil
	}
	close(b.started)
	<-b.release
	return 0, io.ErrClosedPipe
}

func TestCancelMidPut(t *testing.T) { blobstoretest.Paths(t, testCancelMidPut) }

func testCancelMidPut(t *testing.T) {
	n := blobstoretest.Start(t, blobstore.Config{})
	c := newClient(t, n)
	id := client.NewBlobID()
	r := &blockingReader{n: 2 << 20, started: make(chan struct{}), release: make(chan struct{})}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.Put(cctx, id, r, 4<<20)
		done <- err
	}()
	<-r.started
	// The node holds a temp file for the write in progress.
	if ents, _ := os.ReadDir(disk.TempDir(n.Config.DataDir)); len(ents) != 1 {
		t.Fatalf("want one write in progress, got %d", len(ents))
	}
	cancel()
	close(r.release) // a real body reader fails once its request is gone
	if err := <-done; err == nil {
		t.Fatal("cancelled put succeeded")
	}
	waitNothingLeft(t, n, id)
}

func TestCorruptionSurfacesAsReadError(t *testing.T) {
	blobstoretest.Paths(t, testCorruptionSurfacesAsReadError)
}

func testCorruptionSurfacesAsReadError(t *testing.T) {
	n := blobstoretest.Start(t, blobstore.Config{ChunkSize: 4096})
	c := newClient(t, n)
	data := random(9, 2<<20)
	p, err := c.Put(ctx, "victim", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	path, _ := disk.BlobPath(n.Config.DataDir, "victim")
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	const bad = 300 // a chunk well past the first message
	f.WriteAt([]byte{0x5a}, disk.HeaderSize+bad*(4096+disk.CRCSize)+7)
	f.Close()

	r, err := c.Get(ctx, p, 0, -1)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if !errs.Is(err, errs.DataLoss) {
		t.Fatalf("read over a corrupt chunk: %v", err)
	}
	if !bytes.HasPrefix(data, got) || len(got) > bad*4096 {
		t.Fatalf("read returned %d bytes that are not a clean prefix", len(got))
	}
	if _, err := c.Get(ctx, p, bad*4096, 1); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("get of the corrupt chunk: %v", err)
	}
	if got, err := readAll(t, c, p, (bad+1)*4096, -1); err != nil || !bytes.Equal(got, data[(bad+1)*4096:]) {
		t.Fatalf("get after the corrupt chunk: %v", err)
	}
}

func TestManyNodes(t *testing.T) {
	nodes := blobstoretest.StartN(t, 3, blobstore.Config{})
	clients := []blobv1.BlobServiceClient{nodes[0].Client, nodes[1].Client, nodes[2].Client}
	found, err := client.Discover(ctx, clients)
	if err != nil || len(found) != 3 || found[1].ID != nodes[1].ID {
		t.Fatalf("discover: %v %v", found, err)
	}
	if found, err := client.Discover(ctx, append(clients, nodes[0].Client)); err == nil || len(found) != 3 {
		t.Fatalf("discover with a duplicate: %d nodes, %v", len(found), err)
	}
	c, err := client.New(found, client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	perNode := map[string]int{}
	for i := range 30 {
		wg.Go(func() {
			data := random(byte(i), 10000+i)
			p, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(data), -1)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			perNode[p.GetShards()[0].GetNodeId()]++
			mu.Unlock()
			r, err := c.Get(ctx, p, 0, -1)
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
				t.Errorf("read back: %v", err)
			}
		})
	}
	wg.Wait()
	// The nodes share one file system, so they are equally empty and
	// placement round-robins among all three.
	if len(perNode) != 3 {
		t.Fatalf("blobs per node: %v", perNode)
	}

	// A stopped node is skipped for new blobs.
	nodes[2].Stop()
	for range 6 {
		p, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader([]byte("x")), 1)
		if err != nil {
			t.Fatalf("put with a node down: %v", err)
		}
		if p.GetShards()[0].GetNodeId() == nodes[2].ID {
			t.Fatal("placed on a stopped node")
		}
	}
}

// TestGetCloseEndsStream reads a little of a large blob and closes: the
// reader must not have pulled the range up front, and must fail after Close.
func TestGetCloseEndsStream(t *testing.T) { blobstoretest.Paths(t, testGetCloseEndsStream) }

func testGetCloseEndsStream(t *testing.T) {
	n := blobstoretest.Start(t, blobstore.Config{})
	c := newClient(t, n)
	size := int64(32 << 20)
	p, err := c.Put(ctx, "big", io.LimitReader(rand.NewChaCha8([32]byte{}), size), size)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Get(ctx, p, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("read after close succeeded")
	}
}

// TestLargeStreamBoundedMemory puts and gets 64 MiB through the client and
// the node (both in this process) while sampling the heap: streaming must
// hold a few buffers, not the blob. BLOBSTORE_STREAM_MIB=1024 checks a 1 GiB
// blob by hand (the growth stays the same).
func TestLargeStreamBoundedMemory(t *testing.T) { blobstoretest.Paths(t, testLargeStreamBoundedMemory) }

func testLargeStreamBoundedMemory(t *testing.T) {
	n := blobstoretest.Start(t, blobstore.Config{})
	streamBounded(t, newClient(t, n), 32)
}

// TestLargeStreamBoundedMemoryEC is the same through 4+2 shards on six
// nodes: a put holds a few stripes (1.5 MiB each) per shard queue, a get a
// stripe's pieces and the shard streams' flow-control windows.
func TestLargeStreamBoundedMemoryEC(t *testing.T) {
	blobstoretest.Paths(t, testLargeStreamBoundedMemoryEC)
}

func testLargeStreamBoundedMemoryEC(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 6, blobstore.Config{}, blobstore.Deps{})
	streamBounded(t, cl.Client(client.Config{DataShards: 4, ParityShards: 2}), 48)
}

func streamBounded(t *testing.T, c *client.Client, limitMiB float64) {
	size := int64(64 << 20)
	if s := os.Getenv("BLOBSTORE_STREAM_MIB"); s != "" {
		fmt.Sscan(s, &size)
		size <<= 20
	}
	seed := [32]byte{42}

	// The peak of HeapAlloc counts garbage not yet collected as well as
	// what streaming holds on to; fresh message buffers become garbage as
	// soon as they are sent. A low GC target keeps the garbage share small,
	// so the peak measures retention, not the collector's pacing.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms goruntime.MemStats
		for {
			goruntime.ReadMemStats(&ms)
			peak.Store(max(peak.Load(), ms.HeapAlloc))
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()

	p, err := c.Put(ctx, "big", io.LimitReader(rand.NewChaCha8(seed), size), size)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Get(ctx, p, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := io.LimitReader(rand.NewChaCha8(seed), size)
	got, exp := make([]byte, 1<<20), make([]byte, 1<<20)
	var total int64
	for {
		k, err := io.ReadFull(r, got)
		if k > 0 {
			io.ReadFull(want, exp[:k])
			if !bytes.Equal(got[:k], exp[:k]) {
				t.Fatalf("bytes differ near offset %d", total)
			}
			total += int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	close(stop)
	<-sampled
	if total != size {
		t.Fatalf("read %d bytes", total)
	}
	growth := float64(int64(peak.Load())-int64(base)) / (1 << 20)
	t.Logf("heap growth while streaming %d MiB each way: peak %.1f MiB", size>>20, growth)
	if growth > limitMiB {
		t.Fatalf("heap grew by %.1f MiB while streaming %d MiB", growth, size>>20)
	}
}
