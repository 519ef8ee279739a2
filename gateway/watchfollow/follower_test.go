package watchfollow_test

import (
	"context"
	"flag"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-project/coffer/gateway/watchfollow"
	"github.com/coffer-project/coffer/metadata"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/runtime"
)

// The tests follow a real metadata node, behind the real runtime on
// 127.0.0.1; only the clock is fake, to make an outage long.

// startMeta starts a one-node metadata role and returns its client.
func startMeta(t *testing.T) metadatav1.MetadataServiceClient {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	var cfg metadata.Config
	cfg.RegisterFlags("metadata.", flag.NewFlagSet("test", flag.ContinueOnError))
	cfg.DataDir = t.TempDir()
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.HeartbeatTimeout = 50 * time.Millisecond
	cfg.ElectionTimeout = 50 * time.Millisecond
	rt, err := runtime.New(runtime.Config{GRPCAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "text", ShutdownTimeout: 200 * time.Millisecond}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metadata.New(cfg, metadata.Deps{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(rt.GRPC())
	served := make(chan error, 1)
	go func() { served <- rt.Serve() }()
	t.Cleanup(func() {
		rt.Stop(context.Background())
		<-served
		_ = srv.Stop(context.Background())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cc, err := runtime.Dial("passthrough:///" + rt.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return metadatav1.NewMetadataServiceClient(cc)
}

// cache is the smallest cache: it counts what the follower asks of it.
type cache struct {
	mu      sync.RWMutex
	drops   int      // DropAll calls
	changed []string // bucket ids of applied changes
	clock   atomic.Int64
	f       *watchfollow.Follower
}

func newCache(t *testing.T, meta metadatav1.MetadataServiceClient) *cache {
	c := &cache{}
	c.clock.Store(time.Now().UnixNano())
	c.f = watchfollow.New(watchfollow.Config{
		Name: "test", What: "test entry", Broken: "test entries are not used until it resumes",
		Kinds: []metadatav1.ChangeKind{metadatav1.ChangeKind_CHANGE_KIND_BUCKET},
		Meta:  meta, Mu: &c.mu, Log: slog.New(slog.DiscardHandler),
		Now:     func() time.Time { return time.Unix(0, c.clock.Load()) },
		DropAll: func() { c.drops++ },
		Apply:   func(ch *metadatav1.Change) { c.changed = append(c.changed, ch.GetBucketId()) },
	})
	c.f.Start()
	t.Cleanup(c.f.Stop)
	waitFor(t, "the stream to be live", c.f.Live)
	return c
}

func (c *cache) counts() (drops int, changed []string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.drops, append([]string(nil), c.changed...)
}

// storable is StorableLocked under the cache's lock.
func (c *cache) storable(t watchfollow.Ticket) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.f.StorableLocked(t)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func createBucket(t *testing.T, meta metadatav1.MetadataServiceClient, name string) string {
	t.Helper()
	resp, err := meta.CreateBucket(context.Background(), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetBucket().GetBucketId()
}

// TestChangeInvalidatesTicket: a change is applied under the cache's lock,
// and an answer fetched across it may not be stored.
func TestChangeInvalidatesTicket(t *testing.T) {
	meta := startMeta(t)
	c := newCache(t, meta)
	ticket := c.f.Ticket()
	id := createBucket(t, meta, "changed-bucket")
	waitFor(t, "the change to be applied", func() bool {
		_, changed := c.counts()
		return len(changed) == 1 && changed[0] == id
	})
	if storable, fresh := c.storable(ticket), c.storable(c.f.Ticket()); storable || !fresh {
		t.Fatalf("storable across a change: %v; with a fresh ticket: %v", storable, fresh)
	}
	before := c.f.Ticket()
	c.mu.Lock()
	c.f.InvalidatedLocked() // the cache dropped an entry on its own
	c.mu.Unlock()
	if c.storable(before) || !c.storable(c.f.Ticket()) {
		t.Fatal("InvalidatedLocked: a ticket from before it is storable, or one from after is not")
	}
}

// TestOutage: a short break resumes with the entries kept and replays the
// changes made meanwhile; a break longer than maxOutage drops everything
// on resume.
func TestOutage(t *testing.T) {
	meta := startMeta(t)
	c := newCache(t, meta)
	drops, _ := c.counts()
	outage := func(d time.Duration) {
		release := make(chan struct{})
		c.f.SetBeforeConnect(func(ctx context.Context) {
			select {
			case <-release:
			case <-ctx.Done():
			}
		})
		ticket := c.f.Ticket()
		c.f.BreakStream()
		waitFor(t, "the stream to break", func() bool { return !c.f.Live() })
		if c.storable(ticket) {
			t.Fatal("a ticket from before the break is storable")
		}
		id := createBucket(t, meta, "bucket-"+d.String())
		c.clock.Add(int64(d))
		c.f.SetBeforeConnect(nil)
		close(release)
		waitFor(t, "the stream to resume", c.f.Live)
		waitFor(t, "the replayed change", func() bool {
			_, changed := c.counts()
			return len(changed) > 0 && changed[len(changed)-1] == id
		})
	}

	outage(time.Second)
	if got, _ := c.counts(); got != drops {
		t.Fatalf("a short outage dropped the entries (%d drops, had %d)", got, drops)
	}
	outage(31 * time.Second)
	if got, _ := c.counts(); got != drops+1 {
		t.Fatalf("a long outage: %d drops, want %d", got, drops+1)
	}
}
