package disk

import (
	"encoding/binary"
	"hash/crc32"
	"sync"
)

// CRC32C arithmetic that lets a reader (or writer) learn the checksum of
// the whole content from the chunk checksums it verifies anyway, instead of
// hashing every byte a second time: CRCs are linear, so
//
//	crc(a ‖ b) = shift(crc(a), len(b)) ⊕ crc(b)
//
// where shift(c, n) runs the CRC register over n zero bytes from c (no
// pre- or post-conditioning). A chunk's stored checksum is
// crc32.Update(crc(index), data), from which crc(data) follows the same
// way (dataCRC). shift is a linear map, computed as a 32×32 matrix over
// GF(2) by repeated squaring (as zlib's crc32_combine does) and cached per
// length, so combining a chunk costs a few hundred bit operations, not a
// pass over 64 KiB.

// gf2 is a linear map on 32-bit CRC registers: row i is the image of bit i.
type gf2 [32]uint32

func (m *gf2) apply(v uint32) uint32 {
	var out uint32
	for i := 0; v != 0; i, v = i+1, v>>1 {
		if v&1 != 0 {
			out ^= m[i]
		}
	}
	return out
}

// mul returns a∘b (b first).
func mul(a, b *gf2) gf2 {
	var out gf2
	for i := range b {
		out[i] = a.apply(b[i])
	}
	return out
}

// castagnoliReflected is the reflected Castagnoli polynomial.
const castagnoliReflected = 0x82f63b78

// zeroShift returns the map shift(·, n).
func zeroShift(n int64) gf2 {
	// One zero bit: shift right, folding in the polynomial.
	var bit gf2
	bit[0] = castagnoliReflected
	for i := 1; i < 32; i++ {
		bit[i] = 1 << (i - 1)
	}
	// One zero byte is eight zero bits.
	sq := mul(&bit, &bit) // 2 bits
	sq = mul(&sq, &sq)    // 4 bits
	sq = mul(&sq, &sq)    // 8 bits: one byte
	var acc gf2
	for i := range acc {
		acc[i] = 1 << i // identity
	}
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			acc = mul(&sq, &acc)
		}
		sq = mul(&sq, &sq)
	}
	return acc
}

var shifts sync.Map // int64 → *gf2

// shiftBy returns shift(·, n), cached (chunk lengths repeat).
func shiftBy(n int64) *gf2 {
	if m, ok := shifts.Load(n); ok {
		return m.(*gf2)
	}
	m := zeroShift(n)
	shifts.Store(n, &m)
	return &m
}

// crcCombine returns the CRC32C of a ‖ b from crc(a), crc(b) and len(b).
func crcCombine(crcA, crcB uint32, lenB int64) uint32 {
	if lenB == 0 {
		return crcA
	}
	return shiftBy(lenB).apply(crcA) ^ crcB
}

// indexCRCs caches the crc32c of the 8-byte chunk indexes mixed into
// chunk checksums, for the first chunks of every blob (64 MiB of 64 KiB
// chunks).
var indexCRCs = func() []uint32 {
	out := make([]uint32, 1024)
	for i := range out {
		out[i] = computeIndexCRC(int64(i))
	}
	return out
}()

// indexCRC is the crc32c of chunk index i as chunkCRC mixes it in.
func indexCRC(i int64) uint32 {
	if i >= 0 && i < int64(len(indexCRCs)) {
		return indexCRCs[i]
	}
	return computeIndexCRC(i)
}

func computeIndexCRC(i int64) uint32 {
	var idx [8]byte
	binary.LittleEndian.PutUint64(idx[:], uint64(i))
	return crc32.Checksum(idx[:], castagnoli)
}

// dataCRC returns the CRC32C of a chunk's data from its stored checksum
// (chunkCRC(i, data)) and its length: chunkCRC = Update(A, data) with
// A = crc(index), and Update(A, d) = crc(d) ⊕ shift(A, len d).
func dataCRC(i int64, stored uint32, n int64) uint32 {
	return stored ^ shiftBy(n).apply(indexCRC(i))
}
