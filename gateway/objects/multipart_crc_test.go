package objects

import (
	"crypto/sha256"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func sum(alg metadatav1.ChecksumAlgorithm, b []byte) string {
	h := NewHash(alg)
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TestFullObjectCRCMatchesDirect splits random bodies into random parts
// (including empty ones) and checks that combining the parts' CRCs gives the
// CRC of the whole body, for every combinable algorithm.
func TestFullObjectCRCMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, alg := range []metadatav1.ChecksumAlgorithm{
		metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32,
		metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C,
		metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME,
	} {
		for trial := range 200 {
			body := make([]byte, rng.IntN(5000))
			for i := range body {
				body[i] = byte(rng.Uint32())
			}
			var parts []PartChecksum
			for off := 0; off < len(body) || len(parts) == 0; {
				n := min(rng.IntN(700), len(body)-off)
				parts = append(parts, PartChecksum{Size: int64(n), Value: sum(alg, body[off:off+n])})
				off += n
			}
			got, err := MultipartChecksum(alg, metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT, parts)
			if err != nil {
				t.Fatal(err)
			}
			if want := sum(alg, body); got.GetValue() != want {
				t.Fatalf("%s trial %d (%d bytes, %d parts): combined %s, direct %s", AlgorithmName(alg), trial, len(body), len(parts), got.GetValue(), want)
			}
		}
	}
}

// TestCombineLongShift combines over a part length far beyond any test
// body, which exercises the high squarings of the shift operator.
func TestCombineLongShift(t *testing.T) {
	c := combinable[metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME]
	if c.combine(0, 0, 5<<40) != 0 {
		t.Fatal("combining zero CRCs must stay zero")
	}
	// Shifting by a+b bytes equals shifting by a, then by b.
	a, b := uint64(3<<30+7), uint64(5<<33+11)
	if got, want := c.mulModP(c.xPow8n(a), c.xPow8n(b)), c.xPow8n(a+b); got != want {
		t.Fatalf("x^8a * x^8b = %x, x^8(a+b) = %x", got, want)
	}
}

// TestCompositeChecksum checks the composite formula on a known split:
// base64(SHA256(raw1 || raw2)) + "-2".
func TestCompositeChecksum(t *testing.T) {
	alg := metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256
	a, b := sha256.Sum256([]byte("first")), sha256.Sum256([]byte("second"))
	whole := sha256.Sum256(append(a[:], b[:]...))
	got, err := MultipartChecksum(alg, metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE, []PartChecksum{
		{Size: 5, Value: base64.StdEncoding.EncodeToString(a[:])},
		{Size: 6, Value: base64.StdEncoding.EncodeToString(b[:])},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(whole[:]) + "-2"; got.GetValue() != want {
		t.Fatalf("composite %s, want %s", got.GetValue(), want)
	}
	if _, err := MultipartChecksum(alg, metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT, nil); !errs.Is(err, errs.InvalidRequest) {
		t.Fatalf("FULL_OBJECT SHA256: %v", err)
	}
	if _, err := MultipartChecksum(alg, metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE, []PartChecksum{{Value: "AAAA"}}); err == nil {
		t.Fatal("a malformed stored checksum was accepted")
	}
}

func TestResolveChecksumType(t *testing.T) {
	const (
		none      = metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED
		crc32     = metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32
		crc64     = metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME
		sha1      = metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA1
		unset     = metadatav1.ChecksumType_CHECKSUM_TYPE_UNSPECIFIED
		full      = metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT
		composite = metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE
	)
	for _, tc := range []struct {
		alg     metadatav1.ChecksumAlgorithm
		typ     metadatav1.ChecksumType
		want    metadatav1.ChecksumType
		wantErr bool
	}{
		{none, unset, unset, false},
		{none, full, 0, true},
		{crc32, unset, composite, false},
		{crc32, full, full, false},
		{crc64, unset, full, false},
		{crc64, composite, 0, true},
		{sha1, full, 0, true},
		{sha1, composite, composite, false},
	} {
		got, err := ResolveChecksumType(tc.alg, tc.typ)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("%v/%v: got %v, %v", tc.alg, tc.typ, got, err)
		}
	}
}

func TestValidatePartRefs(t *testing.T) {
	refs := func(ns ...int32) []*metadatav1.PartRef {
		out := make([]*metadatav1.PartRef, len(ns))
		for i, n := range ns {
			out[i] = &metadatav1.PartRef{PartNumber: n}
		}
		return out
	}
	many := make([]int32, MaxPartNumber+1)
	for i := range many {
		many[i] = int32(i + 1)
	}
	for _, tc := range []struct {
		name string
		refs []*metadatav1.PartRef
		want errs.Kind
	}{
		{"one", refs(7), 0},
		{"gaps", refs(1, 3, 10000), 0},
		{"empty", nil, errs.MalformedBody},
		{"too many", refs(many...), errs.MalformedBody},
		{"zero", refs(0, 1), errs.InvalidPart},
		{"too high", refs(1, 10001), errs.InvalidPart},
		{"descending", refs(2, 1), errs.InvalidPartOrder},
		{"duplicate", refs(1, 1), errs.InvalidPartOrder},
	} {
		err := ValidatePartRefs(tc.refs)
		if (tc.want == 0) != (err == nil) || (err != nil && !errs.Is(err, tc.want)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if !strings.Contains(AlgorithmName(metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C), "CRC32C") {
		t.Fatal("algorithm names changed")
	}
}
