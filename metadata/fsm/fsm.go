package fsm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Options tunes an FSM. The zero value is usable.
type Options struct {
	// Log receives the FSM's few log lines; nil discards them.
	Log *slog.Logger
	// MmapSize is bbolt's initial mmap size. A larger value avoids remapping
	// (which waits for open read transactions, such as a snapshot being
	// persisted) while the file grows. 0 means 256 MiB.
	MmapSize int
	// WatchRetention is how many Raft indexes of changes the watch log keeps
	// (see changes.go); 0 means DefaultWatchRetention.
	WatchRetention uint64
}

// FSM is the metadata state machine over one bbolt file. It implements
// raft.BatchingFSM.
//
// Concurrency: ApplyBatch, Apply, Snapshot and Restore are called by Raft from
// one goroutine. View, AppliedIndex, WaitApplied and Digest may be called
// from any goroutine at any time; Restore swaps the database under an
// exclusive lock, so a View never sees a half-restored state.
type FSM struct {
	path string
	opts Options
	log  *slog.Logger

	mu sync.RWMutex // guards db; held exclusively only while Restore swaps it
	db *bolt.DB

	applied atomic.Uint64 // last index whose effects are committed in db
	waitMu  sync.Mutex
	waitCh  chan struct{} // closed and replaced whenever applied moves

	appliedEntries atomic.Uint64 // entries applied since Open (for tests and metrics)
	skippedEntries atomic.Uint64 // entries skipped as already applied
	restores       atomic.Uint64 // snapshots restored since Open
}

var _ raft.BatchingFSM = (*FSM)(nil)

// Open opens (or creates) the state file at path.
func Open(path string, opts Options) (*FSM, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MmapSize == 0 {
		opts.MmapSize = 256 << 20
	}
	if opts.WatchRetention == 0 {
		opts.WatchRetention = DefaultWatchRetention
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("fsm: %w", err)
	}
	f := &FSM{path: path, opts: opts, log: opts.Log, waitCh: make(chan struct{})}
	db, applied, err := openDB(path, opts)
	if err != nil {
		return nil, err
	}
	f.db = db
	f.applied.Store(applied)
	return f, nil
}

