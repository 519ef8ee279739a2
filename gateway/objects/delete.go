package objects

import (
	"context"
	"sync"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// Deleting and hiding. Metadata's removal of a version (or of a part) is
// the durable record of the delete: from that Raft commit on, no version
// or part references the blob, and every blobstore node's garbage
// collector deletes unreferenced blobs once they are older than its grace
// period (blobstore/DESIGN.md, "Garbage collection"). So the space comes
// back whatever happens to the gateway. The layer also deletes the blobs
// right away, within the request — bounded in time, detached from the
// client's cancellation — so space comes back at once in the normal case
// and no background work is left behind when the gateway stops. A failed or
// interrupted delete (a crash between the commit and the blob delete) only
// leaves the blobs to the collector.

// blobDeleteTimeout bounds one blob delete; blobDeleteWorkers bounds the
// deletes of one request in flight (an aborted upload may have thousands
// of parts).
const (
	blobDeleteTimeout = 30 * time.Second
	blobDeleteWorkers = 8
)

// Hide makes a hide marker (S3 delete marker) the newest version of a key
// (S3 DeleteObject without a version id, B2 b2_hide_file). Nothing is
// removed, so no blob is freed.
func (l *Layer) Hide(ctx context.Context, req *metadatav1.HideObjectRequest) (*metadatav1.ObjectVersion, error) {
	resp, err := l.meta.HideObject(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.GetMarker(), nil
}

// DeleteVersion removes one version for good (S3 DeleteObject with a
// version id, B2 b2_delete_file_version) and then deletes its blobs. It
// returns the removed version.
func (l *Layer) DeleteVersion(ctx context.Context, req *metadatav1.DeleteObjectVersionRequest) (*metadatav1.ObjectVersion, error) {
	resp, err := l.meta.DeleteObjectVersion(ctx, req)
	if err != nil {
		return nil, err
	}
	v := resp.GetVersion()
	placements := make([]*metadatav1.BlobPlacement, 0, len(v.GetSegments()))
	for _, s := range v.GetSegments() {
		if p := s.GetPlacement(); p != nil { // nil: inline, gone with the version
			placements = append(placements, p)
		}
	}
	l.deleteBlobs(ctx, "objects.DeleteVersion", placements)
	return v, nil
}

// deletePartBlobs deletes the blobs of parts metadata has dropped
// (replaced, discarded by a completion, or aborted).
func (l *Layer) deletePartBlobs(ctx context.Context, op string, parts ...*metadatav1.Part) {
	placements := make([]*metadatav1.BlobPlacement, 0, len(parts))
	for _, p := range parts {
		placements = append(placements, p.GetSegment().GetPlacement())
	}
	l.deleteBlobs(ctx, op, placements)
}

// deleteBlobs deletes blobs no committed version or part references any
// more, a few at a time, and returns when every delete has finished or
// failed. Failures are logged and left to garbage collection.
func (l *Layer) deleteBlobs(ctx context.Context, op string, placements []*metadatav1.BlobPlacement) {
	if len(placements) == 0 {
		return
	}
	if l.beforeBlobDelete != nil {
		l.beforeBlobDelete()
	}
	// The removal is committed: finish the cleanup even if the client
	// has gone.
	ctx = context.WithoutCancel(ctx)
	one := func(p *metadatav1.BlobPlacement) {
		if p == nil {
			return
		}
		dctx, cancel := context.WithTimeout(ctx, blobDeleteTimeout)
		defer cancel()
		if err := l.blobs.Delete(dctx, p); err != nil {
			l.log.Warn("blob delete failed; left to garbage collection", "op", op, "blob_id", p.GetBlobId(), "err", err)
		}
	}
	if len(placements) == 1 {
		one(placements[0])
		return
	}
	next := make(chan *metadatav1.BlobPlacement)
	var wg sync.WaitGroup
	for range min(blobDeleteWorkers, len(placements)) {
		wg.Go(func() {
			for p := range next {
				one(p)
			}
		})
	}
	for _, p := range placements {
		next <- p
	}
	close(next)
	wg.Wait()
}
