package objects

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"strings"

	"github.com/cespare/xxhash/v2"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/zeebo/xxh3"
)

// S3's additional checksums: every algorithm S3 accepts (CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256, and since 2025 MD5, SHA512, XXHASH64, XXHASH3,
// XXHASH128). A value is the base64 of the digest in big-endian byte order,
// which is how every hash here appends its sum (xxhash's and xxh3's Sum
// write the canonical big-endian form: XXH64 and XXH3-64 as one uint64,
// XXH3-128 high half first).

// crc64NVME is the CRC-64/NVME table (reflected polynomial 0x9a6c9329ac4bc9b5,
// init and xorout all ones — Go's crc64 applies both).
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// algorithm describes one checksum algorithm.
type algorithm struct {
	alg  metadatav1.ChecksumAlgorithm
	name string // as S3 spells it: x-amz-checksum-<lower>, ChecksumAlgorithm values
	size int    // raw digest length
	hash func() hash.Hash
}

// algorithms is the table, in S3's order of listing.
var algorithms = []algorithm{
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32, "CRC32", 4, func() hash.Hash { return crc32.NewIEEE() }},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C, "CRC32C", 4, func() hash.Hash { return crc32.New(castagnoli) }},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME, "CRC64NVME", 8, func() hash.Hash { return crc64.New(crc64NVME) }},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA1, "SHA1", 20, sha1.New},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256, "SHA256", 32, sha256.New},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_MD5, "MD5", 16, md5.New},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA512, "SHA512", 64, sha512.New},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH64, "XXHASH64", 8, func() hash.Hash { return xxhash.New() }},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH3, "XXHASH3", 8, func() hash.Hash { return xxh3.New() }},
	{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH128, "XXHASH128", 16, func() hash.Hash { return xxh3.New128() }},
}

func lookup(alg metadatav1.ChecksumAlgorithm) (algorithm, bool) {
	for _, a := range algorithms {
		if a.alg == alg {
			return a, true
		}
	}
	return algorithm{}, false
}

// AlgorithmName returns S3's name of alg ("CRC32", ...), or "".
func AlgorithmName(alg metadatav1.ChecksumAlgorithm) string {
	a, _ := lookup(alg)
	return a.name
}

// ParseAlgorithm parses S3's name of a checksum algorithm, case-insensitively.
func ParseAlgorithm(name string) (metadatav1.ChecksumAlgorithm, bool) {
	for _, a := range algorithms {
		if strings.EqualFold(a.name, name) {
			return a.alg, true
		}
	}
	return metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED, false
}

// Algorithms lists every supported algorithm.
func Algorithms() []metadatav1.ChecksumAlgorithm {
	out := make([]metadatav1.ChecksumAlgorithm, len(algorithms))
	for i, a := range algorithms {
		out[i] = a.alg
	}
	return out
}

// AlgorithmNames lists S3's names of every supported algorithm, sorted as
// S3 lists them in its "valid types" messages.
func AlgorithmNames() []string {
	return []string{"CRC32", "CRC32C", "CRC64NVME", "MD5", "SHA1", "SHA256", "SHA512", "XXHASH128", "XXHASH3", "XXHASH64"}
}

// NewHash returns a fresh hash for alg, or nil for an unknown algorithm.
func NewHash(alg metadatav1.ChecksumAlgorithm) hash.Hash {
	if a, ok := lookup(alg); ok {
		return a.hash()
	}
	return nil
}

// DigestLen is the raw length of an algorithm's digest, 0 if unknown.
func DigestLen(alg metadatav1.ChecksumAlgorithm) int {
	a, _ := lookup(alg)
	return a.size
}