// openDB opens the bbolt file, creates the top-level buckets and returns the
// stored applied index.
func openDB(path string, opts Options) (*bolt.DB, uint64, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         5 * time.Second,
		NoFreelistSync:  true, // the freelist is rebuilt on open; commits write less
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: opts.MmapSize,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("fsm: open %s: %w", path, err)
	}
	var applied uint64
	err = db.Update(func(tx *bolt.Tx) error {
		// A file written before the watch log existed has no history: its
		// log starts complete only after its applied index.
		noLog := tx.Bucket(bktChanges) == nil
		for _, name := range topLevel {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bktMeta)
		if v := meta.Get(keySchema); v == nil {
			if err := meta.Put(keySchema, u64(schemaVersion)); err != nil {
				return err
			}
		} else if got := binary.BigEndian.Uint64(v); got == 1 {
			if err := migrate1to2(tx); err != nil {
				return fmt.Errorf("fsm: %s: migrate schema 1 to 2: %w", path, err)
			}
		} else if got != schemaVersion {
			return fmt.Errorf("fsm: %s has schema version %d, want %d", path, got, schemaVersion)
		}
		if v := meta.Get(keyApplied); v != nil {
			applied = binary.BigEndian.Uint64(v)
		}
		if noLog && applied > 0 {
			return meta.Put(keyFloor, u64(applied))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, applied, nil
}

// Close closes the state file.
func (f *FSM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	return err
}

// Path is the state file.
func (f *FSM) Path() string { return f.path }

// AppliedIndex is the last Raft index whose effects are committed to disk.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// Counters reports how many entries were applied and how many were skipped
// as already applied since Open.
func (f *FSM) Counters() (applied, skipped uint64) {
	return f.appliedEntries.Load(), f.skippedEntries.Load()
}

// Restores reports how many snapshots were restored since Open.
func (f *FSM) Restores() uint64 { return f.restores.Load() }

func (f *FSM) setApplied(index uint64) {
	f.applied.Store(index)
	f.waitMu.Lock()
	close(f.waitCh)
	f.waitCh = make(chan struct{})
	f.waitMu.Unlock()
}

// WaitApplied blocks until the applied index reaches index or ctx ends.
func (f *FSM) WaitApplied(ctx context.Context, index uint64) error {
	for {
		f.waitMu.Lock()
		ch := f.waitCh
		f.waitMu.Unlock()
		if f.applied.Load() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Apply applies one entry; it is ApplyBatch of one.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies entries in one bbolt transaction that also stores the
// new applied index. It returns one *Result per LogCommand entry (nil for
// entries that carry no command or were already applied). A storage failure
// panics: the entries are committed in the Raft log and this replica cannot
// continue without them.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.RLock()
	defer f.mu.RUnlock()
	from := f.applied.Load()
	if len(logs) == 0 || logs[len(logs)-1].Index <= from {
		f.skippedEntries.Add(uint64(len(logs)))
		return out
	}
	last := from
	var applied, skipped uint64
	err := f.db.Update(func(tx *bolt.Tx) error {
		w := &writer{txState: txState{tx}}
		for i, l := range logs {
			if l.Index <= from {
				skipped++
				continue
			}
			if l.Type == raft.LogCommand {
				out[i] = w.apply(l.Index, decodeCommand(l))
				w.flushChanges(l.Index)
			}
			applied++
			last = l.Index
		}
		w.trimChanges(last, f.opts.WatchRetention)
		w.trimRequests(last)
		return tx.Bucket(bktMeta).Put(keyApplied, u64(last))
	})
	if err != nil {
		panic(fmt.Sprintf("fsm: commit entries %d..%d: %v", logs[0].Index, last, err))
	}
	f.appliedEntries.Add(applied)
	f.skippedEntries.Add(skipped)
	f.setApplied(last)
	return out
}

// decodeCommand decodes an entry's command; a malformed entry panics, since
// every replica must apply the same entries the same way.
func decodeCommand(l *raft.Log) *fsmv1.Command {
	cmd := &fsmv1.Command{}
	if err := proto.Unmarshal(l.Data, cmd); err != nil {
		panic(fmt.Sprintf("fsm: entry %d: undecodable command: %v", l.Index, err))
	}
	if cmd.Op == nil {
		panic(fmt.Sprintf("fsm: entry %d: command has no op", l.Index))
	}
	return cmd
}

// EncodeCommand marshals a command for raft.Apply.
func EncodeCommand(cmd *fsmv1.Command) ([]byte, error) {
	if cmd.GetOp() == nil {
		return nil, errors.New("fsm: command has no op")
	}
	return marshalOpts.Marshal(cmd)
}

// writer is the apply side: one per batch, over the batch's write transaction.
type writer struct {
	txState
	pending []*metadatav1.Change // changes of the entry being applied
}

// apply dispatches one command. Each applyX checks everything that can refuse
// the command before it writes anything (or emits a change), so a refusal
// leaves no trace. A command that breaks the static rules is refused first:
// apply must never panic on a command that decoded.
func (w *writer) apply(index uint64, cmd *fsmv1.Command) *Result {
	if e := ValidateCommand(cmd); e != nil {
		return refuse(e)
	}
	if res, ok := w.replayed(index, cmd); ok {
		return res
	}
	res := w.dispatch(index, cmd)
	w.remember(index, cmd, res)
	return res
}

// dispatch applies one valid command.
func (w *writer) dispatch(index uint64, cmd *fsmv1.Command) *Result {
	now := cmd.GetRequestTimeUnixNanos()
	switch op := cmd.Op.(type) {
	case *fsmv1.Command_InitAccount:
		return w.applyInitAccount(index, op.InitAccount)
	case *fsmv1.Command_CreateBucket:
		return w.applyCreateBucket(index, op.CreateBucket)
	case *fsmv1.Command_UpdateBucket:
		return w.applyUpdateBucket(index, op.UpdateBucket)
	case *fsmv1.Command_DeleteBucket:
		return w.applyDeleteBucket(index, op.DeleteBucket)
	case *fsmv1.Command_SetBucketCors:
		return w.applySetBucketCors(index, op.SetBucketCors)
	case *fsmv1.Command_CommitObject:
		return w.applyCommitObject(index, now, op.CommitObject)
	case *fsmv1.Command_HideObject:
		return w.applyHideObject(index, now, op.HideObject)
	case *fsmv1.Command_DeleteObjectVersion:
		return w.applyDeleteObjectVersion(index, now, op.DeleteObjectVersion)
	case *fsmv1.Command_UpdateObjectRetention:
		return w.applyUpdateObjectRetention(index, now, op.UpdateObjectRetention)
	case *fsmv1.Command_UpdateObjectLegalHold:
		return w.applyUpdateObjectLegalHold(index, op.UpdateObjectLegalHold)
	case *fsmv1.Command_UpdateObjectTags:
		return w.applyUpdateObjectTags(index, op.UpdateObjectTags)
	case *fsmv1.Command_CreateKey:
		return w.applyCreateKey(index, op.CreateKey)
	case *fsmv1.Command_DeleteKey:
		return w.applyDeleteKey(index, op.DeleteKey)
	case *fsmv1.Command_StartUpload:
		return w.applyStartUpload(index, now, op.StartUpload)
	case *fsmv1.Command_CommitPart:
		return w.applyCommitPart(index, op.CommitPart)
	case *fsmv1.Command_CompleteUpload:
		return w.applyCompleteUpload(index, now, op.CompleteUpload)
	case *fsmv1.Command_AbortUpload:
		return w.applyAbortUpload(op.AbortUpload)
	case *fsmv1.Command_UpdatePlacement:
		return w.applyUpdatePlacement(index, op.UpdatePlacement)
	case *fsmv1.Command_SetMember:
		return w.applySetMember(op.SetMember)
	case *fsmv1.Command_RemoveMember:
		return w.applyRemoveMember(op.RemoveMember)
	default:
		panic(fmt.Sprintf("fsm: entry %d: unknown op %T", index, op))
	}
}

// put marshals m deterministically into bkt; a failure panics (see ApplyBatch).
func put(b *bolt.Bucket, key []byte, m proto.Message) []byte {
	data, err := marshalOpts.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("fsm: encode %T: %v", m, err))
	}
	must(b.Put(key, data))
	return data
}

// must panics on a storage error inside the apply transaction.
func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("fsm: write: %v", err))
	}
}

