package objects

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strconv"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// A multipart object's checksum is computed from its parts' checksums, never
// by reading the object back (spec/s3.md §3):
//
//   - COMPOSITE: base64(alg(concat(raw part checksums))) + "-N", for every
//     algorithm;
//   - FULL_OBJECT: the CRC of the whole content, obtained by combining the
//     parts' CRCs with their lengths (CRC32, CRC32C, CRC64NVME only).

// crcPoly describes a reflected CRC whose init and xorout are all ones (CRC32,
// CRC32C and CRC64NVME all are), which is what makes the zlib combination
// below valid for it.
type crcPoly struct {
	width int    // 32 or 64
	poly  uint64 // reflected polynomial
}

var combinable = map[metadatav1.ChecksumAlgorithm]crcPoly{
	metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32:     {32, uint64(crc32.IEEE)},
	metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C:    {32, uint64(crc32.Castagnoli)},
	metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME: {64, 0x9a6c9329ac4bc9b5},
}

// CanCombine reports whether alg supports FULL_OBJECT checksums of multipart
// objects (the CRCs).
func CanCombine(alg metadatav1.ChecksumAlgorithm) bool {
	_, ok := combinable[alg]
	return ok
}

// mulModP multiplies a and b modulo the polynomial, both in the reflected
// representation where the top bit is x^0 (zlib's multmodp).
func (c crcPoly) mulModP(a, b uint64) uint64 {
	top := uint64(1) << (c.width - 1)
	var p uint64
	for m := top; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ c.poly
		} else {
			b >>= 1
		}
	}
	return p
}

// xPow8n returns x^(8n) modulo the polynomial: the operator that shifts a
// CRC over n zero bytes.
func (c crcPoly) xPow8n(n uint64) uint64 {
	top := uint64(1) << (c.width - 1)
	p := top       // x^0
	sq := top >> 1 // x^1
	// Square x up to x^8 = x^(2^3), then multiply in x^(2^k) for each set bit.
	for range 3 {
		sq = c.mulModP(sq, sq)
	}
	for ; n != 0; n >>= 1 {
		if n&1 != 0 {
			p = c.mulModP(sq, p)
		}
		sq = c.mulModP(sq, sq)
	}
	return p
}

// combine returns the CRC of A||B from crc(A), crc(B) and len(B).
func (c crcPoly) combine(crcA, crcB uint64, lenB int64) uint64 {
	return c.mulModP(c.xPow8n(uint64(lenB)), crcA) ^ crcB
}

// PartChecksum is what a multipart checksum needs of one part.
type PartChecksum struct {
	Size int64
	// Value is the part's base64 checksum.
	Value string
}

// MultipartChecksum computes the checksum of a multipart object of the
// given type from its parts' checksums, in part order.
func MultipartChecksum(alg metadatav1.ChecksumAlgorithm, typ metadatav1.ChecksumType, parts []PartChecksum) (*metadatav1.Checksum, error) {
	const op = "objects.MultipartChecksum"
	n := DigestLen(alg)
	if n == 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "unknown checksum algorithm %v", alg)
	}
	raws := make([][]byte, len(parts))
	for i, p := range parts {
		raw, err := base64.StdEncoding.DecodeString(p.Value)
		if err != nil || len(raw) != n {
			return nil, errs.Errorf(errs.Internal, op, "stored %s checksum of part %d is not valid", AlgorithmName(alg), i+1)
		}
		raws[i] = raw
	}
	switch typ {
	case metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE:
		h := NewHash(alg)
		for _, raw := range raws {
			h.Write(raw)
		}
		return &metadatav1.Checksum{
			Algorithm: alg, Type: typ,
			Value: base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)),
		}, nil
	case metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT:
		c, ok := combinable[alg]
		if !ok {
			return nil, errs.Errorf(errs.InvalidRequest, op, "The FULL_OBJECT checksum type is not supported for %s.", AlgorithmName(alg))
		}
		var crc uint64
		// Parts usually share one size: remember its shift operator.
		shifts := map[int64]uint64{}
		for i, raw := range raws {
			var v uint64
			if c.width == 64 {
				v = binary.BigEndian.Uint64(raw)
			} else {
				v = uint64(binary.BigEndian.Uint32(raw))
			}
			if i == 0 {
				crc = v
				continue
			}
			op, ok := shifts[parts[i].Size]
			if !ok {
				op = c.xPow8n(uint64(parts[i].Size))
				shifts[parts[i].Size] = op
			}
			crc = c.mulModP(op, crc) ^ v
		}
		out := make([]byte, 8)
		binary.BigEndian.PutUint64(out, crc)
		return &metadatav1.Checksum{
			Algorithm: alg, Type: typ, Value: base64.StdEncoding.EncodeToString(out[8-c.width/8:]),
		}, nil
	}
	return nil, errs.Errorf(errs.InvalidArgument, op, "unknown checksum type %v", typ)
}
