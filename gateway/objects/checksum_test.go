package objects

import (
	"encoding/hex"
	"testing"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// Known answers, in the canonical (big-endian) byte order S3 base64-encodes:
// the CRC check values of "123456789" from the CRC catalogue, and the
// reference digests of the empty input for the others (xxHash's own test
// vectors for XXH64, XXH3-64 and XXH3-128 with seed 0).
func TestChecksumKnownAnswers(t *testing.T) {
	cases := []struct {
		alg   metadatav1.ChecksumAlgorithm
		input string
		want  string
	}{
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32, "123456789", "cbf43926"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C, "123456789", "e3069283"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME, "123456789", "ae8b14860a799888"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_MD5, "", "d41d8cd98f00b204e9800998ecf8427e"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA512, "", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH64, "", "ef46db3751d8e999"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH3, "", "2d06800538d394c2"},
		{metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH128, "", "99aa06d3014798d86001c324468d497f"},
	}
	if len(cases) != len(Algorithms()) {
		t.Fatalf("%d known answers for %d algorithms", len(cases), len(Algorithms()))
	}
	for _, c := range cases {
		h := NewHash(c.alg)
		h.Write([]byte(c.input))
		sum := h.Sum(nil)
		if got := hex.EncodeToString(sum); got != c.want {
			t.Errorf("%s(%q) = %s, want %s", AlgorithmName(c.alg), c.input, got, c.want)
		}
		if len(sum) != DigestLen(c.alg) {
			t.Errorf("%s: digest of %d bytes, table says %d", AlgorithmName(c.alg), len(sum), DigestLen(c.alg))
		}
		if a, ok := ParseAlgorithm(AlgorithmName(c.alg)); !ok || a != c.alg {
			t.Errorf("%s does not parse back", AlgorithmName(c.alg))
		}
	}
}
