package disk

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestDirectWrites: blobs of at least directMinSize with an announced size
// go through O_DIRECT where the file system takes it (and stay buffered
// where it does not), and read back byte for byte with the same checksums,
// whether the file ends inside a staging block, on its boundary or one
// byte past it.
func TestDirectWrites(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	probe, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_WRONLY|oDirect, 0o600)
	direct := err == nil && oDirect != 0
	if probe != nil {
		probe.Close()
	}
	t.Logf("O_DIRECT on %s: %v", dir, direct)

	cs := int64(s.ChunkSize())
	// Content size whose file (header, chunks, checksums) is exactly n bytes.
	fileOf := func(n int64) int {
		size := n - HeaderSize
		size -= CRCSize * ((size + cs - 1) / cs)
		for (layout{cs, size}).fileSize() < n {
			size++
		}
		return int(size)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i, size := range []int{
		directMinSize - 1, // buffered
		directMinSize,
		fileOf(2 * directBlock), fileOf(2*directBlock) + 1, fileOf(2*directBlock) - 1,
		3<<20 + 777,
	} {
		data := randBytes(rng, size)
		id := "direct-" + string(rune('a'+i))
		w, err := s.Create(id, int64(size))
		if err != nil {
			t.Fatal(err)
		}
		if want := direct && size >= directMinSize; (w.direct != nil) != want {
			t.Fatalf("size %d: direct %v, want %v", size, w.direct != nil, want)
		}
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(200_000))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		info, err := w.Commit()
		if err != nil {
			t.Fatalf("size %d: commit: %v", size, err)
		}
		if info.Size != int64(size) || info.CRC32C != crc32.Checksum(data, castagnoli) {
			t.Fatalf("size %d: info %+v", size, info)
		}
		fi, err := os.Stat(mustPath(t, s.Root(), id))
		if err != nil || fi.Size() != (layout{cs, int64(size)}).fileSize() {
			t.Fatalf("size %d: file size %v %v", size, fi, err)
		}
		if got, err := readRange(s, id, 0, -1); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: read back differs (len %d, err %v)", size, len(got), err)
		}
		// The file is a valid blob to every reader: reopen the store.
		if st, err := s.Stat(id); err != nil || st.CRC32C != info.CRC32C {
			t.Fatalf("size %d: stat %+v %v", size, st, err)
		}
	}
	// An aborted direct write leaves no temp file behind.
	w, err := s.Create("direct-abort", 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randBytes(rng, 3<<20)); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if left := tempFiles(t, s.Root()); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}
