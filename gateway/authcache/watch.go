package authcache

import (
	"context"
	"math/rand/v2"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Reconnect backoff of the watch stream.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
	// maxOutage is the longest break after which a resumed stream keeps
	// the entries. A resume replays every change, so entries would stay
	// exact; but a node that answers a resume only after a long wait may be
	// one whose history is not ours (metadata restored or replaced: it
	// waits until its index reaches ours), and entries that old are cheap
	// to fetch again.
	maxOutage = 30 * time.Second
)

// follow keeps a watch stream open until ctx ends: it resumes a broken
// stream from the last index seen, with jittered exponential backoff, and
// marks the cache not live while no stream is.
func (c *Cache) follow(ctx context.Context) {
	backoff := minBackoff
	for {
		delivered, err := c.watchOnce(ctx)
		c.setLive(false)
		if ctx.Err() != nil {
			return
		}
		if delivered {
			backoff = minBackoff
		}
		c.log.Warn("metadata watch stream broke; cached credentials are not used until it resumes",
			"err", err, "resume_after_index", c.resumeIndex(), "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		if backoff *= 2; backoff > maxBackoff {
			backoff = maxBackoff
		}
	}
}

// watchOnce runs one stream until it fails; delivered reports whether it
// got at least one response.
func (c *Cache) watchOnce(ctx context.Context) (delivered bool, err error) {
	from := c.resumeIndex()
	if from == 0 {
		// No position to resume from: "from now" could skip changes made
		// since the entries were stored, so none may survive.
		c.mu.Lock()
		c.dropAllLocked()
		c.version++
		c.mu.Unlock()
	}
	c.mu.Lock()
	hook := c.beforeConnect
	c.mu.Unlock()
	if hook != nil {
		hook(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	c.cancelStream = cancel
	c.mu.Unlock()
	stream, err := c.meta.Watch(ctx, &metadatav1.WatchRequest{
		FromIndex: from,
		Kinds:     []metadatav1.ChangeKind{metadatav1.ChangeKind_CHANGE_KIND_KEY},
	})
	if err != nil {
		return false, errs.FromStatus("authcache.watch", err)
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return delivered, errs.FromStatus("authcache.watch", err)
		}
		c.apply(resp)
		delivered = true
	}
}

func (c *Cache) resumeIndex() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.index
}

// apply handles one watch response: invalidations first, then the stream
// is live (its first response means it has caught up to where it started).
func (c *Cache) apply(resp *metadatav1.WatchResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := !c.live
	switch {
	case !c.live && !c.brokeAt.IsZero() && c.now().Sub(c.brokeAt) > maxOutage:
		c.log.Info("metadata watch resumed after a long outage; dropping every cached credential", "outage", c.now().Sub(c.brokeAt))
		c.dropAllLocked()
	case resp.GetCompacted():
		// The changes after our index are gone: anything may have changed.
		c.log.Info("metadata watch history compacted; dropping every cached credential", "index", resp.GetIndex())
		c.dropAllLocked()
		changed = true
	case resp.GetIndex() < c.index:
		// The index went backwards (metadata restored or replaced): the
		// history we followed is not this one.
		c.log.Warn("metadata watch index went backwards; dropping every cached credential",
			"had", c.index, "got", resp.GetIndex())
		c.dropAllLocked()
		changed = true
	}
	for _, ch := range resp.GetChanges() {
		if ch.GetKind() == metadatav1.ChangeKind_CHANGE_KIND_KEY {
			c.evictKeyLocked(ch.GetKeyId())
			changed = true
		}
	}
	c.index = resp.GetIndex()
	c.live, c.brokeAt = true, time.Time{}
	if changed {
		c.version++
	}
}

// setLive(false) is called when a stream ends.
func (c *Cache) setLive(live bool) {
	c.mu.Lock()
	if c.live != live {
		c.live = live
		c.version++
		if !live {
			c.brokeAt = c.now()
		}
	}
	c.mu.Unlock()
}
