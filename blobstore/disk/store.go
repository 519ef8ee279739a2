package disk

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

// Names under the store root.
const (
	blobsDir   = "blobs"
	tempDir    = "tmp"
	nodeIDFile = "node_id"
	lockFile   = "LOCK"
	tempSuffix = ".tmp"
)

// DefaultChunkSize is the checksummed chunk size of new blobs.
const DefaultChunkSize = 64 << 10

// Options configures a Store.
type Options struct {
	// ChunkSize is the chunk size of new blobs (0: DefaultChunkSize).
	// Existing blobs keep the chunk size recorded in their header.
	ChunkSize int
	// FS is the file system to write through (nil: OSFS).
	FS FS
	// Log receives operational messages (nil: discarded).
	Log *slog.Logger
}

// Usage is the space and blob count of a store.
type Usage struct {
	CapacityBytes int64
	FreeBytes     int64
	Blobs         int64
}

// Store is a directory of blobs. It is safe for concurrent use; concurrent
// writes of the same id are each atomic and the last rename wins.
type Store struct {
	root      string
	fs        FS
	chunkSize int
	log       *slog.Logger
	nodeID    string
	unlock    func() error
	closed    atomic.Bool

	// mu serialises the rename or removal of a blob's directory entry with
	// the check of whether it existed, so that the blob count stays exact.
	mu    sync.Mutex
	count int64

	// dirMu guards dirs, the fan-out directories known to exist durably.
	dirMu sync.Mutex
	dirs  map[string]bool
}

// Open opens (creating if needed) the store rooted at root. It takes an
// exclusive lock on the directory, removes temp files left by a crash, loads
// or creates the node id and counts the blobs.
func Open(root string, opts Options) (*Store, error) {
	const op = "disk.Open"
	if root == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "data directory is required")
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.ChunkSize < MinChunkSize || opts.ChunkSize > MaxChunkSize {
		return nil, errs.Errorf(errs.InvalidArgument, op, "chunk size must be between %d and %d bytes", MinChunkSize, MaxChunkSize)
	}
	if opts.FS == nil {
		opts.FS = OSFS{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, errs.E(errs.Internal, op, err)
	}
	// Best effort: make a freshly created root durable before the node id
	// is written into it. An existing root makes this a cheap no-op.
	_ = syncDir(opts.FS, filepath.Dir(root))
	unlock, err := lockDir(filepath.Join(root, lockFile))
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, fmt.Errorf("data directory %s is in use: %w", root, err))
	}
	s := &Store{
		root:      root,
		fs:        opts.FS,
		chunkSize: opts.ChunkSize,
		log:       opts.Log,
		unlock:    unlock,
		dirs:      map[string]bool{},
	}
	if err := s.init(); err != nil {
		unlock()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	const op = "disk.Open"
	for _, d := range []string{blobsDir, tempDir} {
		if err := mkdirDurable(s.fs, filepath.Join(s.root, d)); err != nil {
			return ioErr(op, "", err)
		}
	}
	if err := s.cleanTemp(); err != nil {
		return err
	}
	id, err := s.loadNodeID()
	if err != nil {
		return err
	}
	s.nodeID = id
	n, err := s.countBlobs()
	if err != nil {
		return err
	}
	s.count = n
	s.log.Info("blob store opened", "root", s.root, "node_id", s.nodeID, "blobs", n, "chunk_size", s.chunkSize)
	return nil
}

// cleanTemp removes writes that were in flight when the process stopped:
// they were never renamed into place, so nobody can have been told they
// exist.
func (s *Store) cleanTemp() error {
	dir := filepath.Join(s.root, tempDir)
	ents, err := s.fs.ReadDir(dir)
	if err != nil {
		return ioErr("disk.Open", "", err)
	}
	for _, e := range ents {
		if err := s.fs.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ioErr("disk.Open", "", err)
		}
	}
	if len(ents) > 0 {
		s.log.Info("removed unfinished writes", "count", len(ents))
		return ioErr("disk.Open", "", syncDir(s.fs, dir))
	}
	return nil
}

