package blobstore

import (
	"context"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/coffer-project/coffer/blobstore/client"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// repairPage is the ListPlacements page size of a repair scan.
const repairPage = 256

// repairPass walks every committed placement and brings each erasure-coded
// blob back to k+m healthy shards on distinct nodes. Every node walks every
// placement, but acts only on two things:
//
//   - its own shards: one the placement puts here but that is missing or
//     unreadable is rebuilt in place (no placement change);
//   - blobs it owns: the owner of a blob is the node holding its
//     lowest-index shard among the nodes that are up. The owner rebuilds
//     shards that were never written or whose node has been down longer
//     than RepairDownAfter onto up nodes holding no shard of the blob, then
//     records the move with a compare-and-swap on the shard list.
//
// Nodes that see the cluster alike agree on the owner, so one node repairs
// each blob; nodes that disagree (a partition) may both rebuild, but only
// the first compare-and-swap wins and the loser's copies are garbage.
func (m *maintainer) repairPass(ctx context.Context, r *jobRun) error {
	c, err := m.client(ctx)
	if err != nil {
		return err
	}
	if err := c.Refresh(ctx); err != nil {
		return err
	}
	m.noteDown(c)
	token := ""
	for {
		lctx, cancel := context.WithTimeout(ctx, metaTimeout)
		resp, err := m.meta.ListPlacements(lctx, &metadatav1.ListPlacementsRequest{PageSize: repairPage, PageToken: token, StaleOk: true})
		cancel()
		if errs.Is(err, errs.Unimplemented) {
			if !m.placementsUnimplemented.Swap(true) {
				m.log.Warn("metadata does not list blob placements yet; the repair scan is disabled")
			}
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range resp.GetPlacements() {
			if ctx.Err() != nil {
				return nil
			}
			r.Scanned++
			r.step()
			if !client.IsErasureCoded(p) {
				continue
			}
			m.checkLocal(ctx, p, r)
			if err := m.checkOwned(ctx, c, p, r); err != nil && ctx.Err() == nil {
				r.Errors++
				m.log.Warn("repair of a blob failed; retrying at the next scan", "blob_id", p.GetBlobId(), "err", err)
			}
		}
		token = resp.GetNextPageToken()
		if token == "" {
			break
		}
	}
	m.stats.repairPasses.Add(1)
	return nil
}

// checkLocal rebuilds the shards the placement puts on this node that are
// missing or whose header cannot be read (chunk damage is scrubbing's to
// find).
func (m *maintainer) checkLocal(ctx context.Context, p *metadatav1.BlobPlacement, r *jobRun) {
	for _, s := range p.GetShards() {
		if s.GetNodeId() != m.self {
			continue
		}
		_, err := m.st.Stat(client.ShardID(p, int(s.GetIndex())))
		if errs.Is(err, errs.ObjectNotFound) || errs.Is(err, errs.DataLoss) {
			ref := shardRef{p.GetBlobId(), int(s.GetIndex())}
			rebuilt, err := m.repairLocal(ctx, ref)
			if rebuilt {
				r.Repaired++
			}
			if err != nil && ctx.Err() == nil {
				r.Errors++
				m.log.Warn("shard repair failed; retrying at the next scan", "blob_id", ref.blobID, "shard", ref.index, "err", err)
			}
		}
	}
}

// noteDown remembers when each node was first seen down, and forgets nodes
// that are up again.
func (m *maintainer) noteDown(c *client.Client) {
	m.dmu.Lock()
	defer m.dmu.Unlock()
	now := time.Now()
	for _, s := range c.Status() {
		if s.Up {
			delete(m.down, s.ID)
		} else if _, ok := m.down[s.ID]; !ok {
			m.down[s.ID] = now
		}
	}
}

// lost reports whether a node not up has been down for RepairDownAfter (an
// id no peer answers to counts from the first time it is asked about).
func (m *maintainer) lost(id string, up map[string]bool) bool {
	if up[id] {
		return false
	}
	m.dmu.Lock()
	defer m.dmu.Unlock()
	since, ok := m.down[id]
	if !ok {
		m.down[id] = time.Now()
		return m.cfg.RepairDownAfter <= 0
	}
	return time.Since(since) >= m.cfg.RepairDownAfter
}

// checkOwned repairs p if this node owns it.
func (m *maintainer) checkOwned(ctx context.Context, c *client.Client, p *metadatav1.BlobPlacement, r *jobRun) error {
	status := c.Status()
	up := map[string]bool{}
	for _, s := range status {
		up[s.ID] = s.Up
	}
	shards := slices.Clone(p.GetShards())
	slices.SortFunc(shards, func(a, b *metadatav1.ShardLocation) int { return int(a.GetIndex()) - int(b.GetIndex()) })
	owner := ""
	for _, s := range shards {
		if up[s.GetNodeId()] {
			owner = s.GetNodeId()
			break
		}
	}
	if owner != m.self {
		return nil
	}
	total := int(p.GetDataShards() + p.GetParityShards())
	at := make([]string, total)
	inUse := map[string]bool{}
	for _, s := range shards {
		at[s.GetIndex()] = s.GetNodeId()
		inUse[s.GetNodeId()] = true
	}
	var missing []int
	for i, node := range at {
		if node == "" || m.lost(node, up) {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var candidates []client.Node
	for _, s := range status {
		if s.Up && !inUse[s.ID] && s.FreeBytes != 0 {
			candidates = append(candidates, s.Node)
		}
	}
	// One shard at a time, each recorded as soon as it is durable: the
	// new shard is garbage to its node's collector until the placement
	// names it, so the time between the two must stay well inside the grace
	// period, whatever the blob's size or the number of shards to rebuild.
	current := p.GetShards()
	for _, i := range missing {
		if len(candidates) == 0 {
			m.log.Debug("no node to rebuild a shard on", "blob_id", p.GetBlobId(), "shard", i)
			return nil
		}
		j := pick(candidates, p.GetBlobId(), i)
		target := candidates[j]
		candidates = slices.Delete(candidates, j, j+1)
		if _, err := c.Rebuild(ctx, p, i, target); err != nil {
			r.Errors++
			m.log.Warn("shard rebuild failed", "blob_id", p.GetBlobId(), "shard", i, "target", target.ID, "err", err)
			continue
		}
		durable := time.Now()
		m.stats.shardsRebuilt.Add(1)
		r.Repaired++
		at[i] = target.ID
		next := make([]*metadatav1.ShardLocation, 0, total)
		for i, node := range at {
			if node != "" {
				next = append(next, &metadatav1.ShardLocation{Index: uint32(i), NodeId: node})
			}
		}
		done, err := m.record(ctx, p.GetBlobId(), next, current, durable)
		if err != nil || !done {
			return err
		}
		current = next
		m.stats.shardsMoved.Add(1)
		m.log.Info("shard rebuilt on another node", "blob_id", p.GetBlobId(), "shard", i, "node", target.ID)
	}
	return nil
}

// record commits a repaired shard list with a compare-and-swap on the list
// it replaces. It reports false when the placement changed meanwhile
// (another repair won, or the blob was deleted): the shard just written is
// then garbage, left to the collectors.
func (m *maintainer) record(ctx context.Context, blobID string, next, expected []*metadatav1.ShardLocation, durable time.Time) (bool, error) {
	if time.Since(durable) > m.cfg.GCGrace/2 {
		m.log.Warn("rebuilt shard could not be recorded in time; left to garbage collection", "blob_id", blobID)
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, min(metaTimeout, m.cfg.GCGrace/2))
	defer cancel()
	_, err := m.meta.UpdatePlacement(ctx, &metadatav1.UpdatePlacementRequest{
		BlobId:         blobID,
		Shards:         next,
		ExpectedShards: expected,
		RequestId:      client.NewBlobID(),
	})
	switch {
	case errs.Is(err, errs.Conflict) || errs.Is(err, errs.ObjectNotFound):
		m.log.Info("placement changed during repair; rebuilt shard left to garbage collection", "blob_id", blobID, "err", err)
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// pick chooses the node for shard index of a blob by rendezvous hashing:
// nodes that see the same candidates pick the same one, and the shards of
// many blobs spread evenly.
func pick(nodes []client.Node, blobID string, index int) int {
	best, bestH := 0, uint64(0)
	for i, n := range nodes {
		h := fnv.New64a()
		h.Write([]byte(blobID + "/" + strconv.Itoa(index) + "/" + n.ID))
		if v := h.Sum64(); i == 0 || v > bestH {
			best, bestH = i, v
		}
	}
	return best
}
