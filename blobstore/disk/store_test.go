package disk

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

func openStore(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// put writes data in random-sized pieces so that chunk boundaries fall
// everywhere relative to Write calls.
func put(t *testing.T, s *Store, id string, data []byte, announce bool) Info {
	t.Helper()
	size := int64(-1)
	if announce {
		size = int64(len(data))
	}
	w, err := s.Create(id, size)
	if err != nil {
		t.Fatalf("create %s: %v", id, err)
	}
	rng := rand.New(rand.NewPCG(uint64(len(data)), 7))
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(3*s.ChunkSize()))
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatalf("write %s: %v", id, err)
		}
		rest = rest[n:]
	}
	info, err := w.Commit()
	if err != nil {
		t.Fatalf("commit %s: %v", id, err)
	}
	return info
}

func readRange(s *Store, id string, off, n int64) ([]byte, error) {
	b, err := s.OpenBlob(id)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	r, err := b.NewReader(off, n)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(TempDir(root))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	cs := s.ChunkSize()
	rng := rand.New(rand.NewPCG(1, 2))
	for i, size := range []int{0, 1, cs - 1, cs, cs + 1, 5<<20 + 123} {
		data := randBytes(rng, size)
		id := "blob-" + string(rune('a'+i))
		info := put(t, s, id, data, i%2 == 0)
		want := Info{ID: id, Size: int64(size), CRC32C: crc32.Checksum(data, castagnoli), ChunkSize: cs}
		if info.ID != want.ID || info.Size != want.Size || info.CRC32C != want.CRC32C || info.ChunkSize != cs || info.Created.IsZero() {
			t.Fatalf("size %d: info %+v, want %+v", size, info, want)
		}
		if st, err := s.Stat(id); err != nil || st != info {
			t.Fatalf("size %d: stat %+v %v, want %+v", size, st, err, info)
		}
		fi, err := os.Stat(mustPath(t, s.Root(), id))
		if err != nil || fi.Size() != (layout{int64(cs), int64(size)}).fileSize() {
			t.Fatalf("size %d: file size %v %v", size, fi, err)
		}
		got, err := readRange(s, id, 0, -1)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: whole read differs (len %d, err %v)", size, len(got), err)
		}
		for range 40 {
			off := rng.Int64N(int64(size) + 1)
			n := int64(-1)
			if rng.IntN(4) > 0 {
				n = rng.Int64N(int64(size) - off + int64(cs) + 1) // may run past the end
			}
			got, err := readRange(s, id, off, n)
			end := int64(size)
			if n >= 0 {
				end = min(end, off+n)
			}
			if err != nil || !bytes.Equal(got, data[off:end]) {
				t.Fatalf("size %d: range %d+%d differs (len %d, err %v)", size, off, n, len(got), err)
			}
		}
		if _, err := readRange(s, id, int64(size)+1, -1); !errs.Is(err, errs.InvalidRange) {
			t.Fatalf("size %d: read past end: %v", size, err)
		}
	}
}

func mustPath(t *testing.T, root, id string) string {
	t.Helper()
	p, err := BlobPath(root, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAbortedAndShortWrites(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})

	w, err := s.Create("aborted", -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 3*s.ChunkSize()+5))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err == nil {
		t.Fatal("commit after abort succeeded")
	}

	w, _ = s.Create("short", 100)
	w.Write(make([]byte, 50))
	if _, err := w.Commit(); !errs.Is(err, errs.IncompleteBody) {
		t.Fatalf("short commit: %v", err)
	}
	w, _ = s.Create("long", 10)
	if _, err := w.Write(make([]byte, 11)); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("long write: %v", err)
	}
	w.Abort()
	if n := tempFiles(t, dir); len(n) != 0 {
		t.Fatalf("temp files left: %v", n)
	}

	// A crash mid-write: the writer is never committed nor aborted.
	w, _ = s.Create("crashed", -1)
	w.Write(make([]byte, 2*s.ChunkSize()))
	if n := tempFiles(t, dir); len(n) != 1 {
		t.Fatalf("want one temp file during the write, got %v", n)
	}
	s.Close()
	s = openStore(t, dir, Options{})
	if n := tempFiles(t, dir); len(n) != 0 {
		t.Fatalf("temp files left after reopen: %v", n)
	}
	for _, id := range []string{"aborted", "short", "long", "crashed"} {
		if _, err := s.Stat(id); !errs.Is(err, errs.ObjectNotFound) {
			t.Fatalf("%s: stat %v", id, err)
		} else if errs.As(err).Details["blob_id"] != id {
			t.Fatalf("%s: not-found error lacks blob_id: %v", id, err)
		}
	}
	if u, err := s.Usage(); err != nil || u.Blobs != 0 || u.CapacityBytes <= 0 || u.FreeBytes <= 0 {
		t.Fatalf("usage %+v %v", u, err)
	}
}

func TestNodeIDStableAndLock(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := s.NodeID()
	if len(id) != 32 {
		t.Fatalf("node id %q", id)
	}
	if _, err := Open(dir, Options{}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("second open of a locked dir: %v", err)
	}
	s.Close()
	s2 := openStore(t, dir, Options{})
	if s2.NodeID() != id {
		t.Fatalf("node id changed: %s -> %s", id, s2.NodeID())
	}
	if other := openStore(t, t.TempDir(), Options{}); other.NodeID() == id {
		t.Fatal("two stores share a node id")
	}
	s2.Close()
	os.WriteFile(filepath.Join(dir, nodeIDFile), []byte("garbage"), 0o600)
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("open with a malformed node id succeeded")
	}
}