// View runs fn over a consistent read-only view of the state. It does not
// wait for anything: callers that need a linearizable read wait for the
// right applied index first (see metadata/store).
func (f *FSM) View(fn func(*Reader) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return errs.E(errs.Unavailable, "metadata.View", errors.New("fsm: closed"))
	}
	return f.db.View(func(tx *bolt.Tx) error {
		return fn(&Reader{s: txState{tx}})
	})
}

// Digest returns a SHA-256 over every bucket name, key and value of the state
// in order, leaving out the applied index (so a refused command, which moves
// only the index, leaves the digest unchanged), the watch log with its
// floor (a per-node history, see changes.go) and the request-id table
// (trimmed per batch; its answers do not depend on trimming, see dedup.go). Replicas at the same applied
// index have equal digests; tests use it to compare states.
func (f *FSM) Digest() ([]byte, error) {
	h := sha256.New()
	err := f.View(func(r *Reader) error {
		var walk func(path []byte, b *bolt.Bucket) error
		walk = func(path []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if sub := b.Bucket(k); v == nil && sub != nil {
					return walk(append(append(bytes.Clone(path), '/'), k...), sub)
				}
				if string(path) == string(bktMeta) && (string(k) == string(keyApplied) || string(k) == string(keyFloor)) {
					return nil
				}
				for _, p := range [][]byte{path, k, v} {
					binary.Write(h, binary.BigEndian, uint32(len(p)))
					h.Write(p)
				}
				return nil
			})
		}
		return r.s.tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if bytes.Equal(name, bktChanges) || bytes.Equal(name, bktRequests) || bytes.Equal(name, bktRequestLog) {
				return nil
			}
			return walk(bytes.Clone(name), b)
		})
	})
	if err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
