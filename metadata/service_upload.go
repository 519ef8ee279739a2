package metadata

import (
	"context"
	"encoding/hex"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/coffer-project/coffer/metadata/fsm"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Unfinished uploads: S3 multipart uploads and B2 large files. An upload is
// a START version whose version id is the upload id (fsm/apply_upload.go
// explains the records and where a completed upload goes).

// maxPartPage clamps and defaults ListParts and ListUploads pages.
const maxPartPage = 1000

// uploadBucket returns the bucket an upload id names (it is embedded in the
// id); an id of another shape names no upload.
func uploadBucket(op, uploadID string) (string, error) {
	if b := bucketOfVersion(uploadID); b != "" {
		return b, nil
	}
	return "", errs.Errorf(errs.UploadNotFound, op, "no unfinished upload %q", uploadID).WithDetail("upload_id", uploadID)
}

// StartUpload stamps the upload id (a B2 fileId), action START and the
// start time of a new upload and proposes it. The bucket's default
// retention, if any, is stamped by the state machine.
func (s *Server) StartUpload(ctx context.Context, req *metadatav1.StartUploadRequest) (*metadatav1.StartUploadResponse, error) {
	const op = "metadata.StartUpload"
	if req.GetVersion() == nil {
		return nil, errs.Errorf(errs.InvalidArgument, op, "version is required")
	}
	u := proto.Clone(req.GetVersion()).(*metadatav1.ObjectVersion)
	if u.BucketId == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
	}
	if err := validateKey(op, u.BucketId, u.Key); err != nil {
		return nil, err
	}
	if err := validateLockFields(op, u); err != nil {
		return nil, err
	}
	if err := validateTags(op, u.GetTags()); err != nil {
		return nil, err
	}
	now := s.now()
	u.VersionId = newVersionID(u.BucketId, now)
	u.Action = metadatav1.VersionAction_VERSION_ACTION_START
	u.CreateTimeUnixNanos, u.CommitTimeUnixNanos = now.UnixNano(), 0
	u.Size, u.Etag, u.ContentMd5, u.ContentSha1 = 0, "", "", "none"
	u.Segments, u.Checksums = nil, nil
	u.CreateIndex, u.ModifyIndex, u.IsLatest = 0, 0, false
	res, err := s.propose(ctx, op, now, req, &fsmv1.Command{Op: &fsmv1.Command_StartUpload{StartUpload: &fsmv1.StartUpload{Upload: u}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.StartUploadResponse{Upload: res.Version}, nil
}

// GetUpload returns an unfinished upload (UploadNotFound once it is
// completed or aborted).
func (s *Server) GetUpload(ctx context.Context, req *metadatav1.GetUploadRequest) (*metadatav1.GetUploadResponse, error) {
	const op = "metadata.GetUpload"
	bucketID, err := uploadBucket(op, req.GetUploadId())
	if err != nil {
		return nil, err
	}
	var up *metadatav1.ObjectVersion
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		up, err = r.Upload(bucketID, req.GetUploadId())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &metadatav1.GetUploadResponse{Upload: up}, nil
}

// ListUploads lists unfinished uploads in key order, oldest first within a
// key. An upload_id_marker without key_marker takes the key of that upload
// (B2 startFileId), or is ignored when it names no upload (S3).
func (s *Server) ListUploads(ctx context.Context, req *metadatav1.ListUploadsRequest) (*metadatav1.ListUploadsResponse, error) {
	const op = "metadata.ListUploads"
	if req.GetBucketId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
	}
	limit, err := pageOr(op, req.GetPageSize(), maxPartPage, maxPartPage)
	if err != nil {
		return nil, err
	}
	q := proto.Clone(req).(*metadatav1.ListUploadsRequest)
	q.PageSize = int32(limit)
	var resp *metadatav1.ListUploadsResponse
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		if q.KeyMarker == "" && q.UploadIdMarker != "" {
			if up, err := r.Upload(q.BucketId, q.UploadIdMarker); err == nil {
				q.KeyMarker = up.GetKey()
			} else {
				q.UploadIdMarker = ""
			}
		}
		resp, err = r.ListUploads(q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// CommitPart records a part whose bytes are durable; a part with the same
// number is replaced and returned as replaced (its blob is then garbage
// unless something else references it). The segment needs a size and the
// part's hex MD5 (the multipart ETag is computed from it); the SHA-1 (B2)
// is optional. Part sizes are the front-ends' business (S3 and B2 differ).
func (s *Server) CommitPart(ctx context.Context, req *metadatav1.CommitPartRequest) (*metadatav1.CommitPartResponse, error) {
	const op = "metadata.CommitPart"
	if req.GetPart() == nil {
		return nil, errs.Errorf(errs.InvalidArgument, op, "part is required")
	}
	p := proto.Clone(req.GetPart()).(*metadatav1.Part)
	bucketID, err := uploadBucket(op, p.UploadId)
	if err != nil {
		return nil, err
	}
	if p.PartNumber < 1 || p.PartNumber > fsm.MaxPartNumber {
		return nil, errs.Errorf(errs.InvalidArgument, op, "part number must be in range 1 - %d", fsm.MaxPartNumber)
	}
	seg := p.GetSegment()
	if seg == nil || seg.Size < 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "the part needs a segment with a size")
	}
	if seg.Md5 = strings.ToLower(seg.Md5); !isHex(seg.Md5, 16) {
		return nil, errs.Errorf(errs.InvalidArgument, op, "the part needs its hex MD5")
	}
	if seg.Sha1 = strings.ToLower(seg.Sha1); seg.Sha1 != "" && !isHex(seg.Sha1, 20) {
		return nil, errs.Errorf(errs.InvalidArgument, op, "the part's SHA-1 is not 40 hex digits")
	}
	if id := seg.GetPlacement().GetBlobId(); id != "" {
		if err := validateID(op, "blob id", id); err != nil {
			return nil, err
		}
	}
	now := s.now()
	p.CreateTimeUnixNanos, p.CreateIndex = now.UnixNano(), 0
	res, err := s.propose(ctx, op, now, req, &fsmv1.Command{Op: &fsmv1.Command_CommitPart{CommitPart: &fsmv1.CommitPart{Part: p, BucketId: bucketID}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.CommitPartResponse{Part: res.Part, Replaced: res.Replaced}, nil
}

// ListParts lists an upload's parts from start_part_number (inclusive);
// next_part_number is where the next page starts (0: this is the last).
func (s *Server) ListParts(ctx context.Context, req *metadatav1.ListPartsRequest) (*metadatav1.ListPartsResponse, error) {
	const op = "metadata.ListParts"
	bucketID, err := uploadBucket(op, req.GetUploadId())
	if err != nil {
		return nil, err
	}
	if req.GetStartPartNumber() < 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "start part number %d is negative", req.GetStartPartNumber())
	}
	limit, err := pageOr(op, req.GetPageSize(), maxPartPage, maxPartPage)
	if err != nil {
		return nil, err
	}
	resp := &metadatav1.ListPartsResponse{}
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		resp.Parts, resp.NextPartNumber, err = r.ListParts(bucketID, req.GetUploadId(), req.GetStartPartNumber(), limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// CompleteUpload assembles the listed parts into the upload's final
// version (same version id), which becomes the key's current version; the
// state machine checks the part list (InvalidPartOrder, InvalidPart,
// EntityTooSmall) and the precondition atomically with the completion.
// Unlisted parts come back in discarded.
func (s *Server) CompleteUpload(ctx context.Context, req *metadatav1.CompleteUploadRequest) (*metadatav1.CompleteUploadResponse, error) {
	const op = "metadata.CompleteUpload"
	bucketID, err := uploadBucket(op, req.GetUploadId())
	if err != nil {
		return nil, err
	}
	if len(req.GetParts()) == 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "at least one part is required")
	}
	if len(req.GetParts()) > fsm.MaxPartNumber {
		return nil, errs.Errorf(errs.InvalidArgument, op, "%d parts listed; at most %d", len(req.GetParts()), fsm.MaxPartNumber)
	}
	if req.GetMinPartSize() < 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "min_part_size is negative")
	}
	c := proto.Clone(req).(*metadatav1.CompleteUploadRequest)
	c.RequestId = ""
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_CompleteUpload{CompleteUpload: &fsmv1.CompleteUpload{Request: c, BucketId: bucketID}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.CompleteUploadResponse{Version: res.Version, Discarded: res.Parts}, nil
}

// AbortUpload cancels an upload and returns it with its parts (their
// blobs are garbage now). Locks do not stop it (they protect objects).
func (s *Server) AbortUpload(ctx context.Context, req *metadatav1.AbortUploadRequest) (*metadatav1.AbortUploadResponse, error) {
	const op = "metadata.AbortUpload"
	bucketID, err := uploadBucket(op, req.GetUploadId())
	if err != nil {
		return nil, err
	}
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_AbortUpload{AbortUpload: &fsmv1.AbortUpload{UploadId: req.GetUploadId(), BucketId: bucketID}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.AbortUploadResponse{Upload: res.Version, Parts: res.Parts}, nil
}

// isHex reports whether s is the hex encoding of n bytes.
func isHex(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
