package runtime

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
)

// TestCodecReplacesDefault: gRPC uses this package's codec, and it round
// trips small and large messages, whole and split across many buffers (a
// message received in 16 KiB frames), with pooled buffers reused dirty.
func TestCodecReplacesDefault(t *testing.T) {
	c := encoding.GetCodecV2("proto")
	if _, ok := c.(codec); !ok {
		t.Fatalf("the proto codec is %T", c)
	}
	for _, n := range []int{0, 10, 5000, 1 << 20} {
		data := bytes.Repeat([]byte{byte(n)}, n)
		in := &blobv1.GetBlobResponse{Blob: &blobv1.BlobInfo{BlobId: "b", Size: int64(n)}, Data: data}
		enc, err := c.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		flat := enc.Materialize()
		enc.Free()
		var split mem.BufferSlice
		for b := flat; len(b) > 0; {
			k := min(len(b), 16<<10)
			split = append(split, mem.SliceBuffer(b[:k]))
			b = b[k:]
		}
		for _, d := range []mem.BufferSlice{{mem.SliceBuffer(flat)}, split} {
			out := &blobv1.GetBlobResponse{}
			if err := c.Unmarshal(d, out); err != nil || !bytes.Equal(out.GetData(), data) || out.GetBlob().GetSize() != int64(n) {
				t.Fatalf("%d bytes: %v", n, err)
			}
		}
	}
	if _, err := c.Marshal("not a message"); err == nil {
		t.Fatal("marshalled a string")
	}
}
