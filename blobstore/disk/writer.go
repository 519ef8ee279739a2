package disk

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/coffer-project/coffer/services/bufpool"
	"github.com/coffer-project/coffer/services/errs"
)

// Writer streams one blob into a temp file. Nothing is visible under the
// blob's id until Commit returns; Abort (or any failure) removes the temp
// file. A Writer is used by one goroutine at a time.
type Writer struct {
	s        *Store
	id       string
	expected int64 // announced size, or -1
	f        File
	tmp      string
	direct   *directFile // nil: chunks go through f (direct.go)

	buf     []byte // one chunk plus its checksum
	fill    int    // bytes of the current chunk in buf
	chunk   int64  // index of the current chunk
	written int64
	crc     uint32 // of the whole content so far

	err  error // sticky: the first failure
	done bool  // committed or cleaned up
}

// Create starts writing blob id. size is the announced size, or -1 when
// unknown; Write fails past it and Commit fails short of it. An existing blob
// with the same id is replaced atomically at Commit.
func (s *Store) Create(id string, size int64) (*Writer, error) {
	const op = "disk.Create"
	if err := s.check(op, id); err != nil {
		return nil, err
	}
	if size < -1 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "size must be -1 (unknown) or at least 0").WithDetail("blob_id", id)
	}
	if size > MaxBlobSize {
		return nil, errs.Errorf(errs.EntityTooLarge, op, "blob is larger than %d bytes", int64(MaxBlobSize)).WithDetail("blob_id", id)
	}
	// Refuse up front what cannot fit, rather than after streaming it:
	// the client can then place the blob on another node at once.
	if size > 0 {
		need := layout{chunkSize: int64(s.chunkSize), size: size}.fileSize()
		if _, free, err := statfs(s.root); err == nil && free > 0 && need > free {
			return nil, errs.Errorf(errs.ResourceExhausted, op, "no space left on the blob node for %d bytes", size).WithDetail("blob_id", id)
		}
	}
	// The random part keeps concurrent writes of one id apart; the id in
	// the name is for whoever reads a listing of tmp/.
	tmp := filepath.Join(s.root, tempDir, id+"."+randomHex(8)+tempSuffix)
	f, err := s.fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, ioErr(op, id, err)
	}
	w := &Writer{
		s:        s,
		id:       id,
		expected: size,
		f:        f,
		tmp:      tmp,
		buf:      bufpool.Get(s.chunkSize + CRCSize),
	}
	// Only on the operating system's file system: the fault-injecting
	// ones of the tests see every write.
	if _, ok := s.fs.(OSFS); ok && size >= directMinSize {
		w.direct = openDirect(tmp)
	}
	return w, nil
}

