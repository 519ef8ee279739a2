package disk

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/coffer-project/coffer/services/bufpool"
	"github.com/coffer-project/coffer/services/errs"
)

// readBatch is how many bytes of content a Reader fetches per read system
// call (a few chunks, one server message's worth): fewer system calls than
// one chunk at a time, little memory per stream. A batch never extends past
// the requested range.
const readBatch = 256 << 10

// Blob is an open blob: its header has been read and checked. Readers of one
// Blob may be used concurrently. The Blob must be closed.
type Blob struct {
	id string
	f  File
	h  header
	l  layout
}

// OpenBlob opens blob id and checks its header. A missing blob is
// ObjectNotFound; an unreadable header is DataLoss.
func (s *Store) OpenBlob(id string) (*Blob, error) {
	const op = "disk.Open"
	if err := s.check(op, id); err != nil {
		return nil, err
	}
	f, err := s.fs.OpenFile(s.path(id), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Errorf(errs.ObjectNotFound, op, "no such blob").WithDetail("blob_id", id)
	}
	if err != nil {
		return nil, readErr(op, id, err)
	}
	hb := make([]byte, HeaderSize)
	if n, err := f.ReadAt(hb, 0); err != nil && !(err == io.EOF && n == HeaderSize) {
		f.Close()
		if err == io.EOF {
			return nil, errs.Errorf(errs.DataLoss, op, "blob header is truncated").WithDetail("blob_id", id)
		}
		return nil, readErr(op, id, err)
	}
	h, err := decodeHeader(op, id, hb)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Blob{id: id, f: f, h: h, l: layout{chunkSize: int64(h.chunkSize), size: int64(h.size)}}, nil
}

// Info describes the blob.
func (b *Blob) Info() Info { return b.h.info(b.id) }

// Close closes the blob's file.
func (b *Blob) Close() error { return b.f.Close() }

// NewReader returns a reader of length bytes from offset (length -1: to the
// end; a range running past the end is cut at the end). An offset past the
// end is InvalidRange; an offset equal to the size yields an empty reader.
func (b *Blob) NewReader(offset, length int64) (*Reader, error) {
	const op = "disk.Read"
	size := b.l.size
	switch {
	case offset < 0 || length < -1:
		return nil, errs.Errorf(errs.InvalidArgument, op, "offset must be >= 0 and length >= -1").WithDetail("blob_id", b.id)
	case offset > size:
		return nil, errs.Errorf(errs.InvalidRange, op, "offset %d is beyond the blob's %d bytes", offset, size).WithDetail("blob_id", b.id)
	}
	if length == -1 || length > size-offset {
		length = size - offset
	}
	r := &Reader{b: b, remaining: length, whole: offset == 0 && length == size}
	if length > 0 {
		cs := b.l.chunkSize
		r.next = offset / cs
		r.last = (offset + length - 1) / cs
		r.skip = offset - r.next*cs
		r.batch = min(max(1, readBatch/cs), r.last-r.next+1)
		r.buf = bufpool.Get(int(r.batch * (cs + CRCSize)))
	}
	return r, nil
}

// Reader reads a byte range of a blob, verifying the checksum of every chunk
// before any byte of it is returned. A corrupt or missing chunk ends the read
// with DataLoss after the verified bytes before it. A Reader is used by one
// goroutine at a time; Close returns its buffer to the pool.
type Reader struct {
	b         *Blob
	next      int64 // next chunk to load
	last      int64 // last chunk of the range
	skip      int64 // bytes of the next chunk before the range starts
	remaining int64 // bytes of the range not yet loaded
	batch     int64 // chunks per read
	buf       []byte
	avail     []byte // verified bytes not yet returned
	err       error  // returned once avail is drained

	whole bool   // the range is the whole blob: check the content CRC too
	crc   uint32 // of the content loaded so far, when whole
}

// Len is the number of bytes of the range not yet returned.
func (r *Reader) Len() int64 { return r.remaining + int64(len(r.avail)) }

// Next returns the next verified bytes of the range (a batch of chunks, at
// most readBatch bytes), without copying them: the slice is the reader's
// own buffer, valid until the next call of Next, Read or Close. At the end
// of the range it returns io.EOF; after a bad chunk, the verified bytes
// before it and then the error.
func (r *Reader) Next() ([]byte, error) {
	for len(r.avail) == 0 {
		if r.err != nil {
			return nil, r.err
		}
		if r.remaining == 0 {
			return nil, io.EOF
		}
		r.load()
	}
	v := r.avail
	r.avail = nil
	return v, nil
}

