package blobstore

import (
	"context"
	"time"

	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/services/errs"
)

// scrubPage is how many blobs a scrub or GC pass lists at a time.
const scrubPage = 256

// scrubPass reads and verifies every blob of this node, in id order, at no
// more than ScrubRate bytes per second. A damaged erasure-coded shard is
// queued for a rebuild from the other shards; a damaged whole copy (k=1,
// m=0) has nothing to heal from and is reported.
func (m *maintainer) scrubPass(ctx context.Context, r *jobRun) error {
	start := time.Now()
	var read int64
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
		for _, in := range infos {
			info, corrupt, err := m.st.Verify(ctx, in.ID)
			switch {
			case ctx.Err() != nil:
				return nil
			case errs.Is(err, errs.ObjectNotFound):
				continue // deleted while we walked
			case err != nil && !errs.Is(err, errs.DataLoss):
				return err
			}
			m.stats.scrubbed.Add(1)
			r.Scanned++
			r.step()
			read += max(info.Size, 0)
			r.Bytes += max(info.Size, 0)
			if err != nil || len(corrupt) > 0 {
				m.stats.corruptFound.Add(1)
				r.Repaired++
				blobID, index, isShard := client.ParseShardID(in.ID)
				switch {
				case isShard && m.meta != nil && m.peers != nil:
					m.log.Warn("scrub found a damaged shard; rebuilding it", "blob_id", blobID, "shard", index, "corrupt_chunks", len(corrupt), "err", err)
					m.enqueue(shardRef{blobID, index})
				case isShard:
					m.log.Error("scrub found a damaged shard; healing is not configured (no metadata or peers)", "blob_id", in.ID, "corrupt_chunks", len(corrupt), "err", err)
				default:
					r.Errors++
					m.log.Error("scrub found a damaged blob with no redundancy to heal it from", "blob_id", in.ID, "corrupt_chunks", len(corrupt), "err", err)
				}
			}
			if !pace(ctx, start, read, m.cfg.ScrubRate) {
				return nil
			}
		}
	}
	m.stats.scrubPasses.Add(1)
	return nil
}
