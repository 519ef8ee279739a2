package authcache

import "context"

// Interrupt breaks the cache's watch stream now and keeps it from
// reconnecting until resume is called, so tests can change keys while the
// stream is down and check what the resumed stream does with them.
func Interrupt(c *Cache) (resume func()) {
	gate := make(chan struct{})
	c.mu.Lock()
	c.beforeConnect = func(ctx context.Context) {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	cancel := c.cancelStream
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return func() {
		c.mu.Lock()
		c.beforeConnect = nil
		c.mu.Unlock()
		close(gate)
	}
}

// Index is the last watch index the cache has applied.
func Index(c *Cache) uint64 { return c.resumeIndex() }
