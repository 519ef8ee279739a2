package client_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/client"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

var benchSizes = []int{4 << 10, 8 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// BenchmarkPut measures durable puts through the client over loopback
// gRPC: each op streams one blob and waits for the file and directory
// fsyncs, so small blobs measure fsync latency and large ones throughput.
func BenchmarkPut(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			n := blobstoretest.Start(b, blobstore.Config{})
			c := newClient(b, n)
			data := random(1, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(data), int64(size)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet measures whole-blob reads (chunk checksums verified on the
// node, the content CRC on the client) through the client over loopback.
func BenchmarkGet(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			n := blobstoretest.Start(b, blobstore.Config{})
			c := newClient(b, n)
			p, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(random(2, size)), int64(size))
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1<<20)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r, err := c.Get(ctx, p, 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}

// BenchmarkErasureCoding compares 64 MiB puts and gets with 4+2 shards on
// six nodes against one whole copy (1+0) on the same nodes, and a get with
// two nodes down (two data shards reconstructed from parity) against a
// healthy one. Every node runs in this process on one file system, so the
// figures compare codings, not clusters.
func BenchmarkErasureCoding(b *testing.B) {
	const size = 64 << 20
	data := random(3, size)
	cl := blobstoretest.StartCluster(b, 6, blobstore.Config{}, blobstore.Deps{})
	codings := []struct {
		name string
		cfg  client.Config
	}{{"1+0", client.Config{}}, {"4+2", client.Config{DataShards: 4, ParityShards: 2}}}
	get := func(b *testing.B, c *client.Client, p *metadatav1.BlobPlacement) {
		buf := make([]byte, 1<<20)
		b.SetBytes(size)
		for b.Loop() {
			r, err := c.Get(ctx, p, 0, -1)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil || n != size {
				b.Fatal(n, err)
			}
			r.Close()
		}
	}
	placements := map[string]*metadatav1.BlobPlacement{}
	for _, cd := range codings {
		c := cl.Client(cd.cfg)
		b.Run("put/"+cd.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				p, err := c.Put(ctx, client.NewBlobID(), bytes.NewReader(data), size)
				if err != nil {
					b.Fatal(err)
				}
				placements[cd.name] = p
			}
		})
		b.Run("get/"+cd.name, func(b *testing.B) { get(b, c, placements[cd.name]) })
	}
	p := placements["4+2"]
	for _, i := range []int{1, 2} { // two data shards' nodes
		cl.Node(p.GetShards()[i].GetNodeId()).Stop()
	}
	c := cl.Client(client.Config{DataShards: 4, ParityShards: 2})
	b.Run("get/4+2-two-down", func(b *testing.B) { get(b, c, p) })
}
