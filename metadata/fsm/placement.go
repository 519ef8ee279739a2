package fsm

import (
	"bytes"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Placements. A blob's placement lives in the segments of the records that
// use it; blobs/ indexes who references each blob (blobID 0x00 bucketID
// 0x00 versionID), so a lookup is one seek plus one record read, and a scan
// in blob-id order is a walk of blobs/ that seeks past each blob's refs.
//
// A blob shared by several records (a server-side copy reuses the source's
// blob) has one placement: UpdatePlacement rewrites it in every record, so
// reading it from the first reference is enough.

const opGetBlobPlacement = "metadata.GetBlobPlacement"

// blobRefPrefix is the seek position of blobID's first reference.
func blobRefPrefix(blobID string) []byte { return []byte(blobID + "\x00") }

// afterBlobRefs is the seek position just past every reference of blobID
// (ids never contain bytes below 0x20, so 0x01 sorts after the separator
// and before any longer id).
func afterBlobRefs(blobID string) []byte { return []byte(blobID + "\x01") }

// blobRefTarget is a record a blobs/ entry points at: a version, or (part
// > 0) part `part` of the unfinished upload versionID.
type blobRefTarget struct {
	blobID, bucketID, versionID string
	part                        int32
}

func parseBlobRef(k []byte) (blobRefTarget, bool) {
	parts := bytes.Split(k, []byte{0})
	switch len(parts) {
	case 3:
		return blobRefTarget{string(parts[0]), string(parts[1]), string(parts[2]), 0}, true
	case 4:
		n, err := strconv.ParseInt(string(parts[3]), 10, 32)
		if err != nil || n < 1 || n > MaxPartNumber {
			return blobRefTarget{}, false
		}
		return blobRefTarget{string(parts[0]), string(parts[1]), string(parts[2]), int32(n)}, true
	}
	return blobRefTarget{}, false
}

// refsOf returns every reference of blobID.
func (s txState) refsOf(blobID string) ([]blobRefTarget, error) {
	var out []blobRefTarget
	p := blobRefPrefix(blobID)
	c := s.tx.Bucket(bktBlobs).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		ref, ok := parseBlobRef(k)
		if !ok {
			return nil, fmt.Errorf("fsm: malformed blob reference %q", k)
		}
		out = append(out, ref)
	}
	return out, nil
}

// refRecord is what a blob reference points at: a version (with its v/
// key) or an upload part.
type refRecord struct {
	tree objectTree
	v    *metadatav1.ObjectVersion
	vk   []byte
	part *metadatav1.Part
}

// segments returns the record's segments.
func (r refRecord) segments() []*metadatav1.Segment {
	if r.part != nil {
		return []*metadatav1.Segment{r.part.GetSegment()}
	}
	return r.v.GetSegments()
}

// referencing loads the record a reference points at.
func (s txState) referencing(ref blobRefTarget) (refRecord, error) {
	tree, ok := s.objects(ref.bucketID)
	if !ok {
		return refRecord{}, fmt.Errorf("fsm: blob %s is referenced by a record of missing bucket %s", ref.blobID, ref.bucketID)
	}
	if ref.part > 0 {
		data := tree.parts.Get(partKey(ref.versionID, ref.part))
		if data == nil {
			return refRecord{}, fmt.Errorf("fsm: blob %s is referenced by missing part %d of upload %s", ref.blobID, ref.part, ref.versionID)
		}
		p, err := decodePart(data)
		return refRecord{tree: tree, part: p}, err
	}
	v, vk, err := tree.byID(ref.versionID)
	if err == nil && v == nil {
		err = fmt.Errorf("fsm: blob %s is referenced by missing version %s", ref.blobID, ref.versionID)
	}
	return refRecord{tree: tree, v: v, vk: vk}, err
}

// placementIn returns the placement of blobID among segs, or nil.
func placementIn(segs []*metadatav1.Segment, blobID string) *metadatav1.BlobPlacement {
	for _, seg := range segs {
		if seg.GetPlacement().GetBlobId() == blobID {
			return seg.GetPlacement()
		}
	}
	return nil
}

// placement resolves the committed placement of blobID, or nil when no
// record references it.
func (s txState) placement(blobID string) (*metadatav1.BlobPlacement, error) {
	c := s.tx.Bucket(bktBlobs).Cursor()
	p := blobRefPrefix(blobID)
	k, _ := c.Seek(p)
	if k == nil || !bytes.HasPrefix(k, p) {
		return nil, nil
	}
	ref, ok := parseBlobRef(k)
	if !ok {
		return nil, fmt.Errorf("fsm: malformed blob reference %q", k)
	}
	rec, err := s.referencing(ref)
	if err != nil {
		return nil, err
	}
	pl := placementIn(rec.segments(), blobID)
	if pl == nil {
		return nil, fmt.Errorf("fsm: record %s (part %d) does not use blob %s it is indexed under", ref.versionID, ref.part, blobID)
	}
	return pl, nil
}

