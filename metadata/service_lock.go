package metadata

import (
	"context"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Object lock: retention and legal hold of one version (fsm/lock.go has
// the rules; they are judged in apply with the leader's stamped time).

// UpdateObjectRetention sets a version's retention; a retention with no
// mode removes it. Refusals: InvalidRequest (the bucket has no file lock),
// MethodNotAllowed (a hide marker), InvalidArgument (retain-until not in
// the future), ObjectLocked (shortening, removing or downgrading active
// compliance retention; doing so to governance retention without
// bypass_governance). The caller checks the bypassGovernance capability.
func (s *Server) UpdateObjectRetention(ctx context.Context, req *metadatav1.UpdateObjectRetentionRequest) (*metadatav1.UpdateObjectRetentionResponse, error) {
	const op = "metadata.UpdateObjectRetention"
	bucketID, err := s.lockRequest(op, req.GetBucketId(), req.GetKey(), req.GetVersionId())
	if err != nil {
		return nil, err
	}
	if err := validateRetention(op, req.GetRetention()); err != nil {
		return nil, err
	}
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_UpdateObjectRetention{UpdateObjectRetention: &fsmv1.UpdateObjectRetention{
		BucketId: bucketID, Key: req.GetKey(), VersionId: req.GetVersionId(), Retention: req.GetRetention(), BypassGovernance: req.GetBypassGovernance(),
	}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.UpdateObjectRetentionResponse{Version: res.Version}, nil
}

// UpdateObjectLegalHold sets a version's legal hold on or off. Refusals:
// InvalidRequest (the bucket has no file lock), MethodNotAllowed (a hide marker).
func (s *Server) UpdateObjectLegalHold(ctx context.Context, req *metadatav1.UpdateObjectLegalHoldRequest) (*metadatav1.UpdateObjectLegalHoldResponse, error) {
	const op = "metadata.UpdateObjectLegalHold"
	bucketID, err := s.lockRequest(op, req.GetBucketId(), req.GetKey(), req.GetVersionId())
	if err != nil {
		return nil, err
	}
	if h := req.GetLegalHold(); h != metadatav1.LegalHold_LEGAL_HOLD_ON && h != metadatav1.LegalHold_LEGAL_HOLD_OFF {
		return nil, errs.Errorf(errs.InvalidArgument, op, "legal hold must be on or off")
	}
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_UpdateObjectLegalHold{UpdateObjectLegalHold: &fsmv1.UpdateObjectLegalHold{
		BucketId: bucketID, Key: req.GetKey(), VersionId: req.GetVersionId(), LegalHold: req.GetLegalHold(),
	}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.UpdateObjectLegalHoldResponse{Version: res.Version}, nil
}

// lockRequest checks the version a lock update names and returns its bucket.
func (s *Server) lockRequest(op, bucketID, key, versionID string) (string, error) {
	if versionID == "" {
		return "", errs.Errorf(errs.InvalidArgument, op, "version_id is required")
	}
	if key != "" {
		if err := validateKey(op, bucketID, key); err != nil {
			return "", err
		}
	}
	return bucketFor(op, bucketID, versionID)
}
