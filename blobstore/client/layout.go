package client

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// The content of an erasure-coded shard (what the node stores, inside its
// own chunk-checksummed file format):
//
//	shard header (ShardHeaderSize = 64 bytes, little-endian)
//	  0  magic "COFFSHRD"
//	  8  format version (uint16, 1)
//	  10 shard index (uint16)
//	  12 data shards k (uint16)
//	  14 parity shards m (uint16)
//	  16 stripe size S (uint32)
//	  20 reserved (uint32, zero)
//	  24 object size (int64; -1 when the writer did not know it yet)
//	  32 CRC32C of the blob id (uint32)
//	  36 reserved (24 bytes, zero)
//	  60 CRC32C of bytes 0..59 (uint32)
//	pieces: this shard's piece of stripe 0, 1, ... n-1
//	shard trailer (ShardTrailerSize = 32 bytes)
//	  0  magic "COFFSEND"
//	  8  object size (uint64)
//	  16 CRC32C of the whole object (uint32)
//	  20 CRC32C of the blob id (uint32)
//	  24 reserved (uint32, zero)
//	  28 CRC32C of bytes 0..27 (uint32)
//
// A stripe is k*S bytes of the object cut into k pieces of S bytes; the m
// parity pieces are computed from them. The last stripe holds the r
// remaining bytes in k pieces of ceil(r/k) bytes (zero-padded), so every
// shard of an object has the same length and small objects cost 1+m/k of
// their size, not k+m stripes. Piece s of every shard therefore starts at
// content offset ShardHeaderSize + s*S, which is what lets a range read
// touch only the stripes it needs.
const (
	ShardHeaderSize  = 64
	ShardTrailerSize = 32
	shardVersion     = 1
)

var (
	shardMagic   = [8]byte{'C', 'O', 'F', 'F', 'S', 'H', 'R', 'D'}
	trailerMagic = [8]byte{'C', 'O', 'F', 'F', 'S', 'E', 'N', 'D'}
)

// MaxShards bounds k+m (Reed–Solomon over GF(2^8) allows 256 shards).
const MaxShards = 256

// geometry is how one placement cuts an object into shards.
type geometry struct {
	k, m int
	s    int64 // stripe size: bytes per data shard per stripe
}

func geometryOf(p *metadatav1.BlobPlacement) geometry {
	return geometry{k: int(p.GetDataShards()), m: int(p.GetParityShards()), s: int64(p.GetStripeSize())}
}

// stripeBytes is the object bytes per full stripe.
func (g geometry) stripeBytes() int64 { return int64(g.k) * g.s }

// stripes is the number of stripes of an object of n bytes.
func (g geometry) stripes(n int64) int64 { return (n + g.stripeBytes() - 1) / g.stripeBytes() }

// pieceLen is the length of every shard's piece of stripe i.
func (g geometry) pieceLen(n, i int64) int64 {
	if i < g.stripes(n)-1 {
		return g.s
	}
	r := n - i*g.stripeBytes()
	return (r + int64(g.k) - 1) / int64(g.k)
}

// stripeLen is the object bytes in stripe i.
func (g geometry) stripeLen(n, i int64) int64 { return min(g.stripeBytes(), n-i*g.stripeBytes()) }

// piecesLen is the length of one shard's pieces for an object of n bytes.
func (g geometry) piecesLen(n int64) int64 {
	if n == 0 {
		return 0
	}
	last := g.stripes(n) - 1
	return last*g.s + g.pieceLen(n, last)
}

// shardSize is the content length of every shard of an object of n bytes.
func (g geometry) shardSize(n int64) int64 {
	return ShardHeaderSize + g.piecesLen(n) + ShardTrailerSize
}

// pieceOffset is the content offset of stripe i's piece in every shard.
func (g geometry) pieceOffset(i int64) int64 { return ShardHeaderSize + i*g.s }

// IsErasureCoded reports whether a placement is cut into shards (anything
// but one whole copy, k=1 m=0, which keeps the blob id as its file name and
// the plain content, exactly as before erasure coding existed).
func IsErasureCoded(p *metadatav1.BlobPlacement) bool {
	return !(p.GetDataShards() == 1 && p.GetParityShards() == 0)
}

// ShardID is the id under which a node stores shard index of the blob: the
// blob id itself for a whole copy (k=1, m=0), "<blob id>.<index>" for an
// erasure-coded shard. The index in the name lets a node that once held
// shard 2 and is later given shard 4 of the same blob keep them apart, and
// lets the garbage collector and scrubber know what a file is without
// asking anyone.
func ShardID(p *metadatav1.BlobPlacement, index int) string {
	if !IsErasureCoded(p) {
		return p.GetBlobId()
	}
	return p.GetBlobId() + "." + strconv.Itoa(index)
}

