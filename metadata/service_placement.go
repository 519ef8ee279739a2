package metadata

import (
	"context"

	"github.com/coffer-project/coffer/metadata/fsm"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// The placement RPCs serve blob repair and garbage collection (blobstore):
// where each blob's shards are, and moving them after a repair.

const (
	// defaultPlacementPage and maxPlacementPage size ListPlacements pages.
	defaultPlacementPage = 1000
	maxPlacementPage     = 10000
)

// GetBlobPlacement returns the committed placement of a blob;
// ObjectNotFound (detail blob_id) when no committed record references it.
func (s *Server) GetBlobPlacement(ctx context.Context, req *metadatav1.GetBlobPlacementRequest) (*metadatav1.GetBlobPlacementResponse, error) {
	const op = "metadata.GetBlobPlacement"
	if err := validateID(op, "blob id", req.GetBlobId()); err != nil {
		return nil, err
	}
	var pl *metadatav1.BlobPlacement
	err := s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		pl, err = r.Placement(req.GetBlobId())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &metadatav1.GetBlobPlacementResponse{Placement: pl}, nil
}

// ListPlacements pages through every committed placement in blob-id order;
// page_token is the last blob id of the previous page.
func (s *Server) ListPlacements(ctx context.Context, req *metadatav1.ListPlacementsRequest) (*metadatav1.ListPlacementsResponse, error) {
	const op = "metadata.ListPlacements"
	limit, err := pageOr(op, req.GetPageSize(), defaultPlacementPage, maxPlacementPage)
	if err != nil {
		return nil, err
	}
	resp := &metadatav1.ListPlacementsResponse{}
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		resp.Placements, resp.NextPageToken, err = r.ListPlacements(req.GetPageToken(), limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// UpdatePlacement replaces the shards of every segment whose placement names
// the blob. The state machine refuses an unreferenced blob (ObjectNotFound,
// detail blob_id), a shard index beyond the blob's shard count, and, when
// expected_shards is given, a placement that changed meanwhile (Conflict).
// Blob ids do not change, so CheckBlobReferences is unaffected.
func (s *Server) UpdatePlacement(ctx context.Context, req *metadatav1.UpdatePlacementRequest) (*metadatav1.UpdatePlacementResponse, error) {
	const op = "metadata.UpdatePlacement"
	if err := validateID(op, "blob id", req.GetBlobId()); err != nil {
		return nil, err
	}
	if len(req.GetShards()) == 0 {
		return nil, errs.Errorf(errs.InvalidArgument, op, "shards are required")
	}
	for _, list := range [][]*metadatav1.ShardLocation{req.GetShards(), req.GetExpectedShards()} {
		seen := map[uint32]bool{}
		for _, sh := range list {
			if err := validateID(op, "shard node id", sh.GetNodeId()); err != nil {
				return nil, err
			}
			if seen[sh.GetIndex()] {
				return nil, errs.Errorf(errs.InvalidArgument, op, "shard index %d appears twice", sh.GetIndex())
			}
			seen[sh.GetIndex()] = true
		}
	}
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_UpdatePlacement{UpdatePlacement: &fsmv1.UpdatePlacement{
		BlobId: req.GetBlobId(), Shards: req.GetShards(), ExpectedShards: req.GetExpectedShards(),
	}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.UpdatePlacementResponse{Placement: res.Placement, SegmentsUpdated: int32(res.SegmentsUpdated)}, nil
}