// loadNodeID returns the node id stored in the root, creating it on first
// start. A malformed file is an error rather than a reason to pick a new id:
// placements in the metadata name nodes by id, so a silently changed id
// would orphan every blob on this node.
func (s *Store) loadNodeID() (string, error) {
	const op = "disk.Open"
	path := filepath.Join(s.root, nodeIDFile)
	f, err := s.fs.OpenFile(path, os.O_RDONLY, 0)
	if err == nil {
		defer f.Close()
		b := make([]byte, 64)
		n, rerr := f.ReadAt(b, 0)
		if rerr != nil && rerr != io.EOF {
			return "", ioErr(op, "", rerr)
		}
		id := strings.TrimSpace(string(b[:n]))
		if _, herr := hex.DecodeString(id); herr != nil || len(id) != 32 {
			return "", errs.Errorf(errs.Internal, op, "node id file %s is malformed", path)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", ioErr(op, "", err)
	}
	id := randomHex(16)
	tmp := filepath.Join(s.root, tempDir, nodeIDFile+tempSuffix)
	w, err := s.fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return "", ioErr(op, "", err)
	}
	_, err = w.Write([]byte(id + "\n"))
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(s.fs, s.root)
	}
	if err != nil {
		s.fs.Remove(tmp)
		return "", ioErr(op, "", err)
	}
	return id, nil
}

// countBlobs walks the tree once at start; afterwards the count is kept up
// to date by Commit and Delete.
func (s *Store) countBlobs() (int64, error) {
	var n int64
	err := s.walk("", func(string) (bool, error) { n++; return true, nil })
	return n, err
}

// Close releases the directory lock. Writers and blobs still open keep
// working on their files, but new operations fail with Unavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.unlock()
}

// NodeID is the node's stable id, created at first start.
func (s *Store) NodeID() string { return s.nodeID }

// ChunkSize is the chunk size of new blobs.
func (s *Store) ChunkSize() int { return s.chunkSize }

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) check(op, id string) error {
	if s.closed.Load() {
		return errs.Errorf(errs.Unavailable, op, "blob store is closed")
	}
	return checkID(op, id)
}

func (s *Store) path(id string) string {
	return filepath.Join(s.root, blobsDir, fanout(id), id)
}

// Stat returns the info of blob id from its header, without reading content.
func (s *Store) Stat(id string) (Info, error) {
	b, err := s.OpenBlob(id)
	if err != nil {
		return Info{}, err
	}
	defer b.Close()
	return b.Info(), nil
}

// Delete removes blob id. It reports whether the blob existed; deleting a
// missing blob is not an error.
func (s *Store) Delete(id string) (bool, error) {
	const op = "disk.Delete"
	if err := s.check(op, id); err != nil {
		return false, err
	}
	p := s.path(id)
	s.mu.Lock()
	err := s.fs.Remove(p)
	if err == nil {
		s.count--
	}
	s.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, ioErr(op, id, err)
	}
	// Without this the blob could reappear after a power loss.
	if err := syncDir(s.fs, parentDir(p)); err != nil {
		return true, ioErr(op, id, err)
	}
	return true, nil
}

// DeleteIfOlder removes blob id only if its header says it was committed
// before cutoff, and reports whether it removed it. The header is read and
// the file removed under the same lock that Commit holds while it renames a
// new copy into place, so a blob written after the caller decided it was
// garbage (a fresh copy under the same id, say a repaired shard) is never
// removed by that decision: the garbage collector's safety rests on this
// (blobstore/DESIGN.md, "GC safety"). A missing blob is not an error; a blob
// whose header cannot be read is left alone (scrubbing reports it).
func (s *Store) DeleteIfOlder(id string, cutoff time.Time) (bool, error) {
	const op = "disk.DeleteIfOlder"
	if err := s.check(op, id); err != nil {
		return false, err
	}
	p := s.path(id)
	s.mu.Lock()
	b, err := s.OpenBlob(id)
	if err != nil {
		s.mu.Unlock()
		if errs.Is(err, errs.ObjectNotFound) {
			return false, nil
		}
		return false, err
	}
	created := b.Info().Created
	b.Close()
	if !created.Before(cutoff) {
		s.mu.Unlock()
		return false, nil
	}
	err = s.fs.Remove(p)
	if err == nil {
		s.count--
	}
	s.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, ioErr(op, id, err)
	}
	if err := syncDir(s.fs, parentDir(p)); err != nil {
		return true, ioErr(op, id, err)
	}
	return true, nil
}

