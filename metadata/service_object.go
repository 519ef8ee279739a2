package metadata

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/coffer-project/coffer/metadata/fsm"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// CommitObject stamps the version id, action and time of a new version
// whose bytes are already durable, and proposes it. The precondition is
// evaluated by the state machine, atomically with the commit.
func (s *Server) CommitObject(ctx context.Context, req *metadatav1.CommitObjectRequest) (*metadatav1.CommitObjectResponse, error) {
	const op = "metadata.CommitObject"
	if req.GetVersion() == nil {
		return nil, errs.Errorf(errs.InvalidArgument, op, "version is required")
	}
	v := proto.Clone(req.GetVersion()).(*metadatav1.ObjectVersion)
	if v.BucketId == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
	}
	if err := validateKey(op, v.BucketId, v.Key); err != nil {
		return nil, err
	}
	if v.Size < 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "size %d is negative", v.Size).WithBucket(v.BucketId).WithKey(v.Key)
	}
	for _, seg := range v.Segments {
		if id := seg.GetPlacement().GetBlobId(); id != "" {
			if err := validateID(op, "blob id", id); err != nil {
				return nil, err
			}
		}
	}
	if err := validateLockFields(op, v); err != nil {
		return nil, err
	}
	if err := validateTags(op, v.GetTags()); err != nil {
		return nil, err
	}
	now := s.now()
	v.VersionId = newVersionID(v.BucketId, now)
	v.Action = metadatav1.VersionAction_VERSION_ACTION_UPLOAD
	v.CreateTimeUnixNanos = now.UnixNano()
	v.CreateIndex, v.ModifyIndex, v.IsLatest = 0, 0, false
	res, err := s.propose(ctx, op, now, req, &fsmv1.Command{Op: &fsmv1.Command_CommitObject{CommitObject: &fsmv1.CommitObject{
		Version: v, Precondition: req.GetPrecondition(),
	}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.CommitObjectResponse{Version: res.Version}, nil
}

// GetObject returns the current version of a key, or one version by id. A
// version id alone is enough: the bucket id is part of it.
func (s *Server) GetObject(ctx context.Context, req *metadatav1.GetObjectRequest) (*metadatav1.GetObjectResponse, error) {
	const op = "metadata.GetObject"
	bucketID, err := bucketFor(op, req.GetBucketId(), req.GetVersionId())
	if err != nil {
		return nil, err
	}
	if req.GetVersionId() == "" {
		if err := validateKey(op, bucketID, req.GetKey()); err != nil {
			return nil, err
		}
	}
	var v *metadatav1.ObjectVersion
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		if req.GetVersionId() == "" {
			v, err = r.Object(bucketID, req.GetKey())
		} else {
			v, err = r.Version(bucketID, req.GetKey(), req.GetVersionId())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &metadatav1.GetObjectResponse{Version: v}, nil
}

// ListObjects lists the current version of each key (S3 ListObjects, B2
// b2_list_file_names). page_size 0 means 1000; above 1000 it is clamped.
func (s *Server) ListObjects(ctx context.Context, req *metadatav1.ListObjectsRequest) (*metadatav1.ListObjectsResponse, error) {
	const op = "metadata.ListObjects"
	if req.GetBucketId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
	}
	limit, err := listPage(op, req.GetPageSize())
	if err != nil {
		return nil, err
	}
	q := proto.Clone(req).(*metadatav1.ListObjectsRequest)
	q.PageSize = limit
	var resp *metadatav1.ListObjectsResponse
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		resp, err = r.ListObjects(q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// ListObjectVersions lists every version, newest first within a key
// (START versions too with include_unfinished). page_size as ListObjects.
func (s *Server) ListObjectVersions(ctx context.Context, req *metadatav1.ListObjectVersionsRequest) (*metadatav1.ListObjectVersionsResponse, error) {
	const op = "metadata.ListObjectVersions"
	if req.GetBucketId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
	}
	if req.GetVersionIdMarker() != "" && req.GetKeyMarker() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "version_id_marker requires key_marker")
	}
	limit, err := listPage(op, req.GetPageSize())
	if err != nil {
		return nil, err
	}
	q := proto.Clone(req).(*metadatav1.ListObjectVersionsRequest)
	q.PageSize = limit
	var resp *metadatav1.ListObjectVersionsResponse
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		resp, err = r.ListObjectVersions(q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// HideObject adds a hide marker (S3 delete marker) as the newest version.
func (s *Server) HideObject(ctx context.Context, req *metadatav1.HideObjectRequest) (*metadatav1.HideObjectResponse, error) {
	const op = "metadata.HideObject"
	if req.GetBucketId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
	}
	if err := validateKey(op, req.GetBucketId(), req.GetKey()); err != nil {
		return nil, err
	}
	now := s.now()
	marker := &metadatav1.ObjectVersion{
		BucketId:            req.GetBucketId(),
		Key:                 req.GetKey(),
		VersionId:           newVersionID(req.GetBucketId(), now),
		Action:              metadatav1.VersionAction_VERSION_ACTION_HIDE,
		CreateTimeUnixNanos: now.UnixNano(),
	}
	res, err := s.propose(ctx, op, now, req, &fsmv1.Command{Op: &fsmv1.Command_HideObject{HideObject: &fsmv1.HideObject{
		Marker: marker, FailIfHidden: req.GetFailIfHidden(),
	}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.HideObjectResponse{Marker: res.Version}, nil
}

// DeleteObjectVersion permanently removes one version and returns it, so the
// caller can delete its blobs.
func (s *Server) DeleteObjectVersion(ctx context.Context, req *metadatav1.DeleteObjectVersionRequest) (*metadatav1.DeleteObjectVersionResponse, error) {
	const op = "metadata.DeleteObjectVersion"
	if req.GetVersionId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "version_id is required")
	}
	bucketID, err := bucketFor(op, req.GetBucketId(), req.GetVersionId())
	if err != nil {
		return nil, err
	}
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_DeleteObjectVersion{DeleteObjectVersion: &fsmv1.DeleteObjectVersion{
		BucketId: bucketID, Key: req.GetKey(), VersionId: req.GetVersionId(), BypassGovernance: req.GetBypassGovernance(),
	}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.DeleteObjectVersionResponse{Version: res.Version}, nil
}

// CheckBlobReferences returns the blob ids a committed version references.
func (s *Server) CheckBlobReferences(ctx context.Context, req *metadatav1.CheckBlobReferencesRequest) (*metadatav1.CheckBlobReferencesResponse, error) {
	const op = "metadata.CheckBlobReferences"
	if len(req.GetBlobIds()) > maxBlobCheck {
		return nil, errs.Errorf(errs.InvalidArgument, op, "at most %d blob ids per call", maxBlobCheck)
	}
	resp := &metadatav1.CheckBlobReferencesResponse{}
	err := s.read(ctx, op, false, func(r *fsm.Reader) error {
		resp.Referenced = r.BlobsReferenced(req.GetBlobIds())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// bucketFor returns the bucket a request is about: bucket_id, or the bucket
// embedded in the version id when bucket_id is empty.
func bucketFor(op, bucketID, versionID string) (string, error) {
	if bucketID != "" {
		return bucketID, nil
	}
	if b := bucketOfVersion(versionID); b != "" {
		return b, nil
	}
	return "", errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
}
