package bucketcache

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/coffer-project/coffer/gateway/watchfollow"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// Defaults.
const (
	// DefaultMaxEntries bounds the cached buckets.
	DefaultMaxEntries = 10000
	// DefaultMaxAge is the backstop lifetime of an entry.
	DefaultMaxAge = 10 * time.Minute
)

// Config configures a Client.
type Config struct {
	// MaxEntries bounds the cached buckets (0: DefaultMaxEntries; negative:
	// no caching, every lookup goes to metadata).
	MaxEntries int
	// MaxAge bounds how long an entry is used even if the watch stream
	// reports nothing about it (0: DefaultMaxAge).
	MaxAge time.Duration
}

// Client is a MetadataServiceClient whose GetBucket is served from a cache
// kept current by metadata's Watch stream; see the package comment. It is
// safe for concurrent use. Start begins following the stream; until the
// stream is live, and whenever it is not, GetBucket goes to metadata.
type Client struct {
	metadatav1.MetadataServiceClient // every other call passes through

	cfg Config
	now func() time.Time

	hits, misses atomic.Uint64

	// mu guards the entries and watch's state: a version check and the
	// store it allows are one critical section.
	mu sync.RWMutex
	// watch follows metadata's bucket and CORS changes and says whether
	// entries may be used (live) and stored (see watchfollow.Ticket).
	watch  *watchfollow.Follower
	byID   map[string]*entry // bucket id → entry
	byName map[string]string // lower(name) → bucket id
}

// entry is one cached bucket record (never mutated: callers get clones).
type entry struct {
	b     *metadatav1.Bucket
	added time.Time
}

// Stats counts how lookups were answered.
type Stats struct{ Hits, Misses uint64 }

// New wraps meta; Start makes the cache useful.
func New(meta metadatav1.MetadataServiceClient, cfg Config, log *slog.Logger) *Client {
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if log == nil {
		log = slog.Default()
	}
	c := &Client{MetadataServiceClient: meta, cfg: cfg, now: time.Now,
		byID: map[string]*entry{}, byName: map[string]string{}}
	c.watch = watchfollow.New(watchfollow.Config{
		Name:   "bucketcache",
		What:   "cached bucket",
		Broken: "bucket lookups go to metadata until it resumes",
		Kinds:  []metadatav1.ChangeKind{metadatav1.ChangeKind_CHANGE_KIND_BUCKET, metadatav1.ChangeKind_CHANGE_KIND_CORS},
		Meta:   meta, Mu: &c.mu, Log: log, Now: c.now,
		DropAll: c.dropAllLocked,
		Apply:   func(ch *metadatav1.Change) { c.dropLocked(ch.GetBucketId(), ch.GetBucketName()) },
	})
	return c
}

// Start follows metadata's watch stream in the background until Stop.
func (c *Client) Start() {
	if c.cfg.MaxEntries < 0 {
		return
	}
	c.watch.Start()
}

// Stop stops following the stream and drops every entry; lookups go to
// metadata from then on. It is idempotent.
func (c *Client) Stop() { c.watch.Stop() }

// Live reports whether the watch stream is live (entries are used).
func (c *Client) Live() bool { return c.watch.Live() }

// Stats returns the hit and miss counts so far.
func (c *Client) Stats() Stats { return Stats{Hits: c.hits.Load(), Misses: c.misses.Load()} }

