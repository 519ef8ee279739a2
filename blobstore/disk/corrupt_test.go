package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

// flip xors one byte of a file in place.
func flip(t *testing.T, path string, off int64, mask byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= mask
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// readPrefix reads a range and checks that whatever came back is a prefix
// of want: a failing read may stop early but must never return wrong bytes.
func readPrefix(t *testing.T, s *Store, id string, want []byte, off, n int64) (int, error) {
	t.Helper()
	b, err := s.OpenBlob(id)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	r, err := b.NewReader(off, n)
	if err != nil {
		return 0, err
	}
	got, err := io.ReadAll(r)
	if !bytes.HasPrefix(want[off:], got) {
		t.Fatalf("read %d+%d returned wrong bytes", off, n)
	}
	return len(got), err
}

func TestCorruptChunk(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	cs := int64(s.ChunkSize())
	l := layout{chunkSize: cs, size: 4*cs + cs/2} // chunks 0-4, the last one short
	data := randBytes(rand.New(rand.NewPCG(3, 4)), int(l.size))
	put(t, s, "victim", data, true)
	path := mustPath(t, s.Root(), "victim")

	flip(t, path, l.offset(2)+100, 0x01)

	// Reads that stay off chunk 2 still work.
	for _, r := range [][2]int64{{0, 2 * cs}, {cs + 7, cs - 7}, {3 * cs, -1}, {4*cs + 1, 10}} {
		if n, err := readPrefix(t, s, "victim", data, r[0], r[1]); err != nil {
			t.Fatalf("range %v avoiding the bad chunk: %v", r, err)
		} else if want := min(r[1], l.size-r[0]); r[1] >= 0 && int64(n) != want {
			t.Fatalf("range %v: %d bytes", r, n)
		}
	}
	// Reads that touch it fail with DataLoss; what came before is intact.
	for _, r := range [][2]int64{{0, -1}, {2*cs + 500, 1}, {cs, cs + 1}, {2*cs - 1, 2}} {
		n, err := readPrefix(t, s, "victim", data, r[0], r[1])
		if !errs.Is(err, errs.DataLoss) || errs.As(err).Details["blob_id"] != "victim" {
			t.Fatalf("range %v over the bad chunk: %v", r, err)
		}
		if want := max(0, 2*cs-r[0]); int64(n) != want {
			t.Fatalf("range %v: %d bytes before the error, want %d", r, n, want)
		}
	}

	// A damaged checksum is as bad as damaged data.
	flip(t, path, l.end(4)-2, 0x80)
	_, corrupt, err := s.Verify(context.Background(), "victim")
	if err != nil || !slices.Equal(corrupt, []int64{2, 4}) {
		t.Fatalf("verify: %v %v", corrupt, err)
	}
	if _, err := readPrefix(t, s, "victim", data, 4*cs, -1); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("read of the chunk with a bad checksum: %v", err)
	}
}

func TestCorruptHeaderTruncateSwap(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{ChunkSize: 4096})
	cs := int64(4096)
	l := layout{chunkSize: cs, size: 6 * cs}
	data := randBytes(rand.New(rand.NewPCG(5, 6)), int(l.size))

	// Header damage: the blob cannot be trusted at all, but is still listed.
	put(t, s, "hdr", data, true)
	flip(t, mustPath(t, s.Root(), "hdr"), 44, 0x10) // a reserved byte
	if _, err := s.Stat("hdr"); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("stat with a bad header: %v", err)
	}
	if _, _, err := s.Verify(context.Background(), "hdr"); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("verify with a bad header: %v", err)
	}
	if infos, err := s.List("", 10); err != nil || len(infos) != 1 || infos[0].Size != -1 {
		t.Fatalf("list with a bad header: %+v %v", infos, err)
	}

	// Truncation inside chunk 3: chunks 3-5 are missing.
	put(t, s, "trunc", data, true)
	if err := os.Truncate(mustPath(t, s.Root(), "trunc"), l.offset(3)+10); err != nil {
		t.Fatal(err)
	}
	if _, corrupt, err := s.Verify(context.Background(), "trunc"); err != nil || !slices.Equal(corrupt, []int64{3, 4, 5}) {
		t.Fatalf("verify truncated: %v %v", corrupt, err)
	}
	if _, err := readPrefix(t, s, "trunc", data, 0, 3*cs); err != nil {
		t.Fatalf("read before the truncation: %v", err)
	}
	if n, err := readPrefix(t, s, "trunc", data, 0, -1); !errs.Is(err, errs.DataLoss) || int64(n) != 3*cs {
		t.Fatalf("read across the truncation: %d %v", n, err)
	}

	// Two whole chunks (with their checksums) swapped: each checksum is
	// valid for its bytes, but not at that index.
	put(t, s, "swap", data, true)
	p := mustPath(t, s.Root(), "swap")
	raw, _ := os.ReadFile(p)
	a, b := raw[l.offset(1):l.end(1)], raw[l.offset(2):l.end(2)]
	tmp := slices.Clone(a)
	copy(a, b)
	copy(b, tmp)
	os.WriteFile(p, raw, 0o600)
	if _, corrupt, err := s.Verify(context.Background(), "swap"); err != nil || !slices.Equal(corrupt, []int64{1, 2}) {
		t.Fatalf("verify swapped: %v %v", corrupt, err)
	}

	// A header whose content CRC disagrees with chunks that all verify:
	// ranges still work, the whole read fails rather than finishing.
	put(t, s, "crc", data, true)
	p = mustPath(t, s.Root(), "crc")
	raw, _ = os.ReadFile(p)
	binary.LittleEndian.PutUint32(raw[24:], 12345)
	binary.LittleEndian.PutUint32(raw[60:], crc32.Checksum(raw[:60], castagnoli))
	os.WriteFile(p, raw, 0o600)
	if _, err := readPrefix(t, s, "crc", data, 1, -1); err != nil {
		t.Fatalf("partial read: %v", err)
	}
	if _, err := readPrefix(t, s, "crc", data, 0, -1); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("whole read with a bad content crc: %v", err)
	}
	if _, _, err := s.Verify(context.Background(), "crc"); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("verify with a bad content crc: %v", err)
	}
}

// TestEveryBitFlipDetected flips one random bit anywhere in a blob file,
// many times: every byte of the file is covered by a checksum, so a whole
// read must fail, and never with wrong bytes.
func TestEveryBitFlipDetected(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{ChunkSize: MinChunkSize})
	rng := rand.New(rand.NewPCG(7, 8))
	data := randBytes(rng, 5*MinChunkSize+77)
	put(t, s, "b", data, true)
	p := mustPath(t, s.Root(), "b")
	fi, _ := os.Stat(p)
	for range 300 {
		off, mask := rng.Int64N(fi.Size()), byte(1)<<rng.IntN(8)
		flip(t, p, off, mask)
		if _, err := readPrefix(t, s, "b", data, 0, -1); !errs.Is(err, errs.DataLoss) {
			t.Fatalf("flip at %d not detected: %v", off, err)
		}
		flip(t, p, off, mask)
	}
	if _, err := readPrefix(t, s, "b", data, 0, -1); err != nil {
		t.Fatalf("restored file: %v", err)
	}
}