// List returns up to limit blobs with ids greater than after ("" for the
// first page), in id order. A blob whose header cannot be read is listed
// with Size -1 so that scrubbing still finds it.
func (s *Store) List(after string, limit int) ([]Info, error) {
	const op = "disk.List"
	if s.closed.Load() {
		return nil, errs.Errorf(errs.Unavailable, op, "blob store is closed")
	}
	if after != "" {
		if err := checkID(op, after); err != nil {
			return nil, err
		}
	}
	if limit <= 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "limit must be positive")
	}
	var out []Info
	err := s.walk(after, func(id string) (bool, error) {
		info, err := s.Stat(id)
		switch {
		case errs.Is(err, errs.ObjectNotFound):
			return true, nil // deleted while we walked
		case errs.Is(err, errs.DataLoss):
			info = Info{ID: id, Size: -1}
		case err != nil:
			return false, err
		}
		out = append(out, info)
		return len(out) < limit, nil
	})
	return out, err
}

// walk calls fn for every blob id greater than after, in id order, until fn
// returns false or an error. Directories whose prefix sorts before after's
// are skipped without being read.
func (s *Store) walk(after string, fn func(id string) (bool, error)) error {
	const op = "disk.List"
	var pa [2]byte
	copy(pa[:], after)
	top := filepath.Join(s.root, blobsDir)
	dirs, err := s.fs.ReadDir(top)
	if err != nil {
		return ioErr(op, "", err)
	}
	for _, d := range dirs {
		p, ok := decodeFan(d)
		if !ok || (after != "" && string(p) < string(pa[:])) {
			continue
		}
		ents, err := s.fs.ReadDir(filepath.Join(top, d.Name()))
		if err != nil {
			return ioErr(op, "", err)
		}
		for _, e := range ents {
			id := e.Name()
			if !e.Type().IsRegular() || !ValidID(id) || id <= after {
				continue
			}
			if fanout(id) != d.Name() {
				continue // not ours: a stray file
			}
			more, err := fn(id)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// decodeFan returns the two bytes a fan-out directory stands for, or false
// for anything else found in the tree.
func decodeFan(d fs.DirEntry) ([]byte, bool) {
	if !d.IsDir() || len(d.Name()) != 4 {
		return nil, false
	}
	b, err := hex.DecodeString(d.Name())
	if err != nil || hex.EncodeToString(b) != d.Name() {
		return nil, false
	}
	return b, true
}

// Usage reports capacity and free space of the file system holding the
// store, and the number of blobs.
func (s *Store) Usage() (Usage, error) {
	capacity, free, err := statfs(s.root)
	if err != nil {
		return Usage{}, ioErr("disk.Usage", "", err)
	}
	s.mu.Lock()
	n := s.count
	s.mu.Unlock()
	return Usage{CapacityBytes: capacity, FreeBytes: free, Blobs: n}, nil
}

// ensureDir creates the fan-out directory of a blob, fsyncing its parent
// once per directory and process, so that a renamed blob's path is durable
// even if the directory was created by a write that crashed before syncing.
func (s *Store) ensureDir(id string) (string, error) {
	dir := filepath.Join(s.root, blobsDir, fanout(id))
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if s.dirs[dir] {
		return dir, nil
	}
	if err := s.fs.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if err := syncDir(s.fs, parentDir(dir)); err != nil {
		return "", err
	}
	s.dirs[dir] = true
	return dir, nil
}

// ioErr classifies a file system error: a full disk is ResourceExhausted
// (retry elsewhere), anything else Internal. The cause stays in the
// server's logs only.
func ioErr(op, id string, err error) error {
	if err == nil {
		return nil
	}
	if errs.As(err) != nil {
		return err
	}
	var e *errs.Error
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		e = errs.E(errs.ResourceExhausted, op, err).WithMsg("no space left on the blob node")
	default:
		e = errs.E(errs.Internal, op, err)
	}
	if id != "" {
		e.WithDetail("blob_id", id)
	}
	return e
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// readErr classifies an error reading stored content: a media error (EIO)
// means this copy of the data is lost, which is what DataLoss tells the
// caller (the erasure-coding client reconstructs from other shards).
func readErr(op, id string, err error) error {
	if errors.Is(err, syscall.EIO) {
		return errs.E(errs.DataLoss, op, err).WithMsg("i/o error reading stored data").WithDetail("blob_id", id)
	}
	return ioErr(op, id, err)
}
