package fsm

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// TestSnapshotRestoreRoundTrip persists a snapshot through raft's real file
// snapshot store and restores it into another FSM: same state, same applied
// index, and writes made after the snapshot was taken are not in it.
func TestSnapshotRestoreRoundTrip(t *testing.T) {
	h := fixture(t)
	var s seq
	for i := range 20 {
		h.must(cmdCommit(bkt, string(rune('a'+i)), s.next(), "e", nil, s.next()))
	}
	want, wantIndex := h.digest(), h.f.AppliedIndex()

	snap, err := h.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Apply keeps running while the snapshot is pinned; the snapshot must
	// not see this write.
	h.must(cmdCommit(bkt, "after-snapshot", s.next(), "e", nil))

	store, err := raft.NewFileSnapshotStore(t.TempDir(), 1, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := store.Create(raft.SnapshotVersionMax, wantIndex, 1, raft.Configuration{}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	other := fixture(t) // some unrelated prior state that Restore must discard
	other.must(cmdCreateBucket("dddddddddddddddddddddddd", "doomed-bucket"))
	_, rc, err := store.Open(sink.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := other.f.Restore(rc); err != nil {
		t.Fatal(err)
	}
	if got := other.digest(); !bytes.Equal(got, want) {
		t.Fatal("restored state differs from the snapshotted one")
	}
	if other.f.AppliedIndex() != wantIndex {
		t.Fatalf("restored applied index %d, want %d", other.f.AppliedIndex(), wantIndex)
	}
	other.view(func(r *Reader) error {
		if _, err := r.Object(bkt, "after-snapshot"); err == nil {
			t.Error("a write after the snapshot is in it")
		}
		if b, _ := r.BucketByName("doomed-bucket"); b != nil {
			t.Error("restore kept prior state")
		}
		return nil
	})
	if _, err := os.Stat(other.f.Path() + ".restore"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("restore left its temp file: %v", err)
	}
	// Replaying entries the snapshot covers is a no-op; later ones apply.
	other.f.ApplyBatch(h.log)
	if got, wantNow := other.digest(), h.digest(); !bytes.Equal(got, wantNow) {
		t.Fatal("replaying the log after restore does not converge")
	}
}

// TestRestoreRejectsGarbage: a stream that is not a state file leaves the
// current state in place.
func TestRestoreRejectsGarbage(t *testing.T) {
	h := fixture(t)
	want := h.digest()
	if err := h.f.Restore(io.NopCloser(bytes.NewReader([]byte("not a bbolt file")))); err == nil {
		t.Fatal("restore of garbage succeeded")
	}
	if !bytes.Equal(h.digest(), want) {
		t.Fatal("failed restore changed the state")
	}
	h.view(func(r *Reader) error {
		_, err := r.ListObjects(&metadatav1.ListObjectsRequest{BucketId: bkt, PageSize: 10})
		return err
	})
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(h.f.Path()), "*.restore"))
	if len(matches) != 0 {
		t.Fatalf("temp files left: %v", matches)
	}
}
