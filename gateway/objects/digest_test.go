package objects

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// The CRC-64/NVME check value from the catalogue (spec/s3.md §3).
func TestCRC64NVMECheckValue(t *testing.T) {
	h := NewHash(metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME)
	h.Write([]byte("123456789"))
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != "ae8b14860a799888" {
		t.Fatalf("CRC64NVME check value %s", got)
	}
}

func TestReaderVerdicts(t *testing.T) {
	body := "hello world"
	md5sum := md5.Sum([]byte(body))
	shasum := sha256.Sum256([]byte(body))
	goodMD5 := base64.StdEncoding.EncodeToString(md5sum[:])
	crc := NewHash(metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C)
	crc.Write([]byte(body))
	goodCRC := base64.StdEncoding.EncodeToString(crc.Sum(nil))
	n := int64(len(body))
	cases := []struct {
		name   string
		expect Expect
		max    int64
		want   errs.Kind
	}{
		{"plain", Expect{Size: n}, 0, errs.Other},
		{"unknown size", Expect{Size: -1}, 0, errs.Other},
		{"short", Expect{Size: n + 1}, 0, errs.IncompleteBody},
		{"long", Expect{Size: n - 1}, 0, errs.InvalidRequest},
		{"too large", Expect{Size: -1}, 5, errs.EntityTooLarge},
		{"md5 ok", Expect{Size: n, ContentMD5: goodMD5}, 0, errs.Other},
		{"md5 bad", Expect{Size: n, ContentMD5: "XUFAKrxLKna5cZ2REBfFkg=="}, 0, errs.BadDigest},
		{"sha256 ok", Expect{Size: n, SHA256Hex: hex.EncodeToString(shasum[:])}, 0, errs.Other},
		{"sha256 bad", Expect{Size: n, SHA256Hex: strings.Repeat("0", 64)}, 0, errs.PayloadHashMismatch},
		{"sha1 bad", Expect{Size: n, SHA1Hex: strings.Repeat("0", 40)}, 0, errs.BadDigest},
		{"crc ok", Expect{Size: n, Algorithm: metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C, Checksum: func() string { return goodCRC }}, 0, errs.Other},
		{"crc bad", Expect{Size: n, Algorithm: metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C, Checksum: func() string { return "AAAAAA==" }}, 0, errs.BadDigest},
	}
	for _, c := range cases {
		r := NewReader(strings.NewReader(body), c.expect, c.max)
		_, err := io.Copy(io.Discard, r)
		if got := errs.KindOf(err); got != c.want {
			t.Errorf("%s: got %v (%v), want %v", c.name, got, err, c.want)
			continue
		}
		if err == nil {
			d := r.Digests()
			if d.Size != n || d.MD5Hex != hex.EncodeToString(md5sum[:]) {
				t.Errorf("%s: digests %+v", c.name, d)
			}
			if c.expect.Algorithm != 0 && (len(d.Checksums) != 1 || d.Checksums[0].GetValue() != goodCRC) {
				t.Errorf("%s: checksums %v", c.name, d.Checksums)
			}
		}
	}
}

// TestReaderLargeBodies hashes bodies around the thresholds of md5-simd
// and of parallel hashing, read in several buffer sizes and concurrently
// (md5-simd hashes concurrent bodies in one server's lanes): every digest
// equals the standard library's, and a wrong Content-MD5 or SHA-1 is still
// refused.
func TestReaderLargeBodies(t *testing.T) {
	sizes := []int{parallelHashMin - 1, parallelHashMin, simdMD5Min - 1, simdMD5Min, 3<<20 + 7}
	var wg sync.WaitGroup
	for i, size := range sizes {
		for _, announce := range []bool{true, false} {
			for _, bufSize := range []int{1000, 64 << 10, 1 << 20} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := make([]byte, size)
					rand.NewChaCha8([32]byte{byte(i)}).Read(body)
					m, s1 := md5.Sum(body), sha1.Sum(body)
					n := int64(-1)
					if announce {
						n = int64(size)
					}
					expect := Expect{Size: n, ContentMD5: base64.StdEncoding.EncodeToString(m[:]), SHA1Hex: hex.EncodeToString(s1[:]),
						Algorithm: metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C}
					r := NewReader(bytes.NewReader(body), expect, 0)
					defer r.Close()
					if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, bufSize)); err != nil {
						t.Errorf("size %d, buffer %d: %v", size, bufSize, err)
						return
					}
					crc := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))
					d := r.Digests()
					if d.MD5Hex != hex.EncodeToString(m[:]) || d.SHA1Hex != hex.EncodeToString(s1[:]) ||
						d.Checksums[0].GetValue() != base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc)) {
						t.Errorf("size %d, buffer %d: digests %+v", size, bufSize, d)
					}
					body[size/2] ^= 1 // the announced digests no longer match
					bad := NewReader(bytes.NewReader(body), expect, 0)
					defer bad.Close()
					if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{bad}, make([]byte, bufSize)); !errs.Is(err, errs.BadDigest) {
						t.Errorf("size %d, buffer %d: a flipped byte gave %v", size, bufSize, err)
					}
				}()
			}
		}
	}
	wg.Wait()
}

// TestMD5HashersAreReused: thousands of large bodies, some abandoned half
// read, are hashed by a bounded set of md5-simd hashers (md5-simd never
// forgets a closed one, and its server walks every one it knows on each
// cycle), and a reused hasher starts from scratch: every digest is right.
func TestMD5HashersAreReused(t *testing.T) {
	// Hashers other tests of this process hold are not counted.
	held := int(simdMade.Load()) - len(simdFree)
	rng := rand.New(rand.NewPCG(5, 6))
	body := make([]byte, simdMD5Min+1000)
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				n := len(body) - (w*250+i)%997
				want := md5.Sum(body[:n])
				d := NewReader(bytes.NewReader(body[:n]), Expect{Size: int64(n), ContentMD5: base64.StdEncoding.EncodeToString(want[:])}, 1<<30)
				if i%5 == 0 {
					// Abandoned after one buffer: released with state in it.
					d.Read(make([]byte, 64<<10))
					d.Close()
					continue
				}
				if _, err := io.Copy(io.Discard, d); err != nil {
					t.Errorf("body %d of %d bytes: %v", i, n, err)
				}
				if got := d.Digests().MD5Hex; got != hex.EncodeToString(want[:]) {
					t.Errorf("body %d: MD5 %s, want %x", i, got, want)
				}
				d.Close()
			}
		}()
	}
	wg.Wait()
	if made := simdMade.Load(); made < 1 || made > simdHashers {
		t.Fatalf("%d md5-simd hashers made for 2,000 bodies (bound %d)", made, simdHashers)
	}
	if len(simdFree) != int(simdMade.Load())-held {
		t.Fatalf("%d hashers free of %d made (%d held before): one was not given back", len(simdFree), simdMade.Load(), held)
	}
}
