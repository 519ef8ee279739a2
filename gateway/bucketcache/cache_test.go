package bucketcache_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/coffer-project/coffer/gateway/bucketcache"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// staleBound is how long a change made elsewhere may take to reach the
// cache through the watch stream on a healthy (in-process) cluster; it is
// in fact milliseconds.
const staleBound = 2 * time.Second

type fixture struct {
	raw   metadatav1.MetadataServiceClient // another writer: no cache
	cache *bucketcache.Client
	cors  corsv1.CorsServiceClient // through the cache's wrapper
	id    string
	name  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := clustertest.Start(t)
	raw := c.Meta()
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	cache := bucketcache.New(raw, bucketcache.Config{}, slog.New(slog.DiscardHandler))
	cache.Start()
	t.Cleanup(cache.Stop)
	f := &fixture{raw: raw, cache: cache, cors: cache.WrapCors(corsv1.NewCorsServiceClient(cc)), name: "cached-bucket"}
	resp, err := raw.CreateBucket(context.Background(), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: f.name, AccountId: c.AccountID(), Type: metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE,
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.id = resp.GetBucket().GetBucketId()
	waitLive(t, cache, true)
	return f
}

func waitLive(t *testing.T, c *bucketcache.Client, live bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); c.Live() != live; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("cache live = %v, want %v", c.Live(), live)
		}
	}
}

func (f *fixture) get(t *testing.T, byName bool) *metadatav1.Bucket {
	t.Helper()
	req := &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: f.id}}
	if byName {
		req.Selector = &metadatav1.GetBucketRequest_Name{Name: f.name}
	}
	resp, err := f.cache.GetBucket(context.Background(), req)
	if err != nil {
		t.Fatalf("get bucket: %v", err)
	}
	return resp.GetBucket()
}

// settle waits until the bucket is cached and stays cached: the stream
// has delivered the bucket's creation (which drops any entry made before).
func (f *fixture) settle(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(staleBound); time.Now().Before(deadline); {
		f.get(t, false)
		time.Sleep(20 * time.Millisecond)
		before := f.cache.Stats().Hits
		f.get(t, false)
		if f.cache.Stats().Hits == before+1 {
			return
		}
	}
	t.Fatal("the bucket never stayed cached")
}

// eventually polls until cond holds on what the cache answers, and returns
// how long it took; it fails past staleBound.
func (f *fixture) eventually(t *testing.T, what string, cond func(*metadatav1.Bucket) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond(f.get(t, false)) && cond(f.get(t, true)) {
			return time.Since(start)
		}
		if time.Since(start) > staleBound {
			t.Fatalf("%s: not seen through the cache within %v", what, staleBound)
		}
		time.Sleep(time.Millisecond)
	}
}

func public(b *metadatav1.Bucket) bool {
	return b.GetType() == metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC
}

// TestCacheHitsAndStaleness: lookups by id and by name are served from the
// cache once the stream is live; a change made by another writer reaches
// it within the bound (the watch stream); a write through the cache's own
// client is seen at once; a deleted bucket is gone.
func TestCacheHitsAndStaleness(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.settle(t)
	before := f.cache.Stats()
	for range 10 {
		f.get(t, false)
		f.get(t, true)
	}
	if s := f.cache.Stats(); s.Hits-before.Hits != 20 {
		t.Fatalf("20 lookups of a cached bucket: %+v (before %+v)", s, before)
	}

	// Another writer (another gateway, an admin tool): seen through the
	// watch stream within the bound.
	if _, err := f.raw.UpdateBucket(ctx, &metadatav1.UpdateBucketRequest{BucketId: f.id, Type: metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC.Enum()}); err != nil {
		t.Fatal(err)
	}
	lag := f.eventually(t, "a type change by another writer", public)
	t.Logf("a change made elsewhere reached the cache after %v", lag)

	// Writes through this client: read-after-write, no waiting.
	for i, typ := range []metadatav1.BucketType{metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE, metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC} {
		f.get(t, true) // cached
		if _, err := f.cache.UpdateBucket(ctx, &metadatav1.UpdateBucketRequest{BucketId: f.id, Type: typ.Enum()}); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, i%2 == 0); got.GetType() != typ {
			t.Fatalf("read after write through the cache: type %v, want %v", got.GetType(), typ)
		}
	}
	// CORS rules written through corsd (the wrapped client): the next
	// lookup has the new rules and cors_index.
	old := f.get(t, false).GetCorsIndex()
	rule := &corsv1.CorsRule{Name: "r", AllowedOrigins: []string{"https://a.example"}, AllowedOperations: []string{"GET"}}
	put, err := f.cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: f.id, Rules: []*corsv1.CorsRule{rule}, Dialect: corsv1.Dialect_DIALECT_S3})
	if err != nil {
		t.Fatal(err)
	}
	if b := f.get(t, true); b.GetCorsIndex() <= old || b.GetCorsIndex() < put.GetRulesIndex() || len(b.GetCorsRules()) != 1 {
		t.Fatalf("read after a CORS write: cors_index %d (was %d, write %d), %d rules", b.GetCorsIndex(), old, put.GetRulesIndex(), len(b.GetCorsRules()))
	}
	if _, err := f.cors.DeleteBucketCors(ctx, &corsv1.DeleteBucketCorsRequest{BucketId: f.id}); err != nil {
		t.Fatal(err)
	}
	if b := f.get(t, false); len(b.GetCorsRules()) != 0 {
		t.Fatal("read after a CORS delete still has rules")
	}

	// A bucket deleted elsewhere disappears from the cache.
	if _, err := f.raw.DeleteBucket(ctx, &metadatav1.DeleteBucketRequest{BucketId: f.id}); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		_, err := f.cache.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: f.name}})
		if errs.Is(err, errs.BucketNotFound) {
			break
		}
		if time.Since(start) > staleBound {
			t.Fatalf("a deleted bucket is still served: %v", err)
		}
	}
}

