package blobstore

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/blobstore/disk"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// GetMessageSize is the data size of one GetBlob response message: large
// enough that per-message overhead is small, small enough that a stream
// holds little memory and the first bytes leave quickly.
const GetMessageSize = 256 << 10

// ListBlobs page sizes (AIP-158: a larger page_size is coerced down).
const (
	defaultPageSize = 1000
	maxPageSize     = 10000
)

// PutBlob implements BlobService: header, then data, then a durable blob.
func (s *Server) PutBlob(stream grpc.ClientStreamingServer[blobv1.PutBlobRequest, blobv1.PutBlobResponse]) error {
	const op = "blobstore.PutBlob"
	st, err := s.open(op)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return errs.Errorf(errs.InvalidArgument, op, "empty put stream: the first message must carry the header")
	}
	if err != nil {
		return errs.E(errs.IncompleteBody, op, err).WithMsg("put stream ended before the header")
	}
	h := first.GetHeader()
	if h == nil {
		return errs.Errorf(errs.InvalidArgument, op, "the first message must carry the header")
	}
	id := h.GetBlobId()
	w, err := st.Create(id, h.GetSize())
	if err != nil {
		return err
	}
	// Every early return aborts the write; after Commit this is a no-op.
	defer w.Abort()
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errs.E(errs.IncompleteBody, op, err).WithMsg("put stream ended before the client finished").
				WithDetail("blob_id", id)
		}
		if m.GetHeader() != nil {
			return errs.Errorf(errs.InvalidArgument, op, "header sent twice").WithDetail("blob_id", id)
		}
		if _, err := w.Write(m.GetData()); err != nil {
			return err
		}
	}
	// A client that went away after its last message will never learn of
	// the blob; not committing spares the garbage collector.
	if err := stream.Context().Err(); err != nil {
		return errs.E(errs.IncompleteBody, op, err).WithDetail("blob_id", id)
	}
	info, err := w.Commit()
	if err != nil {
		return err
	}
	return stream.SendAndClose(&blobv1.PutBlobResponse{Blob: toProto(info)})
}

// GetBlob implements BlobService. The first message carries the blob info
// (and is sent even for an empty range); data follows in batches of
// chunks (disk.Reader.Next, up to GetMessageSize bytes), each verified by
// the disk reader before it is sent. A message's data is the reader's own
// buffer: gRPC encodes a message within Send (no stats handler here keeps
// messages), so the buffer is free again when Send returns.
func (s *Server) GetBlob(req *blobv1.GetBlobRequest, stream grpc.ServerStreamingServer[blobv1.GetBlobResponse]) error {
	st, err := s.open("blobstore.GetBlob")
	if err != nil {
		return err
	}
	b, err := st.OpenBlob(req.GetBlobId())
	if err != nil {
		return err
	}
	defer b.Close()
	r, err := b.NewReader(req.GetOffset(), req.GetLength())
	if err != nil {
		return err
	}
	defer r.Close()
	m := &blobv1.GetBlobResponse{Blob: toProto(b.Info())}
	for first := true; ; first = false {
		data, err := r.Next()
		if err == io.EOF {
			if first {
				return stream.Send(m)
			}
			return nil
		}
		// An error before any byte (a corrupt first chunk) is the call's
		// status, so the client sees it at Get rather than at a Read.
		if err != nil {
			return err
		}
		// A batch is one chunk when chunks are large: cut it to size.
		for len(data) > 0 {
			n := min(len(data), GetMessageSize)
			m.Data, data = data[:n], data[n:]
			if err := stream.Send(m); err != nil {
				return err
			}
			m.Blob = nil
		}
	}
}

// StatBlob implements BlobService.
func (s *Server) StatBlob(ctx context.Context, req *blobv1.StatBlobRequest) (*blobv1.StatBlobResponse, error) {
	st, err := s.open("blobstore.StatBlob")
	if err != nil {
		return nil, err
	}
	info, err := st.Stat(req.GetBlobId())
	if err != nil {
		return nil, err
	}
	return &blobv1.StatBlobResponse{Blob: toProto(info)}, nil
}

