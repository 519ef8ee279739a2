package bucketcache

import (
	"context"
	"math/rand/v2"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Reconnect backoff of the watch stream, and the longest break after which
// a resumed stream keeps the entries (as in gateway/authcache: a node that
// answers a resume only after a long wait may have another history).
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
	maxOutage  = 30 * time.Second
)

// follow keeps a watch stream open until ctx ends: it resumes a broken
// stream from the last index seen, with jittered exponential backoff, and
// marks the cache not live while no stream is.
func (c *Client) follow(ctx context.Context) {
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
		c.log.Warn("metadata watch stream broke; bucket lookups go to metadata until it resumes",
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
func (c *Client) watchOnce(ctx context.Context) (delivered bool, err error) {
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
	stream, err := c.MetadataServiceClient.Watch(ctx, &metadatav1.WatchRequest{
		FromIndex: from,
		Kinds:     []metadatav1.ChangeKind{metadatav1.ChangeKind_CHANGE_KIND_BUCKET, metadatav1.ChangeKind_CHANGE_KIND_CORS},
	})
	if err != nil {
		return false, errs.FromStatus("bucketcache.watch", err)
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return delivered, errs.FromStatus("bucketcache.watch", err)
		}
		c.mu.RLock()
		hook := c.beforeApply
		c.mu.RUnlock()
		if hook != nil {
			hook()
		}
		c.apply(resp)
		delivered = true
	}
}

func (c *Client) resumeIndex() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.index
}

// apply handles one watch response: invalidations first, then the stream
// is live (its first response means it has caught up to where it started).
func (c *Client) apply(resp *metadatav1.WatchResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := !c.live
	switch {
	case !c.live && !c.brokeAt.IsZero() && c.now().Sub(c.brokeAt) > maxOutage:
		c.log.Info("metadata watch resumed after a long outage; dropping every cached bucket", "outage", c.now().Sub(c.brokeAt))
		c.dropAllLocked()
	case resp.GetCompacted():
		c.log.Info("metadata watch history compacted; dropping every cached bucket", "index", resp.GetIndex())
		c.dropAllLocked()
		changed = true
	case resp.GetIndex() < c.index:
		c.log.Warn("metadata watch index went backwards; dropping every cached bucket", "had", c.index, "got", resp.GetIndex())
		c.dropAllLocked()
		changed = true
	}
	for _, ch := range resp.GetChanges() {
		switch ch.GetKind() {
		case metadatav1.ChangeKind_CHANGE_KIND_BUCKET, metadatav1.ChangeKind_CHANGE_KIND_CORS:
			c.dropLocked(ch.GetBucketId(), ch.GetBucketName())
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
func (c *Client) setLive(live bool) {
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