// GetBucket answers from the cache while the stream is live, and asks
// metadata (a linearizable read) otherwise.
func (c *Client) GetBucket(ctx context.Context, req *metadatav1.GetBucketRequest, opts ...grpc.CallOption) (*metadatav1.GetBucketResponse, error) {
	id, name := req.GetBucketId(), strings.ToLower(req.GetName())
	c.mu.RLock()
	t := c.watch.TicketLocked()
	var e *entry
	if t.Live() {
		if id == "" && name != "" {
			id = c.byName[name]
		}
		e = c.byID[id]
	}
	c.mu.RUnlock()
	if e != nil && c.now().Sub(e.added) <= c.cfg.MaxAge {
		c.hits.Add(1)
		return &metadatav1.GetBucketResponse{Bucket: proto.Clone(e.b).(*metadatav1.Bucket)}, nil
	}
	c.misses.Add(1)
	resp, err := c.MetadataServiceClient.GetBucket(ctx, req, opts...)
	if err != nil || !t.Live() {
		return resp, err
	}
	b := resp.GetBucket()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch.StorableLocked(t) && b.GetBucketId() != "" {
		c.makeRoomLocked()
		c.byID[b.GetBucketId()] = &entry{b: proto.Clone(b).(*metadatav1.Bucket), added: c.now()}
		c.byName[strings.ToLower(b.GetName())] = b.GetBucketId()
	}
	return resp, nil
}

// UpdateBucket passes through and, once metadata answered, drops the
// bucket's entry: the next lookup through this gateway reads the new
// settings.
func (c *Client) UpdateBucket(ctx context.Context, req *metadatav1.UpdateBucketRequest, opts ...grpc.CallOption) (*metadatav1.UpdateBucketResponse, error) {
	defer c.Invalidate(req.GetBucketId())
	return c.MetadataServiceClient.UpdateBucket(ctx, req, opts...)
}

// DeleteBucket passes through and drops the bucket's entry.
func (c *Client) DeleteBucket(ctx context.Context, req *metadatav1.DeleteBucketRequest, opts ...grpc.CallOption) (*metadatav1.DeleteBucketResponse, error) {
	defer c.Invalidate(req.GetBucketId())
	return c.MetadataServiceClient.DeleteBucket(ctx, req, opts...)
}

// Invalidate drops the entry of bucket id (whatever the outcome of the
// write that calls it: a write that failed may still have been applied).
func (c *Client) Invalidate(id string) {
	c.mu.Lock()
	c.dropLocked(id, "")
	c.watch.InvalidatedLocked()
	c.mu.Unlock()
}

func (c *Client) dropLocked(id, name string) {
	if e := c.byID[id]; e != nil {
		delete(c.byName, strings.ToLower(e.b.GetName()))
		delete(c.byID, id)
	}
	if name != "" {
		if other := c.byName[strings.ToLower(name)]; other != "" {
			delete(c.byID, other)
			delete(c.byName, strings.ToLower(name))
		}
	}
}

func (c *Client) dropAllLocked() {
	clear(c.byID)
	clear(c.byName)
}

// makeRoomLocked evicts arbitrary entries until one more fits.
func (c *Client) makeRoomLocked() {
	for len(c.byID) >= c.cfg.MaxEntries {
		for id := range c.byID {
			c.dropLocked(id, "")
			break
		}
	}
}

// WrapCors returns cors with its writes of bucket CORS rules dropping the
// bucket's entry once they return (corsd writes the rules to metadata, so
// they do not pass through this client).
func (c *Client) WrapCors(cors corsv1.CorsServiceClient) corsv1.CorsServiceClient {
	return corsWrites{cors, c}
}

type corsWrites struct {
	corsv1.CorsServiceClient
	c *Client
}

func (w corsWrites) PutBucketCors(ctx context.Context, req *corsv1.PutBucketCorsRequest, opts ...grpc.CallOption) (*corsv1.PutBucketCorsResponse, error) {
	defer w.c.Invalidate(req.GetBucketId())
	return w.CorsServiceClient.PutBucketCors(ctx, req, opts...)
}

func (w corsWrites) DeleteBucketCors(ctx context.Context, req *corsv1.DeleteBucketCorsRequest, opts ...grpc.CallOption) (*corsv1.DeleteBucketCorsResponse, error) {
	defer w.c.Invalidate(req.GetBucketId())
	return w.CorsServiceClient.DeleteBucketCors(ctx, req, opts...)
}
