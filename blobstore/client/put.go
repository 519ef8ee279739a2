package client

import (
	"context"
	"errors"
	"hash/crc32"
	"io"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/bufpool"
	"github.com/coffer-project/coffer/services/errs"
)

// putMessageSize is the data size of one PutBlob message.
const putMessageSize = 256 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Put streams r, which must yield size bytes (size -1: unknown) and then
// io.EOF, into a new blob blobID and returns its placement once the blob is
// durable: one whole copy on the emptiest node (k=1, m=0), or k+m
// Reed–Solomon shards on as many distinct nodes, returned once a write
// quorum of them is durable (the placement names only those; the repair
// scan rebuilds the others). r is read to EOF even when size is known, so that a verifying
// reader gets to report a bad digest.
//
// If r fails, yields a different number of bytes than size, or ctx ends, the
// stream is cancelled before the node could commit, and the node discards
// what it received: nothing becomes visible. r's error is returned as is
// when it is an *errs.Error (a BadDigest from a verifying reader, say), and
// as IncompleteBody otherwise. Put cannot interrupt a blocked r.Read: a
// request body reader returns an error once its request is gone, and that
// is when Put returns.
func (c *Client) Put(ctx context.Context, blobID string, r io.Reader, size int64) (*metadatav1.BlobPlacement, error) {
	const op = "blobclient.Put"
	if size < -1 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "size must be -1 (unknown) or at least 0")
	}
	if c.cfg.DataShards > 1 || c.cfg.ParityShards > 0 {
		return c.putEC(ctx, op, blobID, r, size)
	}
	node, w, err := c.openPut(ctx, op, blobID, size)
	if err != nil {
		return nil, err
	}
	// Every return before Commit aborts the write: the node discards what
	// it received, so nothing of a failed put becomes visible.
	defer w.Abort()
	// The body is read (and hashed by the caller's verifying reader) into
	// one buffer while the other is being written to the node: hashing and
	// the disk write (or the gRPC send) run side by side, not in series.
	// The writer keeps nothing once Write returns, so two pooled buffers
	// carry the whole body.
	pw := startPipe(w)
	defer pw.stop()
	var sent int64
	var crc uint32
	for {
		n := int64(putMessageSize)
		if size >= 0 {
			n = min(n, size-sent)
		}
		if n == 0 {
			// The announced size is reached: r must now be at EOF.
			if err := expectEOF(op, r); err != nil {
				return nil, err
			}
			break
		}
		buf, err := pw.buffer()
		if err != nil {
			c.failed(node, err)
			return nil, err
		}
		k, rerr := io.ReadFull(r, buf[:n])
		if k > 0 {
			crc = crc32.Update(crc, castagnoli, buf[:k])
			sent += int64(k)
		}
		pw.write(buf[:k])
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, readerErr(op, rerr)
		}
	}
	if err := pw.stop(); err != nil {
		c.failed(node, err)
		return nil, err
	}
	if size >= 0 && sent != size {
		return nil, errs.Errorf(errs.IncompleteBody, op, "body has %d of its announced %d bytes", sent, size).WithDetail("blob_id", blobID)
	}
	got, err := w.Commit()
	if err != nil {
		c.failed(node, err)
		return nil, err
	}
	if got.GetSize() != sent || got.GetCrc32C() != crc {
		// The node stored something other than what we sent. Never place
		// it; try to remove it, but a failure to do so is GC's business.
		_, _ = node.Client.DeleteBlob(context.WithoutCancel(ctx), &blobv1.DeleteBlobRequest{BlobId: blobID})
		return nil, errs.Errorf(errs.DataLoss, op, "node stored %d bytes with crc32c %08x, sent %d with %08x",
			got.GetSize(), got.GetCrc32C(), sent, crc).WithDetail("blob_id", blobID).WithDetail("node_id", node.ID)
	}
	return &metadatav1.BlobPlacement{
		BlobId:       blobID,
		DataShards:   1,
		ParityShards: 0,
		StripeSize:   uint32(c.cfg.StripeSize),
		Shards:       []*metadatav1.ShardLocation{{Index: 0, NodeId: node.ID}},
	}, nil
}

// pipe writes buffers to a ShardWriter from its own goroutine, handing
// each back once written; two pooled buffers take turns.
type pipe struct {
	w       ShardWriter
	todo    chan []byte
	free    chan []byte
	done    chan struct{}
	failed  chan struct{} // closed at the first write error
	err     error         // set by the goroutine before failed is closed
	stopped bool
}

func startPipe(w ShardWriter) *pipe {
	p := &pipe{w: w, todo: make(chan []byte, 1), free: make(chan []byte, 2), done: make(chan struct{}), failed: make(chan struct{})}
	p.free <- bufpool.Get(putMessageSize)
	p.free <- bufpool.Get(putMessageSize)
	go func() {
		defer close(p.done)
		for b := range p.todo {
			if p.err == nil && len(b) > 0 {
				if p.err = p.w.Write(b); p.err != nil {
					close(p.failed)
				}
			}
			p.free <- b[:cap(b)]
		}
	}()
	return p
}

// buffer returns a free buffer, or the write error that stopped the pipe.
func (p *pipe) buffer() ([]byte, error) {
	select {
	case <-p.failed:
		return nil, p.err
	default:
	}
	select {
	case b := <-p.free:
		return b[:putMessageSize], nil
	case <-p.failed:
		return nil, p.err
	}
}

// write queues b (a buffer from buffer, possibly empty) for the writer.
func (p *pipe) write(b []byte) { p.todo <- b }

// stop waits for every queued buffer to be written and returns the first
// write error; the writer is then free for Commit or Abort. It may be
// called more than once.
func (p *pipe) stop() error {
	if !p.stopped {
		p.stopped = true
		close(p.todo)
		<-p.done
		for len(p.free) > 0 {
			bufpool.Put(<-p.free)
		}
	}
	return p.err
}

// openPut starts a write on the best node that accepts one. Nothing has
// been read from the caller's reader yet, so moving on to the next node
// loses nothing.
func (c *Client) openPut(ctx context.Context, op, blobID string, size int64) (Node, ShardWriter, error) {
	var last error
	for _, n := range c.candidates(ctx, false) {
		w, err := n.shards().Create(ctx, blobID, size)
		if err == nil {
			return n, w, nil
		}
		last = err
		c.failed(n, last)
		if !errs.Is(last, errs.Unavailable) && !errs.Is(last, errs.ResourceExhausted) {
			break
		}
	}
	return Node{}, nil, last
}

// failed notes a node error that says the node cannot take writes now.
func (c *Client) failed(n Node, err error) {
	if errs.Is(err, errs.Unavailable) || errs.Is(err, errs.ResourceExhausted) {
		c.markFailed(n.ID)
	}
}

// expectEOF checks that r has nothing left once the announced size is read.
func expectEOF(op string, r io.Reader) error {
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		switch {
		case n > 0:
			return errs.Errorf(errs.InvalidArgument, op, "body is longer than its announced size")
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return readerErr(op, err)
		}
	}
}

func readerErr(op string, err error) error {
	if errs.As(err) != nil {
		return err
	}
	return errs.E(errs.IncompleteBody, op, err).WithMsg("reading the body failed")
}
