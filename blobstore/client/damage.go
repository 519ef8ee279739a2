package client

import (
	"context"
	"sync"
	"time"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Damage is a shard that a read, a put or a rebuild could not use.
type Damage struct {
	BlobID  string
	ShardID string // as stored on the node
	Index   int
	NodeID  string
	// Kind is DataLoss for a corrupt shard, ObjectNotFound for a missing
	// one, Unavailable for a node that could not be reached, or the kind of
	// whatever else went wrong.
	Kind errs.Kind
	Err  error
}

// Reporting limits: a report is a VerifyBlob call to the node that should
// hold the shard; the node verifies it and, if it is missing or corrupt,
// rebuilds it from the other shards (blobstore/DESIGN.md, "Healing").
const (
	reportTimeout     = 30 * time.Second
	reportConcurrency = 4
	reportDedup       = time.Minute
	reportMemory      = 4096
)

// reporter sends damage reports without holding up the read that found the
// damage: reports run in the background, a few at a time, and are dropped
// (the scrubber and the repair scan will find the damage anyway) when too
// many are in flight or the same shard was reported a moment ago.
type reporter struct {
	c      *Client
	sem    chan struct{}
	mu     sync.Mutex
	recent map[string]time.Time
}

func (r *reporter) init(c *Client) {
	r.c = c
	r.sem = make(chan struct{}, reportConcurrency)
	r.recent = map[string]time.Time{}
}

// report records damage to shard index of p on node nodeID.
func (r *reporter) report(p *metadatav1.BlobPlacement, index int, nodeID string, err error) {
	d := Damage{
		BlobID:  p.GetBlobId(),
		ShardID: ShardID(p, index),
		Index:   index,
		NodeID:  nodeID,
		Kind:    errs.KindOf(err),
		Err:     err,
	}
	if f := r.c.cfg.OnDamage; f != nil {
		f(d)
	}
	// Only a node that answered can heal the shard; a node that is down is
	// the repair scan's business, and a whole copy has nothing to heal from.
	if d.Kind != errs.DataLoss && d.Kind != errs.ObjectNotFound || !IsErasureCoded(p) {
		return
	}
	n, ok := r.c.Node(nodeID)
	if !ok {
		return
	}
	key := nodeID + "/" + d.ShardID
	now := time.Now()
	r.mu.Lock()
	if t, dup := r.recent[key]; dup && now.Sub(t) < reportDedup {
		r.mu.Unlock()
		return
	}
	if len(r.recent) >= reportMemory {
		clear(r.recent)
	}
	r.recent[key] = now
	r.mu.Unlock()
	select {
	case r.sem <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-r.sem }()
		ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
		defer cancel()
		// The answer does not matter here: the node acts on what it finds.
		_, _ = n.Client.VerifyBlob(ctx, &blobv1.VerifyBlobRequest{BlobId: d.ShardID})
	}()
}

// ReportDamage reports that a reader of blob p could not get its bytes
// (err says why): every shard is reported as report does — OnDamage sees
// it, and the node holding an erasure-coded shard verifies it and rebuilds
// it if it is missing or damaged. It never blocks; duplicates of recent
// reports are dropped. It implements gateway/objects.DamageReporter.
func (c *Client) ReportDamage(p *metadatav1.BlobPlacement, err error) {
	for _, s := range p.GetShards() {
		c.reports.report(p, int(s.GetIndex()), s.GetNodeId(), err)
	}
}

// sizeCacheEntries bounds the object-size cache.
const sizeCacheEntries = 1 << 14

// sizeCache remembers the object size of erasure-coded blobs (blobs never
// change), sparing a range read the header fetch. Two generations bound it:
// when the current one is full it becomes the previous one, so the most
// recently used entries survive.
type sizeCache struct {
	mu        sync.Mutex
	max       int
	cur, prev map[string]int64
}

func (s *sizeCache) get(id string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.cur[id]; ok {
		return n, true
	}
	if n, ok := s.prev[id]; ok {
		s.putLocked(id, n)
		return n, true
	}
	return 0, false
}

func (s *sizeCache) put(id string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(id, n)
}

func (s *sizeCache) putLocked(id string, n int64) {
	if s.cur == nil || len(s.cur) >= s.max/2 {
		s.prev, s.cur = s.cur, make(map[string]int64)
	}
	s.cur[id] = n
}