// ParseShardID splits a stored id of the form "<blob id>.<index>" (index in
// canonical decimal, below MaxShards). ok is false for anything else. An id
// that parses may still be a whole copy whose blob id happens to contain a
// dot: callers that delete must consider both readings.
func ParseShardID(id string) (blobID string, index int, ok bool) {
	dot := strings.LastIndexByte(id, '.')
	if dot <= 0 || dot == len(id)-1 {
		return "", 0, false
	}
	num := id[dot+1:]
	if len(num) > 1 && num[0] == '0' {
		return "", 0, false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= MaxShards || strconv.Itoa(i) != num {
		return "", 0, false
	}
	return id[:dot], i, true
}

// shardHeader is the decoded header of a shard.
type shardHeader struct {
	index  int
	k, m   int
	stripe int64
	size   int64 // -1: unknown when written; see the trailer
	idCRC  uint32
}

func idCRC(blobID string) uint32 { return crc32.Checksum([]byte(blobID), castagnoli) }

func (h shardHeader) encode() []byte {
	b := make([]byte, ShardHeaderSize)
	copy(b, shardMagic[:])
	binary.LittleEndian.PutUint16(b[8:], shardVersion)
	binary.LittleEndian.PutUint16(b[10:], uint16(h.index))
	binary.LittleEndian.PutUint16(b[12:], uint16(h.k))
	binary.LittleEndian.PutUint16(b[14:], uint16(h.m))
	binary.LittleEndian.PutUint32(b[16:], uint32(h.stripe))
	binary.LittleEndian.PutUint64(b[24:], uint64(h.size))
	binary.LittleEndian.PutUint32(b[32:], h.idCRC)
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

// decodeShardHeader parses a header and checks it against the placement and
// the shard index it was read as. Any disagreement is DataLoss: the shard
// cannot be trusted to be the one the placement names.
func decodeShardHeader(op string, p *metadatav1.BlobPlacement, index int, b []byte) (shardHeader, error) {
	bad := func(why string) (shardHeader, error) {
		return shardHeader{}, errs.Errorf(errs.DataLoss, op, "shard header %s", why).
			WithDetail("blob_id", p.GetBlobId()).WithDetail("shard", strconv.Itoa(index))
	}
	if len(b) < ShardHeaderSize {
		return bad("is truncated")
	}
	if [8]byte(b[:8]) != shardMagic || crc32.Checksum(b[:60], castagnoli) != binary.LittleEndian.Uint32(b[60:]) {
		return bad("is damaged")
	}
	if binary.LittleEndian.Uint16(b[8:]) != shardVersion {
		return bad("has an unknown version")
	}
	h := shardHeader{
		index:  int(binary.LittleEndian.Uint16(b[10:])),
		k:      int(binary.LittleEndian.Uint16(b[12:])),
		m:      int(binary.LittleEndian.Uint16(b[14:])),
		stripe: int64(binary.LittleEndian.Uint32(b[16:])),
		size:   int64(binary.LittleEndian.Uint64(b[24:])),
		idCRC:  binary.LittleEndian.Uint32(b[32:]),
	}
	g := geometryOf(p)
	switch {
	case h.index != index:
		return bad("names another shard index")
	case h.k != g.k || h.m != g.m || h.stripe != g.s:
		return bad("disagrees with the placement's coding")
	case h.idCRC != idCRC(p.GetBlobId()):
		return bad("belongs to another blob")
	case h.size < -1:
		return bad("has a bad size")
	}
	return h, nil
}

// shardTrailer is the decoded trailer of a shard.
type shardTrailer struct {
	size  int64
	crc   uint32 // of the whole object
	idCRC uint32
}

func (t shardTrailer) encode() []byte {
	b := make([]byte, ShardTrailerSize)
	copy(b, trailerMagic[:])
	binary.LittleEndian.PutUint64(b[8:], uint64(t.size))
	binary.LittleEndian.PutUint32(b[16:], t.crc)
	binary.LittleEndian.PutUint32(b[20:], t.idCRC)
	binary.LittleEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return b
}

func decodeShardTrailer(op string, p *metadatav1.BlobPlacement, b []byte) (shardTrailer, error) {
	bad := func(why string) (shardTrailer, error) {
		return shardTrailer{}, errs.Errorf(errs.DataLoss, op, "shard trailer %s", why).WithDetail("blob_id", p.GetBlobId())
	}
	if len(b) < ShardTrailerSize {
		return bad("is truncated")
	}
	if [8]byte(b[:8]) != trailerMagic || crc32.Checksum(b[:28], castagnoli) != binary.LittleEndian.Uint32(b[28:]) {
		return bad("is damaged")
	}
	t := shardTrailer{
		size:  int64(binary.LittleEndian.Uint64(b[8:])),
		crc:   binary.LittleEndian.Uint32(b[16:]),
		idCRC: binary.LittleEndian.Uint32(b[20:]),
	}
	if t.idCRC != idCRC(p.GetBlobId()) || t.size < 0 {
		return bad("belongs to another blob")
	}
	return t, nil
}