func TestInvalidIDs(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	bad := []string{"", ".", "..", "../x", "a/b", "/etc/passwd", `a\b`, "x\x00y", "é", "a b", strings.Repeat("a", 129)}
	for _, id := range bad {
		if _, err := s.Create(id, -1); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("create %q: %v", id, err)
		}
		if _, err := s.Stat(id); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("stat %q: %v", id, err)
		}
		if _, err := s.Delete(id); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("delete %q: %v", id, err)
		}
		if _, err := BlobPath(dir, id); err == nil {
			t.Errorf("path %q accepted", id)
		}
	}
	for _, id := range []string{"...", "-", "_", "a", strings.Repeat("Z", 128)} {
		put(t, s, id, []byte(id), true)
		p := mustPath(t, dir, id)
		if rel, err := filepath.Rel(filepath.Join(dir, blobsDir), p); err != nil || strings.HasPrefix(rel, "..") || filepath.Base(p) != id {
			t.Errorf("id %q maps to %s", id, p)
		}
	}
}

func TestListOrderAndPaging(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ids := []string{"a", "a-", "A", "ab", "abc", "abcd", "abcde", "abcdf", "abd", "0", "09", "z", "Z", "_", "-", "...", strings.Repeat("z", 128)}
	for _, id := range ids {
		put(t, s, id, []byte(id), true)
	}
	// A stray file in the tree is ignored.
	os.WriteFile(filepath.Join(s.Root(), blobsDir, "junk"), nil, 0o600)
	slices.Sort(ids)
	for _, page := range []int{1, 3, 100} {
		var got []string
		after := ""
		for {
			infos, err := s.List(after, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range infos {
				got = append(got, in.ID)
				if in.Size != int64(len(in.ID)) {
					t.Fatalf("%s: size %d", in.ID, in.Size)
				}
			}
			if len(infos) < page {
				break
			}
			after = infos[len(infos)-1].ID
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("page %d: listed %q, want %q", page, got, ids)
		}
	}
	if u, _ := s.Usage(); u.Blobs != int64(len(ids)) {
		t.Fatalf("count %d, want %d", u.Blobs, len(ids))
	}
}

func TestDeleteAndReplace(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	put(t, s, "x", []byte("first"), true)
	put(t, s, "x", []byte("second!"), true)
	if got, _ := readRange(s, "x", 0, -1); string(got) != "second!" {
		t.Fatalf("replace: %q", got)
	}
	if u, _ := s.Usage(); u.Blobs != 1 {
		t.Fatalf("count after replace %d", u.Blobs)
	}
	for i, want := range []bool{true, false} {
		existed, err := s.Delete("x")
		if err != nil || existed != want {
			t.Fatalf("delete %d: %v %v", i, existed, err)
		}
	}
	if u, _ := s.Usage(); u.Blobs != 0 {
		t.Fatalf("count after delete %d", u.Blobs)
	}
	s.Close()
	if _, err := s.Stat("x"); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("stat on closed store: %v", err)
	}
	s = openStore(t, dir, Options{})
	if u, _ := s.Usage(); u.Blobs != 0 {
		t.Fatalf("count after reopen %d", u.Blobs)
	}
}

func TestConcurrent(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{ChunkSize: 4096})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 10 {
				id := string(rune('a'+g)) + string(rune('a'+i))
				data := randBytes(rng, rng.IntN(50000))
				put(t, s, id, data, true)
				if got, err := readRange(s, id, 0, -1); err != nil || !bytes.Equal(got, data) {
					t.Errorf("%s: read back differs: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	if u, _ := s.Usage(); u.Blobs != 80 {
		t.Fatalf("count %d", u.Blobs)
	}
	_, corrupt, err := s.Verify(context.Background(), "ca")
	if err != nil || len(corrupt) != 0 {
		t.Fatalf("verify: %v %v", corrupt, err)
	}
}

// fullFS fails writes with ENOSPC once limit bytes have been written: a disk
// that fills up, the external edge we are allowed to fake.
type fullFS struct {
	OSFS
	mu    sync.Mutex
	limit int
}

type fullFile struct {
	File
	fs *fullFS
}

func (f *fullFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &fullFile{File: file, fs: f}, nil
}

func (f *fullFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if len(p) > f.fs.limit {
		return 0, &os.PathError{Op: "write", Path: "blob", Err: syscall.ENOSPC}
	}
	f.fs.limit -= len(p)
	return f.File.WriteAt(p, off)
}

func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	fsys := &fullFS{limit: 1 << 20}
	s := openStore(t, dir, Options{FS: fsys})
	w, err := s.Create("big", -1)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := w.Write(make([]byte, 2<<20))
	if !errs.Is(werr, errs.ResourceExhausted) || errs.Message(werr) == "" || !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v", werr)
	}
	if _, err := w.Commit(); !errs.Is(err, errs.ResourceExhausted) {
		t.Fatalf("commit after failure: %v", err)
	}
	if n := tempFiles(t, dir); len(n) != 0 {
		t.Fatalf("temp files left: %v", n)
	}
	// A blob announced larger than the free space is refused before any
	// byte is streamed.
	if _, err := s.Create("huge", 1<<43); !errs.Is(err, errs.ResourceExhausted) {
		t.Fatalf("create larger than the disk: %v", err)
	}
	if _, err := s.Create("huger", MaxBlobSize+1); !errs.Is(err, errs.EntityTooLarge) {
		t.Fatalf("create larger than MaxBlobSize: %v", err)
	}
	if _, err := s.Stat("big"); !errs.Is(err, errs.ObjectNotFound) {
		t.Fatalf("stat: %v", err)
	}
}
