package corsd

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// cache holds each bucket's rules. Correctness rests on two mechanisms:
//
//   - While metadata's Watch stream is up, every bucket or CORS change drops
//     the bucket's entry, so entries are exact. A reconnect resumes from the
//     last index seen, so no change is missed; a compacted answer (history
//     gone) drops everything.
//   - While the stream is down, entries are trusted only for ttl.
//
// A load races an invalidation when metadata answers the old rules after the
// change was applied but before put: the generation counter, bumped by every
// invalidation, makes such a put a no-op.
type cache struct {
	max  int
	ttl  time.Duration
	now  func() time.Time
	gen  atomic.Uint64
	live atomic.Bool // the watch stream is up

	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	rules  []*corsv1.CorsRule
	index  uint64
	loaded time.Time
}

func newCache(max int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{max: max, ttl: ttl, now: now, entries: map[string]entry{}}
}

func (c *cache) generation() uint64 { return c.gen.Load() }

func (c *cache) get(bucketID string) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[bucketID]
	if !ok {
		return entry{}, false
	}
	if !c.live.Load() && c.now().Sub(e.loaded) > c.ttl {
		delete(c.entries, bucketID)
		return entry{}, false
	}
	return e, true
}

// put stores rules loaded when the generation was gen, unless an
// invalidation happened since.
func (c *cache) put(gen uint64, bucketID string, rules []*corsv1.CorsRule, index uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(c.entries) >= c.max {
		// Evict an arbitrary entry: a bound, not a policy; hot buckets
		// come back on their next request.
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[bucketID] = entry{rules: rules, index: index, loaded: c.now()}
}

func (c *cache) drop(bucketID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	delete(c.entries, bucketID)
}

func (c *cache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.entries = map[string]entry{}
}

// follow consumes metadata's change stream until ctx ends, reconnecting
// with backoff and resuming after the last index seen.
func (c *cache) follow(ctx context.Context, meta metadatav1.MetadataServiceClient, log *slog.Logger) {
	var last uint64
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.watchOnce(ctx, meta, &last)
		c.live.Store(false)
		if ctx.Err() != nil {
			return
		}
		// Changes made while the stream was down are caught on reconnect
		// (resume from last); until then entries age out by ttl.
		if errs.Is(err, errs.Unimplemented) {
			backoff = 5 * time.Second
		}
		log.Debug("metadata watch interrupted; CORS cache on TTL until it resumes", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (c *cache) watchOnce(ctx context.Context, meta metadatav1.MetadataServiceClient, last *uint64) error {
	stream, err := meta.Watch(ctx, &metadatav1.WatchRequest{
		FromIndex: *last,
		Kinds:     []metadatav1.ChangeKind{metadatav1.ChangeKind_CHANGE_KIND_BUCKET, metadatav1.ChangeKind_CHANGE_KIND_CORS},
	})
	if err != nil {
		return err
	}
	first := true
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if first {
			// The stream is established: anything cached before may have
			// missed changes while it was down, unless we resumed.
			if *last == 0 {
				c.clear()
			}
			c.live.Store(true)
			first = false
		}
		if resp.GetCompacted() {
			c.clear()
		}
		for _, ch := range resp.GetChanges() {
			c.drop(ch.GetBucketId())
			*last = max(*last, ch.GetIndex())
		}
		*last = max(*last, resp.GetIndex())
	}
}
