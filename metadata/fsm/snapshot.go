package fsm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// Snapshot opens a read transaction, which pins the state as of the current
// applied index; Persist streams the database file as of that transaction.
// Apply keeps running meanwhile (bbolt readers do not block the writer).
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return nil, errors.New("fsm: closed")
	}
	tx, err := f.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("fsm: snapshot: %w", err)
	}
	return &snapshot{tx: tx}, nil
}

// snapshot is a pinned read transaction.
type snapshot struct {
	tx *bolt.Tx
}

// Persist writes the whole bbolt file as of the pinned transaction. The
// file carries its own applied index, so a restored state knows where it is.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.tx.WriteTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("fsm: persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release ends the pinned transaction.
func (s *snapshot) Release() { _ = s.tx.Rollback() }

// Restore replaces the state with a snapshot: the stream is written to a new
// file next to the state, checked by opening it, and swapped in under the
// exclusive lock, so readers see either the old state or the new one.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tmp := f.path + ".restore"
	if err := writeFile(tmp, rc); err != nil {
		os.Remove(tmp)
		return err
	}
	// Open once to check the file and read its applied index.
	db, applied, err := openDB(tmp, f.opts)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fsm: restore: %w", err)
	}
	if err := db.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fsm: restore: %w", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db != nil {
		// Waits for open read transactions (a snapshot being persisted).
		if err := f.db.Close(); err != nil {
			return fmt.Errorf("fsm: restore: close state: %w", err)
		}
		f.db = nil
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("fsm: restore: %w", err)
	}
	if err := syncDir(filepath.Dir(f.path)); err != nil {
		return fmt.Errorf("fsm: restore: %w", err)
	}
	db, applied, err = openDB(f.path, f.opts)
	if err != nil {
		return fmt.Errorf("fsm: restore: reopen: %w", err)
	}
	f.db = db
	f.restores.Add(1)
	f.setApplied(applied)
	f.log.Info("fsm restored from snapshot", "applied_index", applied)
	return nil
}

// writeFile writes r to path and fsyncs it.
func writeFile(path string, r io.Reader) error {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("fsm: restore: %w", err)
	}
	if _, err := io.Copy(fh, r); err != nil {
		fh.Close()
		return fmt.Errorf("fsm: restore: copy: %w", err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("fsm: restore: %w", err)
	}
	return fh.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
