package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// outcome is what one read of a blob range gave: the bytes, and the kind
// of the error that ended it (Other for none).
type outcome struct {
	got  []byte
	kind errs.Kind
	at   string // where the error came: "get" or "read"
}

func (o outcome) String() string {
	return fmt.Sprintf("%d bytes, %v at %s", len(o.got), o.kind, o.at)
}

// readOutcome reads [off, off+n) through Read (io.ReadAll) or through
// WriteTo (io.Copy into a buffer), as the gateway does.
func readOutcome(c *client.Client, p *metadatav1.BlobPlacement, off, n int64, writeTo bool) outcome {
	r, err := c.Get(context.Background(), p, off, n)
	if err != nil {
		return outcome{kind: errs.KindOf(err), at: "get"}
	}
	defer r.Close()
	var got []byte
	if writeTo {
		var b bytes.Buffer
		_, err = io.Copy(&b, r)
		got = b.Bytes()
	} else {
		got, err = io.ReadAll(r)
	}
	o := outcome{got: got, kind: errs.Other, at: "read"}
	if err != nil {
		o.kind = errs.KindOf(err)
	}
	return o
}

// TestFlippedByteLocalAsGRPC flips one stored byte (in a chunk's data, in
// a chunk's checksum, in the file header) and reads ranges of the blob
// through the gRPC path and through the local path: the local path must
// find the damage exactly as the gRPC path does — the same error kind at
// the same step, the same verified bytes before it, never a wrong byte.
// The local reads run with the node's gRPC server stopped, which proves
// their bytes did not cross gRPC.
func TestFlippedByteLocalAsGRPC(t *testing.T) {
	const chunk = 4096
	n := blobstoretest.Start(t, blobstore.Config{ChunkSize: chunk})
	cfg := client.Config{DataShards: 1}
	viaGRPC, err := client.New([]client.Node{{ID: n.ID, Client: n.Client}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	viaLocal, err := client.New([]client.Node{{ID: n.ID, Client: n.Client, Shards: n.Server.Local()}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := random(21, 300*chunk+123)
	chunkAt := func(i int64) int64 { return disk.HeaderSize + i*(chunk+disk.CRCSize) }
	flips := []struct {
		name string
		at   int64 // file offset of the flipped byte
	}{
		{"first chunk", chunkAt(0) + 5},
		{"middle chunk", chunkAt(150) + 100},
		{"last chunk", chunkAt(300) + 122},
		{"a chunk's checksum", chunkAt(77) + chunk + 1},
		{"header", 20},
	}
	ranges := [][2]int64{{0, -1}, {0, 1}, {149 * chunk, 3 * chunk}, {150*chunk + 100, 1}, {151 * chunk, -1}, {300 * chunk, 123}}

	var blobs []*metadatav1.BlobPlacement
	for i, f := range flips {
		p, err := viaGRPC.Put(ctx, fmt.Sprintf("victim%d", i), bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		path, _ := disk.BlobPath(n.Config.DataDir, p.GetBlobId())
		fh, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		fh.ReadAt(b, f.at)
		b[0] ^= 0x10
		fh.WriteAt(b, f.at)
		fh.Close()
		blobs = append(blobs, p)
	}
	read := func(c *client.Client) [][][2]outcome {
		out := make([][][2]outcome, len(blobs))
		for i, p := range blobs {
			for _, r := range ranges {
				out[i] = append(out[i], [2]outcome{readOutcome(c, p, r[0], r[1], false), readOutcome(c, p, r[0], r[1], true)})
			}
		}
		return out
	}
	want := read(viaGRPC)
	n.Runtime.Stop(ctx) // from here on, only the local path can read
	got := read(viaLocal)

	damaged := 0
	for i, f := range flips {
		for j, r := range ranges {
			for k, how := range []string{"Read", "WriteTo"} {
				g, w := got[i][j][k], want[i][j][k]
				if g.kind != w.kind || g.at != w.at || !bytes.Equal(g.got, w.got) {
					t.Errorf("%s, range %v, %s: local path gave %v, gRPC path %v", f.name, r, how, g, w)
				}
				// Whatever came back is a prefix of the range's true bytes.
				end := int64(len(data))
				if r[1] >= 0 {
					end = r[0] + r[1]
				}
				if !bytes.HasPrefix(data[r[0]:end], g.got) {
					t.Errorf("%s, range %v, %s: wrong bytes returned", f.name, r, how)
				}
				if g.kind == errs.DataLoss {
					damaged++
				}
			}
		}
	}
	if damaged == 0 {
		t.Fatal("no read found the damage")
	}
	// A read that does not touch the damage is whole on both paths.
	if o := got[1][0][0]; o.kind != errs.DataLoss {
		t.Fatalf("whole read over a flipped byte: %v", o)
	}
	if o := got[0][5][0]; o.kind != errs.Other || !bytes.Equal(o.got, data[300*chunk:]) {
		t.Fatalf("read away from the flipped byte: %v", o)
	}
}