// TestCacheNotUsedWhileStreamDown: while the watch stream is down the
// cache is not used — every lookup is a linearizable metadata read, so a
// change made meanwhile is seen at once — and entries fetched then are not
// kept; once the stream resumes it catches up and caching goes on.
func TestCacheNotUsedWhileStreamDown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.settle(t)
	release := make(chan struct{})
	f.cache.HoldBeforeConnect(release)
	f.cache.BreakStream()
	waitLive(t, f.cache, false)
	if _, err := f.raw.UpdateBucket(ctx, &metadatav1.UpdateBucketRequest{BucketId: f.id, Type: metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC.Enum()}); err != nil {
		t.Fatal(err)
	}
	before := f.cache.Stats()
	if !public(f.get(t, false)) || !public(f.get(t, true)) {
		t.Fatal("a change made while the stream was down is not seen at once")
	}
	if s := f.cache.Stats(); s.Hits != before.Hits {
		t.Fatalf("the cache answered while its stream was down: %+v", s)
	}
	close(release)
	waitLive(t, f.cache, true)
	f.get(t, false)
	before = f.cache.Stats()
	if !public(f.get(t, false)) || f.cache.Stats().Hits != before.Hits+1 {
		t.Fatal("caching did not resume with the stream")
	}
}

// TestReadAfterWriteWithoutTheStream: with the stream live but delivering
// nothing (held), a change made elsewhere is not seen — the cache serves
// what it has, within its bound — yet a write through this client is seen
// by the very next lookup: the write drops the entry itself, it does not
// wait for the stream.
func TestReadAfterWriteWithoutTheStream(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.settle(t)
	release := make(chan struct{})
	f.cache.HoldApply(release)
	defer close(release)
	if _, err := f.raw.UpdateBucket(ctx, &metadatav1.UpdateBucketRequest{BucketId: f.id, Type: metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC.Enum()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if public(f.get(t, false)) {
		t.Fatal("the held stream still delivered: this test proves nothing")
	}
	if _, err := f.cache.UpdateBucket(ctx, &metadatav1.UpdateBucketRequest{BucketId: f.id, Info: map[string]string{"k": "v"}, SetInfo: true}); err != nil {
		t.Fatal(err)
	}
	if b := f.get(t, true); !public(b) || b.GetInfo()["k"] != "v" {
		t.Fatal("a lookup after a write through this client did not read the bucket again")
	}
	f.get(t, false)
	rule := &corsv1.CorsRule{Name: "r", AllowedOrigins: []string{"https://a.example"}, AllowedOperations: []string{"GET"}}
	put, err := f.cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: f.id, Rules: []*corsv1.CorsRule{rule}, Dialect: corsv1.Dialect_DIALECT_S3})
	if err != nil {
		t.Fatal(err)
	}
	if b := f.get(t, false); b.GetCorsIndex() < put.GetRulesIndex() || len(b.GetCorsRules()) != 1 {
		t.Fatal("a lookup after a CORS write through this gateway has the old rules")
	}
	if _, err := f.cache.DeleteBucket(ctx, &metadatav1.DeleteBucketRequest{BucketId: f.id}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cache.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: f.name}}); !errs.Is(err, errs.BucketNotFound) {
		t.Fatalf("a bucket deleted through this client is still served: %v", err)
	}
}
