package blobstore

import (
	"context"
	"io"

	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Local returns the in-process path to this node's shards, for a blob
// client in the same process (services/app wires it when the gateway and
// the blobstore roles share a process). It does what PutBlob and GetBlob do
// — the same disk store, the same per-chunk checksums verified before a
// byte is handed on, the same errors — without encoding messages or
// crossing a socket: a verified chunk goes from the file to the caller's
// writer with one copy. It is valid for the Server's whole life: calls
// fail with Unavailable outside Start..Stop, as gRPC calls do.
func (s *Server) Local() client.ShardIO { return localShards{s} }

type localShards struct{ s *Server }

// Create implements client.ShardIO, as PutBlob does.
func (l localShards) Create(ctx context.Context, id string, size int64) (client.ShardWriter, error) {
	const op = "blobstore.PutBlob"
	st, err := l.s.open(op)
	if err != nil {
		return nil, err
	}
	w, err := st.Create(id, size)
	if err != nil {
		return nil, err
	}
	return &localWriter{ctx: ctx, w: w, id: id}, nil
}

type localWriter struct {
	ctx context.Context
	w   *disk.Writer
	id  string
}

func (w *localWriter) Write(p []byte) error {
	if err := w.ctx.Err(); err != nil {
		w.w.Abort()
		return errs.E(errs.Canceled, "blobstore.PutBlob", err).WithDetail("blob_id", w.id)
	}
	_, err := w.w.Write(p)
	return err
}

// Commit commits unless the writer's context ended: like PutBlob, a put
// whose caller went away is not made durable.
func (w *localWriter) Commit() (*blobv1.BlobInfo, error) {
	if err := w.ctx.Err(); err != nil {
		w.w.Abort()
		return nil, errs.E(errs.IncompleteBody, "blobstore.PutBlob", err).WithDetail("blob_id", w.id)
	}
	info, err := w.w.Commit()
	if err != nil {
		return nil, err
	}
	return toProto(info), nil
}

func (w *localWriter) Abort() { w.w.Abort() }

// Open implements client.ShardIO, as GetBlob does: the first batch of
// chunks is read and verified before Open returns.
func (l localShards) Open(ctx context.Context, id string, offset, length int64) (client.ShardReader, error) {
	const op = "blobstore.GetBlob"
	st, err := l.s.open(op)
	if err != nil {
		return nil, err
	}
	b, err := st.OpenBlob(id)
	if err != nil {
		return nil, err
	}
	r, err := b.NewReader(offset, length)
	if err != nil {
		b.Close()
		return nil, err
	}
	lr := &localReader{ctx: ctx, b: b, r: r, info: toProto(b.Info())}
	first, err := r.Next()
	switch {
	case err == nil:
		lr.pending = first
	case err == io.EOF:
		lr.eof = true
	default:
		// An error before any byte fails the open, as GetBlob's status.
		lr.Close()
		return nil, err
	}
	return lr, nil
}

type localReader struct {
	ctx     context.Context
	b       *disk.Blob
	r       *disk.Reader
	info    *blobv1.BlobInfo
	pending []byte
	eof     bool
	closed  bool
}

func (r *localReader) Info() *blobv1.BlobInfo { return r.info }

// ChecksWholeContent implements client.WholeChecker: a whole-blob range is
// checked against the header's CRC32C by the disk reader.
func (r *localReader) ChecksWholeContent() bool { return true }

func (r *localReader) Next() ([]byte, error) {
	const op = "blobstore.GetBlob"
	switch {
	case r.closed:
		return nil, errs.Errorf(errs.Canceled, op, "read after close").WithDetail("blob_id", r.info.GetBlobId())
	case r.pending != nil:
		b := r.pending
		r.pending = nil
		return b, nil
	case r.eof:
		return nil, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return nil, errs.E(errs.Canceled, op, err).WithDetail("blob_id", r.info.GetBlobId())
	}
	b, err := r.r.Next()
	if err == io.EOF {
		r.eof = true
	}
	return b, err
}

func (r *localReader) Close() {
	if !r.closed {
		r.closed = true
		r.r.Close()
		r.b.Close()
	}
}
