package objects

import (
	"bytes"
	"io"
	"testing"
)

// The cost of encryption at rest on the byte path, without I/O: sealing
// (with the digest reader underneath, as a PUT does) and opening.

func BenchmarkSeal(b *testing.B) {
	const size = 8 << 20
	plain := bytes.Repeat([]byte{7}, size)
	key := testKey(1)
	l := &Layer{}
	b.SetBytes(size)
	for b.Loop() {
		d := NewReader(bytes.NewReader(plain), Expect{Size: size}, 0)
		s, err := l.newSealer(b.Context(), "blob", Encryption{Mode: sseC, CustomerKey: key}, d, size)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	const size = 8 << 20
	key := testKey(1)
	l := &Layer{}
	d := NewReader(bytes.NewReader(bytes.Repeat([]byte{7}, size)), Expect{Size: size}, 0)
	s, _ := l.newSealer(b.Context(), "blob", Encryption{Mode: sseC, CustomerKey: key}, d, size)
	blob, _ := io.ReadAll(s)
	stored := Encryption{Mode: sseC, CustomerKey: key}.Metadata()
	b.SetBytes(size)
	for b.Loop() {
		aead, err := l.blobAEAD(b.Context(), "blob", blob[:SealHeaderSize], stored, Encryption{Mode: sseC, CustomerKey: key})
		if err != nil {
			b.Fatal(err)
		}
		r := sealedRangeOf(size, 0, size)
		if _, err := io.Copy(io.Discard, newOpenReader(io.NopCloser(bytes.NewReader(blob[r.start:r.end])), aead, blob[:SealHeaderSize], size, 0, size, r)); err != nil {
			b.Fatal(err)
		}
	}
}
