package objects

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/coffer-project/coffer/services/errs"
)

// TestSealUnknownSize: a body of unknown length (a browser form's file, a
// chunked upload) seals into exactly the blob its known length gives —
// same package boundaries, the last package marked final — whatever the
// sizes of the reads, and a digest mismatch still withholds the last
// package.
func TestSealUnknownSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	key := testKey(4)
	for _, size := range []int64{0, 1, SealPackageSize - 1, SealPackageSize, SealPackageSize + 1, 2 * SealPackageSize, 3*SealPackageSize + 17} {
		plain := make([]byte, size)
		for i := range plain {
			plain[i] = byte(rng.Uint32())
		}
		for _, name := range []string{"whole reads", "one byte at a time"} {
			var src io.Reader = bytes.NewReader(plain)
			if name == "one byte at a time" {
				src = iotest.OneByteReader(src)
			}
			l := &Layer{}
			d := NewReader(src, Expect{Size: -1}, 0)
			s, err := l.newSealer(t.Context(), "blob", Encryption{Mode: sseC, CustomerKey: key}, d, -1)
			if err != nil {
				t.Fatal(err)
			}
			blob, err := io.ReadAll(s)
			if err != nil {
				t.Fatalf("size %d, %s: %v", size, name, err)
			}
			if int64(len(blob)) != SealedSize(size) {
				t.Fatalf("size %d, %s: blob %d bytes, want %d", size, name, len(blob), SealedSize(size))
			}
			if got, err := open(t, blob, size, 0, size, key); err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("size %d, %s: read back: %v", size, name, err)
			}
			if d.Digests().Size != size {
				t.Fatalf("size %d: digests say %d", size, d.Digests().Size)
			}
		}
	}
	plain := bytes.Repeat([]byte{1}, 2*SealPackageSize)
	d := NewReader(bytes.NewReader(plain), Expect{Size: -1, ContentMD5: base64.StdEncoding.EncodeToString(make([]byte, 16))}, 0)
	s, err := (&Layer{}).newSealer(t.Context(), "blob", Encryption{Mode: sseC, CustomerKey: key}, d, -1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(s)
	if errs.KindOf(err) != errs.BadDigest || int64(len(out)) >= SealedSize(int64(len(plain))) {
		t.Fatalf("a bad digest: %v after %d bytes", err, len(out))
	}
}
