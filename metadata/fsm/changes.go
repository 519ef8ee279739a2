package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// The watch log.
//
// Every applied command that changes something records what it changed
// (buckets, CORS rules, keys, object versions, uploads) as Changes under its
// Raft index in changes/, in the same bbolt transaction as the change itself.
// So the log is exactly as durable and as ordered as the state: a watcher
// that has seen everything up to index i and resumes after i on any node
// misses nothing and sees nothing twice, and a restart keeps the history.
//
// The log is trimmed in apply to the last Options.WatchRetention indexes;
// meta/watch_floor records the index after which the log is complete. A
// snapshot carries the log with the state, so a node restored from one
// serves the same history. The log and the floor are left out of Digest:
// they are a history of the state, not the state (and the retention is a
// per-node setting).

// DefaultWatchRetention is how many Raft indexes of changes are kept when
// Options.WatchRetention is 0.
const DefaultWatchRetention = 200_000

// emit records a change made by the entry being applied.
func (w *writer) emit(c *metadatav1.Change) { w.pending = append(w.pending, c) }

// flushChanges stores the changes the entry at index made, if any.
func (w *writer) flushChanges(index uint64) {
	if len(w.pending) == 0 {
		return
	}
	for _, c := range w.pending {
		c.Index = index
	}
	put(w.tx.Bucket(bktChanges), u64(index), &metadatav1.WatchResponse{Index: index, Changes: w.pending})
	w.pending = nil
}

// trimChanges drops the changes at or below last-retention and raises the
// floor to match. It depends only on last, so every replica trims the same
// way whatever its batch boundaries.
func (w *writer) trimChanges(last, retention uint64) {
	if last <= retention {
		return
	}
	floor := last - retention
	meta := w.tx.Bucket(bktMeta)
	if getU64(meta, keyFloor) >= floor {
		return
	}
	b := w.tx.Bucket(bktChanges)
	var dead [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= floor; k, _ = c.Next() {
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		must(b.Delete(k))
	}
	must(meta.Put(keyFloor, u64(floor)))
}

func getU64(b *bolt.Bucket, key []byte) uint64 {
	if v := b.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// ChangePage is one read of the watch log.
type ChangePage struct {
	// Entries are the changes after the requested index, one entry per Raft
	// index that changed something, in index order.
	Entries []*metadatav1.WatchResponse
	// Through is the index the page covers: every change after the requested
	// index and at or below Through is in Entries. Resume after Through.
	Through uint64
	// Compacted says the changes right after the requested index are no
	// longer kept (it is below the floor); Entries is empty and Through is
	// the applied index: reload the state, then resume after Through.
	Compacted bool
	// Applied is the applied index of the state the page was read from.
	Applied uint64
}

// Changes reads the watch log after index after, up to about maxChanges
// changes (an index's changes are never split), from one consistent view.
func (f *FSM) Changes(after uint64, maxChanges int) (ChangePage, error) {
	var p ChangePage
	err := f.View(func(r *Reader) error {
		meta := r.s.tx.Bucket(bktMeta)
		p.Applied = getU64(meta, keyApplied)
		if after < getU64(meta, keyFloor) {
			p.Compacted, p.Through = true, p.Applied
			return nil
		}
		p.Through = max(after, p.Applied)
		n := 0
		c := r.s.tx.Bucket(bktChanges).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
			e := &metadatav1.WatchResponse{}
			if err := proto.Unmarshal(v, e); err != nil {
				return fmt.Errorf("fsm: decode change %d: %w", binary.BigEndian.Uint64(k), err)
			}
			p.Entries = append(p.Entries, e)
			n += len(e.Changes)
			if n >= maxChanges {
				p.Through = e.Index
				break
			}
		}
		return nil
	})
	return p, err
}

// WatchFloor is the index after which the watch log is complete.
func (f *FSM) WatchFloor() uint64 {
	var floor uint64
	_ = f.View(func(r *Reader) error {
		floor = getU64(r.s.tx.Bucket(bktMeta), keyFloor)
		return nil
	})
	return floor
}

// Changed returns a channel that is closed when the applied index next
// moves (an apply or a restore). Take it before reading, so no move is missed.
func (f *FSM) Changed() <-chan struct{} {
	f.waitMu.Lock()
	defer f.waitMu.Unlock()
	return f.waitCh
}

// Change constructors, so every apply function describes its effects the
// same way.

func bucketChange(b *metadatav1.Bucket, deleted bool) *metadatav1.Change {
	return &metadatav1.Change{Kind: metadatav1.ChangeKind_CHANGE_KIND_BUCKET, Deleted: deleted, BucketId: b.GetBucketId(), BucketName: b.GetName()}
}

func corsChange(b *metadatav1.Bucket, deleted bool) *metadatav1.Change {
	return &metadatav1.Change{Kind: metadatav1.ChangeKind_CHANGE_KIND_CORS, Deleted: deleted, BucketId: b.GetBucketId(), BucketName: b.GetName()}
}

func keyChange(k *metadatav1.ApplicationKey, deleted bool) *metadatav1.Change {
	return &metadatav1.Change{Kind: metadatav1.ChangeKind_CHANGE_KIND_KEY, Deleted: deleted, KeyId: k.GetKeyId()}
}

// versionChange describes a change of a version: an UPLOAD kind for START
// versions (unfinished uploads), OBJECT for uploads and hide markers.
func versionChange(v *metadatav1.ObjectVersion, deleted bool) *metadatav1.Change {
	kind := metadatav1.ChangeKind_CHANGE_KIND_OBJECT
	if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_START {
		kind = metadatav1.ChangeKind_CHANGE_KIND_UPLOAD
	}
	return &metadatav1.Change{Kind: kind, Deleted: deleted, BucketId: v.GetBucketId(), Key: v.GetKey(), VersionId: v.GetVersionId()}
}
