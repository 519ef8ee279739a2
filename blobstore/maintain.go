package blobstore

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Stats counts what a node's background work has done since it started.
type Stats struct {
	// ShardsRebuilt counts shards rebuilt on this node (in place, after
	// damage) or by it on other nodes (moves made by the repair scan).
	ShardsRebuilt int64
	// ShardsMoved counts placements changed by this node's repair scan.
	ShardsMoved int64
	// CorruptFound counts damaged blobs found by scrubbing.
	CorruptFound int64
	// Scrubbed counts blobs verified by scrubbing.
	Scrubbed int64
	// GCDeleted counts blobs and shards removed by garbage collection.
	GCDeleted int64
	// ScrubPasses, GCPasses and RepairPasses count finished passes.
	ScrubPasses, GCPasses, RepairPasses int64
}

type stats struct {
	shardsRebuilt, shardsMoved, corruptFound, scrubbed, gcDeleted atomic.Int64
	scrubPasses, gcPasses, repairPasses                           atomic.Int64
}

// Stats returns the node's background-work counters.
func (s *Server) Stats() Stats {
	st := &s.stats
	return Stats{
		ShardsRebuilt: st.shardsRebuilt.Load(), ShardsMoved: st.shardsMoved.Load(),
		CorruptFound: st.corruptFound.Load(), Scrubbed: st.scrubbed.Load(), GCDeleted: st.gcDeleted.Load(),
		ScrubPasses: st.scrubPasses.Load(), GCPasses: st.gcPasses.Load(), RepairPasses: st.repairPasses.Load(),
	}
}

// repairQueue bounds the shards waiting for a local rebuild; beyond it,
// reports are dropped (the next scrub or repair scan finds them again).
const repairQueue = 1024

// metaTimeout bounds one metadata call made by background work.
const metaTimeout = 30 * time.Second

// shardRef names one erasure-coded shard.
type shardRef struct {
	blobID string
	index  int
}

// maintainer is a node's background work: the loops of scrub.go, gc.go and
// repair.go, and the worker that rebuilds this node's damaged shards. It
// lives from Start to Stop.
type maintainer struct {
	srv   *Server
	st    *disk.Store
	cfg   Config
	meta  metadatav1.MetadataServiceClient
	peers client.Lookup
	log   *slog.Logger
	stats *stats
	self  string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	cmu sync.Mutex
	cl  *client.Client // over every peer; built on first use

	queue  chan shardRef
	qmu    sync.Mutex
	queued map[shardRef]bool

	dmu  sync.Mutex
	down map[string]time.Time // node id → when this node first saw it down

	placementsUnimplemented atomic.Bool

	// locks serialise each job's runs; jobs records them (jobs.go).
	locks jobLocks
	jobs  *runtime.JobMetrics
}

func newMaintainer(s *Server, st *disk.Store) *maintainer {
	ctx, cancel := context.WithCancel(context.Background())
	return &maintainer{
		srv: s, st: st, cfg: s.cfg, meta: s.deps.Meta, peers: s.deps.Peers, log: s.log, stats: &s.stats,
		self: st.NodeID(), ctx: ctx, cancel: cancel,
		queue: make(chan shardRef, repairQueue), queued: map[shardRef]bool{}, down: map[string]time.Time{},
		jobs: runtime.NewJobMetrics(s.deps.Registerer),
	}
}

// start starts the loops the configuration and dependencies allow.
func (m *maintainer) start() {
	if m.cfg.ScrubInterval > 0 {
		m.loop(m.cfg.ScrubInterval, jobScrub)
	}
	if m.meta == nil {
		return
	}
	if m.cfg.GCInterval > 0 {
		m.loop(m.cfg.GCInterval, jobGC)
	}
	if m.peers == nil {
		return
	}
	m.wg.Go(m.repairWorker)
	if m.cfg.RepairInterval > 0 {
		m.loop(m.cfg.RepairInterval, jobRepair)
	}
}

// stop ends every loop and waits for them.
func (m *maintainer) stop() {
	m.cancel()
	m.wg.Wait()
}

// loop runs a pass of job every interval (the first after one interval, so
// that a node that restarts often does not hammer its disk or the metadata).
func (m *maintainer) loop(interval time.Duration, job string) {
	m.wg.Go(func() {
		t := time.NewTimer(interval)
		defer t.Stop()
		for {
			select {
			case <-m.ctx.Done():
				return
			case <-t.C:
			}
			if r := m.run(m.ctx, job, m.passOf(job), nil); r.Err != nil && m.ctx.Err() == nil {
				m.log.Warn("background pass failed; retrying at the next interval", "job", job, "err", r.Err)
			}
			t.Reset(interval)
		}
	})
}