// Write appends p to the blob. Full chunks are checksummed and written as
// they fill, so memory stays at one chunk whatever the blob size.
func (w *Writer) Write(p []byte) (int, error) {
	const op = "disk.Write"
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, errs.Errorf(errs.Internal, op, "write after commit").WithDetail("blob_id", w.id)
	}
	if w.expected >= 0 && w.written+int64(len(p)) > w.expected {
		return 0, w.fail(errs.Errorf(errs.InvalidArgument, op, "blob is longer than its announced size of %d bytes", w.expected).
			WithDetail("blob_id", w.id))
	}
	if w.written+int64(len(p)) > MaxBlobSize {
		return 0, w.fail(errs.Errorf(errs.EntityTooLarge, op, "blob is larger than %d bytes", int64(MaxBlobSize)).WithDetail("blob_id", w.id))
	}
	n := 0
	cs := w.s.chunkSize
	for len(p) > 0 {
		k := copy(w.buf[w.fill:cs], p)
		w.fill += k
		p = p[k:]
		n += k
		w.written += int64(k)
		if w.fill == cs {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Written is the number of content bytes accepted so far.
func (w *Writer) Written() int64 { return w.written }

// flush writes the current (possibly short, if last) chunk and its checksum
// at the chunk's fixed offset.
func (w *Writer) flush() error {
	data := w.buf[:w.fill]
	c := chunkCRC(w.chunk, data)
	binary.LittleEndian.PutUint32(w.buf[w.fill:], c)
	// The content's CRC follows from the chunk's: one pass over the bytes.
	w.crc = crcCombine(w.crc, dataCRC(w.chunk, c, int64(w.fill)), int64(w.fill))
	off := HeaderSize + w.chunk*int64(w.s.chunkSize+CRCSize)
	var err error
	if d := w.direct; d != nil {
		if off != d.base+int64(d.fill) {
			return w.fail(errs.Errorf(errs.Internal, "disk.Write", "direct write out of order at %d", off).WithDetail("blob_id", w.id))
		}
		err = d.append(w.buf[:w.fill+CRCSize])
	} else {
		_, err = w.f.WriteAt(w.buf[:w.fill+CRCSize], off)
	}
	if err != nil {
		return w.fail(ioErr("disk.Write", w.id, err))
	}
	w.chunk++
	w.fill = 0
	return nil
}

// Commit makes the blob durable and visible: it writes the last chunk and
// the header, fsyncs the file, renames it into place and fsyncs the
// directory. Only after Commit returns nil may anyone be told the blob
// exists (spec/reliability.md I1).
func (w *Writer) Commit() (Info, error) {
	const op = "disk.Commit"
	if w.err != nil {
		return Info{}, w.err
	}
	if w.done {
		return Info{}, errs.Errorf(errs.Internal, op, "commit after commit or abort").WithDetail("blob_id", w.id)
	}
	if w.expected >= 0 && w.written != w.expected {
		return Info{}, w.fail(errs.Errorf(errs.IncompleteBody, op, "blob has %d of its announced %d bytes", w.written, w.expected).
			WithDetail("blob_id", w.id))
	}
	if w.s.closed.Load() {
		return Info{}, w.fail(errs.Errorf(errs.Unavailable, op, "blob store is closed"))
	}
	if w.fill > 0 {
		if err := w.flush(); err != nil {
			return Info{}, err
		}
	}
	if w.direct != nil {
		err := w.direct.finish(w.f)
		w.direct = nil
		if err != nil {
			return Info{}, w.fail(ioErr(op, w.id, err))
		}
	}
	h := header{
		version:   FormatVersion,
		chunkSize: uint32(w.s.chunkSize),
		size:      uint64(w.written),
		crc:       w.crc,
		created:   time.Now().UnixNano(),
	}
	// The header goes in last, so a temp file is never mistaken for a
	// complete blob; it is written before the fsync, so the rename below
	// publishes a complete file.
	if _, err := w.f.WriteAt(h.encode(), 0); err != nil {
		return Info{}, w.fail(ioErr(op, w.id, err))
	}
	if err := w.f.Sync(); err != nil {
		return Info{}, w.fail(ioErr(op, w.id, err))
	}
	err := w.f.Close()
	w.f = nil
	w.release()
	if err != nil {
		return Info{}, w.fail(ioErr(op, w.id, err))
	}
	leaf, err := w.s.ensureDir(w.id)
	if err != nil {
		return Info{}, w.fail(ioErr(op, w.id, err))
	}
	final := filepath.Join(leaf, w.id)
	w.s.mu.Lock()
	_, statErr := w.s.fs.Lstat(final)
	err = w.s.fs.Rename(w.tmp, final)
	if err == nil && errors.Is(statErr, fs.ErrNotExist) {
		w.s.count++
	}
	w.s.mu.Unlock()
	if err != nil {
		return Info{}, w.fail(ioErr(op, w.id, err))
	}
	w.done = true
	// If this fails the blob is visible but may not survive a power loss.
	// The caller gets an error and so never references the blob; it is
	// left for garbage collection rather than removed, because removing it
	// could remove an older, good copy that this write replaced.
	if err := syncDir(w.s.fs, leaf); err != nil {
		w.err = ioErr(op, w.id, err)
		return Info{}, w.err
	}
	return h.info(w.id), nil
}

// Abort discards the write and removes the temp file. It is safe to call
// after Commit (it does nothing) and more than once.
func (w *Writer) Abort() error {
	if w.err == nil && !w.done {
		w.err = errs.Errorf(errs.Canceled, "disk.Abort", "write aborted").WithDetail("blob_id", w.id)
	}
	return w.cleanup()
}

// fail records err as the writer's sticky error and removes the temp file.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	w.cleanup()
	return w.err
}

// release returns the chunk buffer to the pool once nothing more will be
// written.
func (w *Writer) release() {
	if w.buf != nil {
		bufpool.Put(w.buf)
		w.buf = nil
	}
}

func (w *Writer) cleanup() error {
	if w.done {
		return nil
	}
	w.done = true
	w.release()
	if w.direct != nil {
		w.direct.close()
		w.direct = nil
	}
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if err := w.s.fs.Remove(w.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ioErr("disk.Abort", w.id, err)
	}
	return nil
}
