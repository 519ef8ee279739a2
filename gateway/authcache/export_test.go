package authcache

import "context"

// Interrupt breaks the cache's watch stream now and keeps it from
// reconnecting until resume is called, so tests can change keys while the
// stream is down and check what the resumed stream does with them.
func Interrupt(c *Cache) (resume func()) {
	gate := make(chan struct{})
	c.watch.SetBeforeConnect(func(ctx context.Context) {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	})
	c.watch.BreakStream()
	return func() {
		c.watch.SetBeforeConnect(nil)
		close(gate)
	}
}

// Index is the last watch index the cache has applied.
func Index(c *Cache) uint64 { return c.watch.Index() }
