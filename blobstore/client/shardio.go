package client

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// ShardIO moves the bytes of the shards stored on one blobstore node. Every
// node is reachable over gRPC (GRPCShards, over its BlobService); a node
// that lives in the client's own process is also reachable through a local
// implementation (blobstore.Server.Local) that calls the node's disk store
// directly: no serialization, no socket, the same per-chunk checksums. Only
// bytes take the local path; control calls (node info, delete, verify)
// always go through gRPC, as everything else between roles does (DESIGN.md,
// "Object bytes are the exception").
//
// Both implementations behave alike, and the client's tests run against
// both: the same errors (a corrupt chunk is DataLoss, a missing shard
// ObjectNotFound, a closed store Unavailable), the first bytes checked
// before Open returns, nothing visible before Commit.
//
// Implementations are safe for concurrent use; a ShardWriter or a
// ShardReader is used by one goroutine at a time.
type ShardIO interface {
	// Create starts writing shard id, of size bytes (-1: unknown).
	// Nothing is visible under id until Commit returns; Abort, or the end
	// of ctx, discards the write.
	Create(ctx context.Context, id string, size int64) (ShardWriter, error)
	// Open starts reading length bytes (-1: to the end) of shard id from
	// offset. It returns once the node has read and verified the first
	// bytes, so a missing shard, a bad range or a corrupt first chunk fails
	// here rather than at the first Next. The read lives in ctx; Close (or
	// the end of ctx) ends it.
	Open(ctx context.Context, id string, offset, length int64) (ShardReader, error)
}

// ShardWriter is one shard being written.
type ShardWriter interface {
	// Write appends p. p is not kept once Write returns: the caller may
	// reuse it.
	Write(p []byte) error
	// Commit makes the shard durable (file and directory fsync'd) and
	// returns what the node stored, which the caller compares with what it
	// sent.
	Commit() (*blobv1.BlobInfo, error)
	// Abort discards the write; after Commit it does nothing.
	Abort()
}

// ShardReader is a byte range of one stored shard being read. Every byte it
// returns passed its chunk's checksum on the node.
type ShardReader interface {
	// Info describes the stored shard (its whole size and CRC32C).
	Info() *blobv1.BlobInfo
	// Next returns the next bytes of the range, valid until the next call
	// of Next or Close, and io.EOF once the node has sent the range. It
	// checks nothing about lengths: the caller does.
	Next() ([]byte, error)
	// Close ends the read; it may be called more than once, but not while
	// another goroutine is in Next (cancel the read's context for that).
	Close()
}

// WholeChecker is implemented by a ShardReader that itself compares the
// CRC32C of a whole-shard range with the stored one, withholding the last
// bytes on a mismatch (the local path: the disk reader does, from the
// chunk checksums it verifies). The client then does not hash the bytes a
// second time; over gRPC it does, since the bytes crossed a network.
type WholeChecker interface {
	ChecksWholeContent() bool
}

// GRPCShards is the ShardIO of a node reached over gRPC.
func GRPCShards(c blobv1.BlobServiceClient) ShardIO { return grpcShards{c} }

type grpcShards struct{ c blobv1.BlobServiceClient }

type putStream = grpc.ClientStreamingClient[blobv1.PutBlobRequest, blobv1.PutBlobResponse]

// Create opens a PutBlob stream and sends its header.
func (g grpcShards) Create(ctx context.Context, id string, size int64) (ShardWriter, error) {
	const op = "blobclient.Put"
	// Cancelling this context is how a put is aborted: the node commits
	// only after the client half-closes the stream, which Abort never does.
	ctx, cancel := context.WithCancel(ctx)
	stream, err := g.c.PutBlob(ctx)
	if err != nil {
		cancel()
		return nil, errs.FromStatus(op, err)
	}
	hdr := &blobv1.PutBlobRequest{Msg: &blobv1.PutBlobRequest_Header{Header: &blobv1.PutBlobHeader{BlobId: id, Size: size}}}
	if err := stream.Send(hdr); err != nil {
		err = sendErr(op, stream, err)
		cancel()
		return nil, err
	}
	return &grpcWriter{stream: stream, cancel: cancel}, nil
}

// grpcWriter sends a shard as PutBlob messages.
type grpcWriter struct {
	stream putStream
	cancel context.CancelFunc
	msg    blobv1.PutBlobRequest
	data   blobv1.PutBlobRequest_Data
}

// Write sends p as one message. gRPC encodes a message into its own buffer
// within Send (and no stats handler here keeps messages), so p and the
// message itself are free again when Send returns.
func (w *grpcWriter) Write(p []byte) error {
	w.data.Data = p
	w.msg.Msg = &w.data
	err := w.stream.Send(&w.msg)
	w.data.Data = nil
	if err != nil {
		return sendErr("blobclient.Put", w.stream, err)
	}
	return nil
}

func (w *grpcWriter) Commit() (*blobv1.BlobInfo, error) {
	defer w.cancel()
	resp, err := w.stream.CloseAndRecv()
	if err != nil {
		return nil, errs.FromStatus("blobclient.Put", err)
	}
	return resp.GetBlob(), nil
}

func (w *grpcWriter) Abort() { w.cancel() }

// sendErr turns a failed Send into the node's real error: gRPC reports
// io.EOF from Send when the server ended the call, and the status is only
// available from the receive side.
func sendErr(op string, stream putStream, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.CloseAndRecv(); rerr != nil {
			return errs.FromStatus(op, rerr)
		}
		return errs.Errorf(errs.Internal, op, "blobstore node ended the put early")
	}
	return errs.FromStatus(op, err)
}

// Open starts a GetBlob stream and waits for its first message, which
// carries the shard's info.
func (g grpcShards) Open(ctx context.Context, id string, offset, length int64) (ShardReader, error) {
	const op = "blobclient.Get"
	ctx, cancel := context.WithCancel(ctx)
	stream, err := g.c.GetBlob(ctx, &blobv1.GetBlobRequest{BlobId: id, Offset: offset, Length: length})
	var first *blobv1.GetBlobResponse
	if err == nil {
		first, err = stream.Recv()
	}
	if err != nil {
		cancel()
		if errors.Is(err, io.EOF) {
			return nil, errs.Errorf(errs.Internal, op, "blobstore node sent an empty stream").WithDetail("blob_id", id)
		}
		return nil, errs.FromStatus(op, err)
	}
	if first.GetBlob() == nil {
		cancel()
		return nil, errs.Errorf(errs.Internal, op, "blobstore node sent no blob info").WithDetail("blob_id", id)
	}
	return &grpcReader{stream: stream, cancel: cancel, info: first.GetBlob(), pending: first.GetData()}, nil
}

// grpcReader pulls GetBlob messages as it is read.
type grpcReader struct {
	stream  grpc.ServerStreamingClient[blobv1.GetBlobResponse]
	cancel  context.CancelFunc
	info    *blobv1.BlobInfo
	pending []byte // the first message's data, not yet returned
}

func (r *grpcReader) Info() *blobv1.BlobInfo { return r.info }

func (r *grpcReader) Next() ([]byte, error) {
	if r.pending != nil {
		b := r.pending
		r.pending = nil
		if len(b) > 0 {
			return b, nil
		}
	}
	m, err := r.stream.Recv()
	switch {
	case errors.Is(err, io.EOF):
		r.cancel()
		return nil, io.EOF
	case err != nil:
		return nil, errs.FromStatus("blobclient.Get", err)
	}
	return m.GetData(), nil
}

func (r *grpcReader) Close() { r.cancel() }
