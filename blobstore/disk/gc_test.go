package disk

import (
	"os"
	"testing"
	"time"
)

// TestDeleteIfOlder: the garbage collector's delete removes only a copy
// committed before its cutoff; a copy committed later under the same id
// (a repaired shard) survives a decision taken about the older one.
func TestDeleteIfOlder(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	info := put(t, s, "old", []byte("garbage"), true)
	if removed, err := s.DeleteIfOlder("old", info.Created); err != nil || removed {
		t.Fatalf("delete at its own commit time: %v %v", removed, err)
	}
	cutoff := time.Now()
	time.Sleep(2 * time.Millisecond)
	put(t, s, "old", []byte("rewritten after the decision"), true)
	if removed, err := s.DeleteIfOlder("old", cutoff); err != nil || removed {
		t.Fatalf("fresh copy removed: %v %v", removed, err)
	}
	if got, _ := readRange(s, "old", 0, -1); string(got) != "rewritten after the decision" {
		t.Fatalf("content %q", got)
	}
	if removed, err := s.DeleteIfOlder("old", time.Now().Add(time.Second)); err != nil || !removed {
		t.Fatalf("old copy kept: %v %v", removed, err)
	}
	if u, _ := s.Usage(); u.Blobs != 0 {
		t.Fatalf("count %d", u.Blobs)
	}
	if removed, err := s.DeleteIfOlder("old", time.Now()); err != nil || removed {
		t.Fatalf("missing blob: %v %v", removed, err)
	}
	// A blob whose header is unreadable has no known age: left alone.
	put(t, s, "bad", []byte("x"), true)
	path, _ := BlobPath(dir, "bad")
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt([]byte{0xff}, 3)
	f.Close()
	if removed, err := s.DeleteIfOlder("bad", time.Now().Add(time.Hour)); removed || err == nil {
		t.Fatalf("blob with a bad header: %v %v", removed, err)
	}
}
