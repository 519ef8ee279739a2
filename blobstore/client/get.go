package client

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Get returns a reader of length bytes of the blob from offset (length -1:
// to the end; a range past the end is cut at the end; an offset past the end
// is InvalidRange). It waits for the nodes' first messages, so that a missing
// blob, a bad range or a corrupt first chunk is reported here rather than on
// the first Read; the rest is pulled from the nodes as the caller reads, so
// memory stays at a message or two (a stripe or two for an erasure-coded
// blob) whatever the range.
//
// An erasure-coded blob is read from the data shards holding the range;
// when one of them fails (node down, shard missing, corrupt or short) the
// read goes on from other shards, reconstructing from parity, and the
// damaged shard is reported to its node for repair. The caller sees an
// error only when fewer than k shards can be read.
//
// The reader fails (it never returns wrong bytes) when the node reports
// DataLoss, when the stream ends early, or, for a whole-blob read, when the
// content's CRC32C does not match the stored one; in that last case the
// final bytes are withheld, so a consumer that relies on the length sees a
// short body. The reader's stream lives in ctx: cancelling ctx or calling
// Close ends it. Close must be called.
func (c *Client) Get(ctx context.Context, p *metadatav1.BlobPlacement, offset, length int64) (io.ReadCloser, error) {
	const op = "blobclient.Get"
	if err := checkPlacement(op, p); err != nil {
		return nil, err
	}
	if offset < 0 || length < -1 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "offset must be >= 0 and length >= -1").WithDetail("blob_id", p.GetBlobId())
	}
	if IsErasureCoded(p) {
		return c.getEC(ctx, op, p, offset, length)
	}
	node, err := c.node(op, p.GetShards()[0].GetNodeId())
	if err != nil {
		return nil, err
	}
	// The read lives in its own context: Close cancels it from any
	// goroutine, which ends a node's stream at once.
	ctx, cancel := context.WithCancel(ctx)
	src, err := node.shards().Open(ctx, p.GetBlobId(), offset, length)
	if err != nil {
		cancel()
		return nil, err
	}
	info := src.Info()
	if offset > info.GetSize() {
		src.Close()
		cancel()
		return nil, errs.Errorf(errs.Internal, op, "blobstore node sent no blob info").WithDetail("blob_id", p.GetBlobId())
	}
	want := info.GetSize() - offset
	if length >= 0 {
		want = min(want, length)
	}
	r := &reader{
		id:     p.GetBlobId(),
		src:    src,
		left:   want,
		whole:  offset == 0 && want == info.GetSize(),
		crc32c: info.GetCrc32C(),
	}
	if wc, ok := src.(WholeChecker); ok && wc.ChecksWholeContent() {
		r.whole = false // the source checks it before its last bytes
	}
	r.life.init(cancel, src.Close)
	return r, nil
}

// lifetime lets Close be called from any goroutine while another reads: a
// ShardReader (and the bytes its Next returned) must only be released by
// whoever is not using it. Reads hold mu; Close cancels the read's context
// (ending a blocked gRPC receive), marks it closed, and releases the
// source only if no read is under way — otherwise that read does, as it
// ends.
type lifetime struct {
	mu       sync.Mutex
	closed   atomic.Bool
	cancel   context.CancelFunc
	free     func()
	released bool // under mu
}

func (l *lifetime) init(cancel context.CancelFunc, free func()) { l.cancel, l.free = cancel, free }

// enter starts a read; it reports false when the reader is closed.
func (l *lifetime) enter() bool {
	l.mu.Lock()
	if l.closed.Load() {
		l.releaseLocked()
		l.mu.Unlock()
		return false
	}
	return true
}

// exit ends a read, releasing the source if Close came meanwhile.
func (l *lifetime) exit() {
	l.mu.Unlock()
	if l.closed.Load() && l.mu.TryLock() {
		l.releaseLocked()
		l.mu.Unlock()
	}
}

func (l *lifetime) close() {
	l.closed.Store(true)
	l.cancel()
	if l.mu.TryLock() {
		l.releaseLocked()
		l.mu.Unlock()
	}
}

func (l *lifetime) releaseLocked() {
	if !l.released {
		l.released = true
		l.free()
		l.cancel()
	}
}

// reader returns a range of a whole-copy blob as its node hands it over.
// Read (or WriteTo) is used by one goroutine; Close may be called from
// another to abandon the read.
type reader struct {
	id   string
	src  ShardReader
	life lifetime

	buf    []byte // received, not yet returned
	left   int64  // bytes still to receive
	err    error  // returned once buf is drained
	whole  bool   // the range is the whole blob: check crc32c
	crc    uint32
	crc32c uint32 // the stored content's
}

// accept takes the next bytes from the node, checking them against what
// was asked for.
func (r *reader) accept(data []byte) {
	const op = "blobclient.Get"
	if int64(len(data)) > r.left {
		r.err = errs.Errorf(errs.Internal, op, "blobstore node sent more bytes than asked for").WithDetail("blob_id", r.id)
		return
	}
	r.left -= int64(len(data))
	if r.whole {
		r.crc = crc32.Update(r.crc, castagnoli, data)
		if r.left == 0 && r.crc != r.crc32c {
			r.err = errs.Errorf(errs.DataLoss, op, "blob content checksum mismatch").WithDetail("blob_id", r.id)
			return
		}
	}
	r.buf = data
}

// fill gets the next bytes into r.buf, or sets r.err.
func (r *reader) fill() {
	const op = "blobclient.Get"
	data, err := r.src.Next()
	switch {
	case errors.Is(err, io.EOF) && r.left == 0:
		r.err = io.EOF
	case errors.Is(err, io.EOF):
		r.err = errs.Errorf(errs.Internal, op, "blob stream ended %d bytes early", r.left).WithDetail("blob_id", r.id)
	case err != nil:
		r.err = err
	default:
		r.accept(data)
	}
}

func (r *reader) closedErr() error {
	return errs.Errorf(errs.Canceled, "blobclient.Get", "read after close").WithDetail("blob_id", r.id)
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	if !r.life.enter() {
		return 0, r.closedErr()
	}
	defer r.life.exit()
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: every verified batch goes from the
// node's buffer to w, with no copy in between.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	if !r.life.enter() {
		return 0, r.closedErr()
	}
	defer r.life.exit()
	var total int64
	for {
		for len(r.buf) == 0 {
			if r.err == io.EOF {
				return total, nil
			}
			if r.err != nil {
				return total, r.err
			}
			r.fill()
		}
		n, err := w.Write(r.buf)
		total += int64(n)
		r.buf = r.buf[n:]
		if err != nil {
			return total, err
		}
		if r.life.closed.Load() {
			return total, r.closedErr()
		}
	}
}

// Close ends the read. It is safe to call more than once and concurrently
// with Read (which then fails).
func (r *reader) Close() error {
	r.life.close()
	return nil
}