// Close releases the reader's buffer; the reader must not be used after.
// It does not close the Blob.
func (r *Reader) Close() {
	if r.buf != nil {
		bufpool.Put(r.buf)
		r.buf, r.avail = nil, nil
		if r.err == nil {
			r.err = errs.Errorf(errs.Canceled, "disk.Read", "read after close").WithDetail("blob_id", r.b.id)
		}
	}
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.avail) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.remaining == 0 {
			return 0, io.EOF
		}
		r.load()
	}
	n := copy(p, r.avail)
	r.avail = r.avail[n:]
	return n, nil
}

// load reads the next batch of chunks with one ReadAt, verifies them in
// order and keeps the content of those that verify, packed at the front of
// buf. It stops at the first bad chunk and records the error.
func (r *Reader) load() {
	const op = "disk.Read"
	l, first := r.b.l, r.next
	n := min(r.batch, r.last-first+1)
	start, end := l.offset(first), l.end(first+n-1)
	buf := r.buf[:end-start]
	got, err := r.b.f.ReadAt(buf, start)
	if err != nil && err != io.EOF {
		r.err = readErr(op, r.b.id, err)
		return
	}
	packed := int64(0)
	for i := first; i < first+n; i++ {
		o, dl := l.offset(i)-start, l.dataLen(i)
		if o+dl+CRCSize > int64(got) {
			r.err = chunkLost(op, r.b.id, i, "is missing (file truncated)")
			break
		}
		data := buf[o : o+dl]
		stored := binary.LittleEndian.Uint32(buf[o+dl:])
		if chunkCRC(i, data) != stored {
			r.err = chunkLost(op, r.b.id, i, "failed its checksum")
			break
		}
		if r.whole {
			// The content's CRC follows from the verified chunk's: no
			// second pass over the bytes.
			r.crc = crcCombine(r.crc, dataCRC(i, stored, dl), dl)
		}
		copy(buf[packed:], data) // memmove: packed <= o
		packed += dl
		r.next++
	}
	v := buf[:packed]
	if r.skip > 0 && packed > 0 {
		v = v[r.skip:]
		r.skip = 0
	}
	if int64(len(v)) > r.remaining {
		v = v[:r.remaining]
	}
	r.remaining -= int64(len(v))
	if r.whole {
		if r.remaining == 0 && r.crc != r.b.h.crc {
			// Every chunk verified yet the whole does not: the header and
			// the chunks disagree. Withhold the last batch rather than
			// finish a read we know is wrong.
			r.err = errs.Errorf(errs.DataLoss, op, "blob content checksum mismatch").WithDetail("blob_id", r.b.id)
			v = nil
		}
	}
	r.avail = v
}

func chunkLost(op, id string, chunk int64, what string) error {
	return errs.Errorf(errs.DataLoss, op, "chunk %d of the blob %s", chunk, what).WithDetail("blob_id", id)
}

// Verify reads the whole blob and returns the indexes of the chunks that are
// corrupt or missing. It returns a DataLoss error when every chunk verifies
// but the content checksum in the header does not match (the damage cannot
// be pinned on a chunk), and ctx's error if ctx ends first.
func (b *Blob) Verify(ctx context.Context) ([]int64, error) {
	const op = "disk.Verify"
	l := b.l
	nchunks := l.chunks()
	batch := min(max(1, readBatch/l.chunkSize), max(nchunks, 1))
	buf := bufpool.Get(int(batch * (l.chunkSize + CRCSize)))
	defer bufpool.Put(buf)
	var corrupt []int64
	var crc uint32
	for first := int64(0); first < nchunks; first += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(batch, nchunks-first)
		start := l.offset(first)
		part := buf[:l.end(first+n-1)-start]
		got, err := b.f.ReadAt(part, start)
		if err != nil && err != io.EOF {
			return nil, readErr(op, b.id, err)
		}
		for i := first; i < first+n; i++ {
			o, dl := l.offset(i)-start, l.dataLen(i)
			if o+dl+CRCSize > int64(got) {
				corrupt = append(corrupt, i)
				continue
			}
			stored := binary.LittleEndian.Uint32(part[o+dl:])
			if chunkCRC(i, part[o:o+dl]) != stored {
				corrupt = append(corrupt, i)
				continue
			}
			crc = crcCombine(crc, dataCRC(i, stored, dl), dl)
		}
	}
	if len(corrupt) == 0 && crc != b.h.crc {
		return nil, errs.Errorf(errs.DataLoss, op, "blob content checksum mismatch").WithDetail("blob_id", b.id)
	}
	return corrupt, nil
}

// Verify opens blob id and verifies it; see Blob.Verify.
func (s *Store) Verify(ctx context.Context, id string) (Info, []int64, error) {
	b, err := s.OpenBlob(id)
	if err != nil {
		return Info{}, nil, err
	}
	defer b.Close()
	corrupt, err := b.Verify(ctx)
	return b.Info(), corrupt, err
}
