package disk

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestCRCArithmetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 7, 512, 4096, 65536, 65536 + 3, 200000} {
		a := make([]byte, rng.IntN(100000))
		b := make([]byte, n)
		for i := range a {
			a[i] = byte(rng.Uint32())
		}
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		whole := crc32.Checksum(append(append([]byte(nil), a...), b...), castagnoli)
		if got := crcCombine(crc32.Checksum(a, castagnoli), crc32.Checksum(b, castagnoli), int64(n)); got != whole {
			t.Fatalf("combine(%d, %d) = %08x, want %08x", len(a), n, got, whole)
		}
		for _, i := range []int64{0, 5, 1023, 1024, 1 << 40} {
			if got := dataCRC(i, chunkCRC(i, b), int64(n)); got != crc32.Checksum(b, castagnoli) {
				t.Fatalf("dataCRC(%d, %d bytes) = %08x, want %08x", i, n, got, crc32.Checksum(b, castagnoli))
			}
		}
	}
}