// DeleteBlob implements BlobService; deleting a missing blob succeeds.
func (s *Server) DeleteBlob(ctx context.Context, req *blobv1.DeleteBlobRequest) (*blobv1.DeleteBlobResponse, error) {
	st, err := s.open("blobstore.DeleteBlob")
	if err != nil {
		return nil, err
	}
	existed, err := st.Delete(req.GetBlobId())
	if err != nil {
		return nil, err
	}
	return &blobv1.DeleteBlobResponse{Existed: existed}, nil
}

// ListBlobs implements BlobService. The page token is the last id of the
// previous page; it is opaque to callers.
func (s *Server) ListBlobs(ctx context.Context, req *blobv1.ListBlobsRequest) (*blobv1.ListBlobsResponse, error) {
	const op = "blobstore.ListBlobs"
	st, err := s.open(op)
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, errs.Errorf(errs.InvalidArgument, op, "page_size must not be negative")
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	after := req.GetPageToken()
	if after != "" && !disk.ValidID(after) {
		return nil, errs.Errorf(errs.InvalidArgument, op, "invalid page_token")
	}
	// One extra entry tells whether another page exists.
	infos, err := st.List(after, size+1)
	if err != nil {
		return nil, err
	}
	resp := &blobv1.ListBlobsResponse{}
	if len(infos) > size {
		infos = infos[:size]
		resp.NextPageToken = infos[size-1].ID
	}
	resp.Blobs = make([]*blobv1.BlobInfo, len(infos))
	for i, in := range infos {
		resp.Blobs[i] = toProto(in)
	}
	return resp, nil
}

// VerifyBlob implements BlobService: it reads the whole blob and reports
// the chunks that fail their checksum. It is also how a reader that found a
// shard of this node missing or corrupt reports it: when the id names an
// erasure-coded shard that is missing or damaged, the node schedules its
// rebuild from the other shards (if the placement still puts it here).
func (s *Server) VerifyBlob(ctx context.Context, req *blobv1.VerifyBlobRequest) (*blobv1.VerifyBlobResponse, error) {
	st, err := s.open("blobstore.VerifyBlob")
	if err != nil {
		return nil, err
	}
	info, corrupt, err := st.Verify(ctx, req.GetBlobId())
	damaged := len(corrupt) > 0 || errs.Is(err, errs.DataLoss) || errs.Is(err, errs.ObjectNotFound)
	if damaged {
		if m := s.maint.Load(); m != nil {
			m.reported(req.GetBlobId())
		}
	}
	if err != nil {
		return nil, err
	}
	if len(corrupt) > 0 {
		s.log.WarnContext(ctx, "corrupt blob found by verify", "blob_id", info.ID, "corrupt_chunks", len(corrupt))
	}
	return &blobv1.VerifyBlobResponse{Blob: toProto(info), CorruptChunks: corrupt}, nil
}

// GetNodeInfo implements BlobService.
func (s *Server) GetNodeInfo(ctx context.Context, req *blobv1.GetNodeInfoRequest) (*blobv1.GetNodeInfoResponse, error) {
	st, err := s.open("blobstore.GetNodeInfo")
	if err != nil {
		return nil, err
	}
	u, err := st.Usage()
	if err != nil {
		return nil, err
	}
	return &blobv1.GetNodeInfoResponse{
		NodeId:        st.NodeID(),
		Zone:          s.cfg.Zone,
		CapacityBytes: u.CapacityBytes,
		FreeBytes:     u.FreeBytes,
		BlobCount:     u.Blobs,
	}, nil
}

func toProto(in disk.Info) *blobv1.BlobInfo {
	out := &blobv1.BlobInfo{
		BlobId:    in.ID,
		Size:      in.Size,
		Crc32C:    in.CRC32C,
		ChunkSize: uint32(in.ChunkSize),
	}
	if !in.Created.IsZero() {
		out.CreateTimeUnixNanos = in.Created.UnixNano()
	}
	return out
}
