// Package corscache keeps corsd's CORS decisions in the gateway, so a
// request with Origin does not pay a corsd round trip every time.
//
// Entries are keyed by the bucket's cors_index (the Raft index of its last
// CORS change) together with every field of the question. The gateway reads
// the bucket — a linearizable metadata read — on every request anyway, so a
// lookup always uses the current index: a rule change makes old entries
// unreachable at once, and nothing needs invalidating. A decision is stored
// only when corsd made it with the rules at that same index.
package corscache

import (
	"context"
	"strings"
	"sync"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
)

// DefaultMaxEntries bounds the cache; Origin values come from clients, so
// the bound is what keeps a flood of origins from growing memory.
const DefaultMaxEntries = 10000

type key struct {
	bucketID   string
	rulesIndex uint64
	dialect    corsv1.Dialect
	operation  string
	origin     string
	method     string
	headers    string
	preflight  bool
	token      corsv1.TokenKind
	public     bool
	tokenValid bool
}

// Cache is safe for concurrent use.
type Cache struct {
	client corsv1.CorsServiceClient
	max    int

	mu      sync.Mutex
	entries map[key]*corsv1.EvaluateResponse
}

// New returns a cache in front of client.
func New(client corsv1.CorsServiceClient, maxEntries int) *Cache {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &Cache{client: client, max: maxEntries, entries: map[key]*corsv1.EvaluateResponse{}}
}

// Evaluate answers req for a bucket whose current cors_index is rulesIndex,
// from the cache or from corsd. It sets req.MinRulesIndex to rulesIndex, so
// a corsd replica whose watch lags reloads rather than answer from rules
// older than the ones the caller read.
func (c *Cache) Evaluate(ctx context.Context, rulesIndex uint64, req *corsv1.EvaluateRequest) (*corsv1.EvaluateResponse, error) {
	k := key{
		bucketID: req.GetBucketId(), rulesIndex: rulesIndex, dialect: req.GetDialect(), operation: req.GetOperation(),
		origin: req.GetOrigin(), method: req.GetMethod(), headers: strings.Join(req.GetRequestHeaders(), ","),
		preflight: req.GetPreflight(), token: req.GetTokenKind(), public: req.GetBucketPublic(),
		tokenValid: req.GetDownloadTokenValid(),
	}
	c.mu.Lock()
	d, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		return d, nil
	}
	req.MinRulesIndex = rulesIndex
	d, err := c.client.Evaluate(ctx, req)
	if err != nil {
		return nil, err
	}
	if d.GetRulesIndex() == rulesIndex {
		c.mu.Lock()
		if len(c.entries) >= c.max {
			// A bound, not a policy: start over rather than track recency.
			c.entries = map[key]*corsv1.EvaluateResponse{}
		}
		c.entries[k] = d
		c.mu.Unlock()
	}
	return d, nil
}
