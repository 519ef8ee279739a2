package blobstore

import (
	"context"
	"time"

	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// gcPass removes this node's blobs and shards that no committed record
// needs, once they are older than GCGrace: blobs no committed version or
// upload part references (failed, abandoned or deleted writes), and shards
// of referenced blobs that the placement has since put on another node (a
// repair moved them while this node was away).
//
// Why this never removes a referenced blob (blobstore/DESIGN.md, "GC
// safety"): a file is removed only if its commit time, read under the same
// lock that renames new files into place, is older than a cutoff taken
// before the metadata was asked (linearizably) whether anything references
// it. A writer commits its version within the grace period of its shards
// becoming durable, so any version referencing a file that old was
// committed before the question was asked, and the answer includes it.
func (m *maintainer) gcPass(ctx context.Context, r *jobRun) error {
	if u, err := m.st.Usage(); err == nil {
		r.total = u.Blobs
	}
	after := ""
	for {
		infos, err := m.st.List(after, scrubPage)
		if err != nil {
			return err
		}
		if len(infos) == 0 {
			break
		}
		after = infos[len(infos)-1].ID
		old := time.Now().Add(-m.cfg.GCGrace)
		var batch []disk.Info
		for _, in := range infos {
			r.Scanned++
			r.step()
			// A blob whose header cannot be read (Size -1) has no known
			// age: scrubbing reports it, GC leaves it.
			if in.Size >= 0 && in.Created.Before(old) {
				batch = append(batch, in)
			}
		}
		if len(batch) > 0 {
			if err := m.collect(ctx, batch, r); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	m.stats.gcPasses.Add(1)
	return nil
}

// collect decides about one batch of old files.
func (m *maintainer) collect(ctx context.Context, batch []disk.Info, r *jobRun) error {
	// Both readings of every name are checked: "<blob>.<i>" is a shard of
	// <blob>, but a whole blob may have a dot in its id too, and a file is
	// kept if either reading is referenced.
	var ids []string
	for _, in := range batch {
		ids = append(ids, in.ID)
		if blobID, _, ok := client.ParseShardID(in.ID); ok {
			ids = append(ids, blobID)
		}
	}
	cutoff := time.Now().Add(-m.cfg.GCGrace)
	cctx, cancel := context.WithTimeout(ctx, metaTimeout)
	resp, err := m.meta.CheckBlobReferences(cctx, &metadatav1.CheckBlobReferencesRequest{BlobIds: ids})
	cancel()
	if err != nil {
		return err
	}
	ref := map[string]bool{}
	for _, id := range resp.GetReferenced() {
		ref[id] = true
	}
	for _, in := range batch {
		blobID, index, isShard := client.ParseShardID(in.ID)
		switch {
		case ref[in.ID]:
			continue
		case isShard && ref[blobID]:
			if err := m.collectMoved(ctx, in.ID, blobID, index, r); err != nil {
				return err
			}
		default:
			m.remove(in.ID, cutoff, r)
		}
	}
	return nil
}

// collectMoved removes shard index of a referenced blob if the committed
// placement no longer puts it on this node. Repairs always write a fresh
// file before they record a shard's new node, so a file this old that the
// placement does not name is a copy left behind.
func (m *maintainer) collectMoved(ctx context.Context, id, blobID string, index int, r *jobRun) error {
	if m.placementsUnimplemented.Load() {
		return nil
	}
	cutoff := time.Now().Add(-m.cfg.GCGrace)
	p, found, err := m.placement(ctx, blobID)
	switch {
	case err != nil:
		return err
	case !found && m.placementsUnimplemented.Load():
		return nil
	case !found:
		// Dereferenced since CheckBlobReferences: garbage like any other.
		m.remove(id, cutoff, r)
	case client.IsErasureCoded(p) && !holds(p, index, m.self):
		m.remove(id, cutoff, r)
	}
	return nil
}

func (m *maintainer) remove(id string, cutoff time.Time, r *jobRun) {
	removed, err := m.st.DeleteIfOlder(id, cutoff)
	switch {
	case err != nil:
		r.Errors++
		m.log.Warn("garbage collection could not remove a blob", "blob_id", id, "err", err)
	case removed:
		r.Deleted++
		m.stats.gcDeleted.Add(1)
		m.log.Debug("garbage-collected", "blob_id", id)
	}
}
