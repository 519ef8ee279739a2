package client

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
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
	ctx, cancel := context.WithCancel(ctx)
	stream, err := node.Client.GetBlob(ctx, &blobv1.GetBlobRequest{BlobId: p.GetBlobId(), Offset: offset, Length: length})
	if err != nil {
		cancel()
		return nil, errs.FromStatus(op, err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		if errors.Is(err, io.EOF) {
			return nil, errs.Errorf(errs.Internal, op, "blobstore node sent an empty stream").WithDetail("blob_id", p.GetBlobId())
		}
		return nil, errs.FromStatus(op, err)
	}
	info := first.GetBlob()
	if info == nil || offset > info.GetSize() {
		cancel()
		return nil, errs.Errorf(errs.Internal, op, "blobstore node sent no blob info").WithDetail("blob_id", p.GetBlobId())
	}
	want := info.GetSize() - offset
	if length >= 0 {
		want = min(want, length)
	}
	r := &reader{
		id:     p.GetBlobId(),
		stream: stream,
		cancel: cancel,
		left:   want,
		whole:  offset == 0 && want == info.GetSize(),
		crc32c: info.GetCrc32C(),
	}
	r.accept(first.GetData())
	return r, nil
}

// reader pulls GetBlob messages as it is read. Read is used by one
// goroutine; Close may be called from another to abandon the read.
type reader struct {
	id     string
	stream grpc.ServerStreamingClient[blobv1.GetBlobResponse]
	cancel context.CancelFunc
	closed atomic.Bool

	buf    []byte // received, not yet returned
	left   int64  // bytes still to receive
	err    error  // returned once buf is drained
	whole  bool   // the range is the whole blob: check crc32c
	crc    uint32
	crc32c uint32 // the stored content's
}

// accept takes one message's data, checking it against what was asked for.
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

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	const op = "blobclient.Get"
	for len(r.buf) == 0 {
		switch {
		case r.err != nil:
			return 0, r.err
		case r.closed.Load():
			return 0, errs.Errorf(errs.Canceled, op, "read after close").WithDetail("blob_id", r.id)
		}
		m, err := r.stream.Recv()
		switch {
		case errors.Is(err, io.EOF) && r.left == 0:
			r.err = io.EOF
			r.cancel()
		case errors.Is(err, io.EOF):
			r.err = errs.Errorf(errs.Internal, op, "blob stream ended %d bytes early", r.left).WithDetail("blob_id", r.id)
		case err != nil:
			r.err = errs.FromStatus(op, err)
		default:
			r.accept(m.GetData())
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close ends the stream. It is safe to call more than once and concurrently
// with Read (which then fails).
func (r *reader) Close() error {
	r.closed.Store(true)
	r.cancel()
	return nil
}
