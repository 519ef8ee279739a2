package bucketcache

import "context"

// BreakStream ends the current watch stream (it is resumed after a backoff).
func (c *Client) BreakStream() {
	c.mu.Lock()
	cancel := c.cancelStream
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// HoldBeforeConnect makes every (re)connect wait until release is closed.
func (c *Client) HoldBeforeConnect(release <-chan struct{}) {
	c.mu.Lock()
	c.beforeConnect = func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	c.mu.Unlock()
}

// HoldApply makes the stream wait before applying each response until
// release is closed: the cache stays live but learns nothing.
func (c *Client) HoldApply(release <-chan struct{}) {
	c.mu.Lock()
	c.beforeApply = func() { <-release }
	c.mu.Unlock()
}