// Placement returns the committed placement of blobID; ObjectNotFound with
// the detail blob_id when no committed record references it.
func (r *Reader) Placement(blobID string) (*metadatav1.BlobPlacement, error) {
	pl, err := r.s.placement(blobID)
	if err != nil {
		return nil, errs.E(errs.Internal, opGetBlobPlacement, err)
	}
	if pl == nil {
		return nil, errs.Errorf(errs.ObjectNotFound, opGetBlobPlacement, "no committed record references blob %s", blobID).WithDetail("blob_id", blobID)
	}
	return pl, nil
}

// ListPlacements returns up to limit placements in blob-id order, strictly
// after the blob id pageToken, and the token of the next page ("" when this
// page is the last).
func (r *Reader) ListPlacements(pageToken string, limit int) ([]*metadatav1.BlobPlacement, string, error) {
	var out []*metadatav1.BlobPlacement
	c := r.s.tx.Bucket(bktBlobs).Cursor()
	var k []byte
	if pageToken == "" {
		k, _ = c.First()
	} else {
		k, _ = c.Seek(afterBlobRefs(pageToken))
	}
	for k != nil {
		ref, ok := parseBlobRef(k)
		if !ok {
			return nil, "", errs.Errorf(errs.Internal, "metadata.ListPlacements", "malformed blob reference %q", k)
		}
		if len(out) == limit {
			return out, out[len(out)-1].GetBlobId(), nil
		}
		pl, err := r.s.placement(ref.blobID)
		if err != nil {
			return nil, "", errs.E(errs.Internal, "metadata.ListPlacements", err)
		}
		out = append(out, pl)
		k, _ = c.Seek(afterBlobRefs(ref.blobID))
	}
	return out, "", nil
}

// applyUpdatePlacement replaces the shards of every segment whose placement
// names the blob, in every record that references it (and in the current
// copy under c/ when the record is a key's current version).
func (w *writer) applyUpdatePlacement(index uint64, op *fsmv1.UpdatePlacement) *Result {
	refs, err := w.refsOf(op.GetBlobId())
	must(err)
	if len(refs) == 0 {
		return refuse(errs.Errorf(errs.ObjectNotFound, opUpdatePlacement, "no committed record references blob %s", op.GetBlobId()).WithDetail("blob_id", op.GetBlobId()))
	}
	// Check everything before writing anything.
	var targets []refRecord
	for _, ref := range refs {
		rec, err := w.referencing(ref)
		must(err)
		for _, seg := range rec.segments() {
			pl := seg.GetPlacement()
			if pl.GetBlobId() != op.GetBlobId() {
				continue
			}
			if n := pl.GetDataShards() + pl.GetParityShards(); n > 0 {
				for _, s := range op.GetShards() {
					if s.GetIndex() >= n {
						return refuse(errs.Errorf(errs.InvalidArgument, opUpdatePlacement, "shard index %d is out of range: blob %s has %d shards", s.GetIndex(), op.GetBlobId(), n))
					}
				}
			}
			if len(op.GetExpectedShards()) > 0 && !sameShards(pl.GetShards(), op.GetExpectedShards()) {
				return refuse(errs.Errorf(errs.Conflict, opUpdatePlacement, "the shards of blob %s changed since they were read", op.GetBlobId()).WithDetail("blob_id", op.GetBlobId()))
			}
		}
		targets = append(targets, rec)
	}
	var updated int
	var placement *metadatav1.BlobPlacement
	for _, t := range targets {
		for _, seg := range t.segments() {
			if seg.GetPlacement().GetBlobId() == op.GetBlobId() {
				seg.Placement.Shards = cloneShards(op.GetShards())
				placement = seg.Placement
				updated++
			}
		}
		if t.part != nil {
			put(t.tree.parts, partKey(t.part.UploadId, t.part.PartNumber), t.part)
			continue
		}
		// rewriteVersion refreshes the c/ copy when this is the current version.
		w.rewriteVersion(index, t.tree, t.v, t.vk)
	}
	return &Result{Placement: placement, SegmentsUpdated: updated}
}

func sameShards(a, b []*metadatav1.ShardLocation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func cloneShards(in []*metadatav1.ShardLocation) []*metadatav1.ShardLocation {
	out := make([]*metadatav1.ShardLocation, len(in))
	for i, s := range in {
		out[i] = proto.Clone(s).(*metadatav1.ShardLocation)
	}
	return out
}