// client returns the client over every peer, building it on first use
// (peers are reachable only once every node has started).
func (m *maintainer) client(ctx context.Context) (*client.Client, error) {
	m.cmu.Lock()
	defer m.cmu.Unlock()
	if m.cl != nil {
		return m.cl, nil
	}
	if m.peers == nil {
		return nil, errs.Errorf(errs.Unavailable, "blobstore.maintain", "no peers configured")
	}
	// Shards this node reads or rebuilds for itself take the local path.
	self, local := m.self, m.srv.Local()
	c, err := client.Open(ctx, m.peers, client.Config{Local: func(id string) client.ShardIO {
		if id == self {
			return local
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	m.cl = c
	return c, nil
}

// reported is called when a reader (through VerifyBlob) found the stored
// blob id missing or damaged on this node.
func (m *maintainer) reported(id string) {
	if blobID, index, ok := client.ParseShardID(id); ok && m.meta != nil && m.peers != nil {
		m.enqueue(shardRef{blobID, index})
	}
}

// enqueue schedules a local rebuild, once per shard at a time.
func (m *maintainer) enqueue(ref shardRef) {
	m.qmu.Lock()
	defer m.qmu.Unlock()
	if m.queued[ref] {
		return
	}
	select {
	case m.queue <- ref:
		m.queued[ref] = true
	default:
		m.log.Warn("repair queue full; shard left to the next scrub or repair scan", "blob_id", ref.blobID, "shard", ref.index)
	}
}

// repairWorker rebuilds this node's damaged shards, one at a time.
func (m *maintainer) repairWorker() {
	for {
		select {
		case <-m.ctx.Done():
			return
		case ref := <-m.queue:
			if _, err := m.repairLocal(m.ctx, ref); err != nil && m.ctx.Err() == nil {
				m.log.Warn("shard repair failed; left to the next scrub or repair scan", "blob_id", ref.blobID, "shard", ref.index, "err", err)
			}
			m.qmu.Lock()
			delete(m.queued, ref)
			m.qmu.Unlock()
		}
	}
}

// placement fetches a blob's committed placement (linearizable). found is
// false when no committed version references the blob any more, or when
// the metadata does not serve placements yet.
func (m *maintainer) placement(ctx context.Context, blobID string) (*metadatav1.BlobPlacement, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, metaTimeout)
	defer cancel()
	resp, err := m.meta.GetBlobPlacement(ctx, &metadatav1.GetBlobPlacementRequest{BlobId: blobID})
	switch {
	case errs.Is(err, errs.ObjectNotFound) || errs.Is(err, errs.VersionNotFound) || errs.Is(err, errs.UploadNotFound):
		return nil, false, nil
	case errs.Is(err, errs.Unimplemented):
		if !m.placementsUnimplemented.Swap(true) {
			m.log.Warn("metadata does not serve blob placements yet; shard repair is disabled")
		}
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return resp.GetPlacement(), true, nil
}

// repairLocal rebuilds shard ref on this node if the committed placement
// still puts it here and it is missing or damaged, and reports whether it
// did. It is idempotent: a shard found healthy (repaired by an earlier
// report) is left alone.
func (m *maintainer) repairLocal(ctx context.Context, ref shardRef) (bool, error) {
	p, found, err := m.placement(ctx, ref.blobID)
	if err != nil || !found || !client.IsErasureCoded(p) || !holds(p, ref.index, m.self) {
		return false, err
	}
	id := client.ShardID(p, ref.index)
	_, corrupt, err := m.st.Verify(ctx, id)
	switch {
	case err == nil && len(corrupt) == 0:
		return false, nil
	case err != nil && !errs.Is(err, errs.DataLoss) && !errs.Is(err, errs.ObjectNotFound):
		return false, err
	}
	c, err := m.client(ctx)
	if err != nil {
		return false, err
	}
	self, ok := c.Node(m.self)
	if !ok {
		if err := c.Refresh(ctx); err != nil {
			return false, err
		}
		if self, ok = c.Node(m.self); !ok {
			return false, errs.Errorf(errs.Unavailable, "blobstore.repair", "this node is not among its peers")
		}
	}
	if _, err := c.Rebuild(ctx, p, ref.index, self); err != nil {
		return false, err
	}
	m.stats.shardsRebuilt.Add(1)
	m.log.Info("shard rebuilt in place", "blob_id", ref.blobID, "shard", ref.index)
	return true, nil
}

// holds reports whether placement p puts shard index on node.
func holds(p *metadatav1.BlobPlacement, index int, node string) bool {
	for _, s := range p.GetShards() {
		if int(s.GetIndex()) == index {
			return s.GetNodeId() == node
		}
	}
	return false
}

// pace sleeps as long as reading n more bytes at rate bytes per second
// takes, counted from start with read bytes so far; it returns false when
// ctx ends.
func pace(ctx context.Context, start time.Time, read, rate int64) bool {
	if rate <= 0 {
		return ctx.Err() == nil
	}
	due := start.Add(time.Duration(float64(read) / float64(rate) * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
