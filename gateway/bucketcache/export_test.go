package bucketcache

import "context"

// BreakStream ends the current watch stream (it is resumed after a backoff).
func (c *Client) BreakStream() { c.watch.BreakStream() }

// HoldBeforeConnect makes every (re)connect wait until release is closed.
func (c *Client) HoldBeforeConnect(release <-chan struct{}) {
	c.watch.SetBeforeConnect(func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
}

// HoldApply makes the stream wait before applying each response until
// release is closed: the cache stays live but learns nothing.
func (c *Client) HoldApply(release <-chan struct{}) {
	c.watch.SetBeforeApply(func() { <-release })
}
