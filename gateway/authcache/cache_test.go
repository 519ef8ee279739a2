package authcache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/authcache"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func wantKind(t testing.TB, err error, kind errs.Kind) {
	t.Helper()
	if err == nil || errs.KindOf(err) != kind {
		t.Fatalf("error %v (kind %v), want kind %v", err, errs.KindOf(err), kind)
	}
}

func err2[T any](_ T, err error) error { return err }

// settle waits until the cache has seen the key's creation on the watch
// stream, then sends requests of the key until one is answered from the
// cache. (A creation is a key change like any other: it drops what the
// cache holds for that id, and an answer fetched while it was on its way is
// not stored.)
func settle(t testing.TB, e *env, c *authcache.Cache, id, secret string) {
	t.Helper()
	k, err := e.metaConn.meta.GetKey(ctx(t), &metadatav1.GetKeyRequest{KeyId: id})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the cache to see the key's creation", func() bool { return authcache.Index(c) >= k.Key.CreateIndex })
	waitFor(t, 5*time.Second, "a request served from the cache", func() bool {
		before := c.Stats().Hits
		if _, err := c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/b/x", id, secret)); err != nil {
			t.Fatal(err)
		}
		return c.Stats().Hits > before
	})
}

// TestSteadyStateNeedsNoAuthd: the first request of a key and scope goes to
// authd; every later one is verified in the cache, including refusals
// (wrong secret, skew), which come out exactly as authd's would.
func TestSteadyStateNeedsNoAuthd(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t)
	id, secret := e.createKey(t, &authv1.CreateKeyRequest{Name: "k", Capabilities: []string{policy.ReadFiles}})

	resp, err := c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/bucket/a", id, secret))
	if err != nil || resp.Principal.KeyId != id || len(resp.SigningKey) != 32 {
		t.Fatalf("first request: %v, %v", resp, err)
	}
	if s := c.Stats(); s.Misses != 1 || s.Hits != 0 {
		t.Fatalf("after the first request: %+v", s)
	}
	// The key's own creation reaches the stream about now; an answer that
	// raced with it is not stored, and the next request asks again.
	settle(t, e, c, id, secret)
	base := c.Stats()
	resp, _ = c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/bucket/a", id, secret))
	for i := 0; i < 50; i++ {
		r, err := c.VerifySigV4(ctx(t), signedReq(t, "PUT", "http://h/bucket/a%20b+c?partNumber=1&uploadId=x", id, secret))
		if err != nil || r.Principal != resp.Principal || r.SeedSignature == resp.SeedSignature {
			t.Fatalf("request %d: %v, %v", i, r, err)
		}
	}
	if s := c.Stats(); s.Misses != base.Misses || s.Hits != base.Hits+51 {
		t.Fatalf("steady state went to authd: %+v → %+v", base, s)
	}
	// Refusals from the cache, with authd's kinds.
	wantKind(t, err2(c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/bucket/a", id, secret+"x"))), errs.SignatureMismatch)
	// Skewed within today's signing scope (the cache holds keys by key and
	// scope; 16 minutes back from just after midnight UTC is yesterday's).
	skewed := time.Now().UTC().Add(-16 * time.Minute)
	if skewed.YearDay() != time.Now().UTC().YearDay() {
		skewed = time.Now().Add(16 * time.Minute)
	}
	wantKind(t, err2(c.VerifySigV4(ctx(t), signedAt(t, "GET", "http://h/bucket/a", id, secret, skewed))), errs.RequestTimeTooSkewed)
	tampered := signedReq(t, "GET", "http://h/bucket/a", id, secret)
	tampered.RawPath = "/bucket/b"
	wantKind(t, err2(c.VerifySigV4(ctx(t), tampered)), errs.SignatureMismatch)
	unsigned := signedReq(t, "GET", "http://h/bucket/a", id, secret)
	unsigned.Header.Set("X-Amz-Acl", "public-read")
	wantKind(t, err2(c.VerifySigV4(ctx(t), unsigned)), errs.PermissionDenied)
	if s := c.Stats(); s.Misses != base.Misses {
		t.Fatalf("a refusal went to authd: %+v → %+v", base, s)
	}
	// Unknown keys and the master key are authd's to refuse, every time.
	wantKind(t, err2(c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/", "nobody", secret))), errs.UnknownAccessKey)
	wantKind(t, err2(c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/", "nobody", secret))), errs.UnknownAccessKey)
	if s := c.Stats(); s.Misses != base.Misses+2 {
		t.Fatalf("unknown keys: %+v → %+v", base, s)
	}
	// Anonymous requests never reach authd.
	anon := signedReq(t, "GET", "http://h/bucket/a", id, secret)
	anon.Header.Del("Authorization")
	if r, err := c.VerifySigV4(ctx(t), anon); err != nil || !r.Principal.Anonymous {
		t.Fatalf("anonymous: %v, %v", r, err)
	}
}

// TestDeletedKeyStopsWithin5s: two gateways' caches on one metadata and
// authd serve a key from cache; the key is deleted through authd; both
// refuse it — its signatures and its B2 tokens — well within 5 seconds.
func TestDeletedKeyStopsWithin5s(t *testing.T) {
	e := newEnv(t)
	gateways := []*authcache.Cache{e.cache(t), e.cache(t)}
	id, secret := e.createKey(t, &authv1.CreateKeyRequest{Name: "doomed", Capabilities: []string{policy.ReadFiles}})
	acct, err := e.auth.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: id, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	token := &authv1.VerifyTokenRequest{Token: acct.AuthorizationToken, Kinds: []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT},
		Access: &authv1.Access{Capability: policy.ReadFiles, BucketId: "b1", Name: "x"}}
	for _, g := range gateways {
		settle(t, e, g, id, secret)
		if _, err := g.VerifyToken(ctx(t), token); err != nil {
			t.Fatal(err)
		}
		base := g.Stats()
		for i := 0; i < 3; i++ {
			if _, err := g.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/b/x", id, secret)); err != nil {
				t.Fatal(err)
			}
			if _, err := g.VerifyToken(ctx(t), token); err != nil {
				t.Fatal(err)
			}
		}
		if s := g.Stats(); s.Hits != base.Hits+6 || s.Misses != base.Misses {
			t.Fatalf("warm-up: %+v → %+v", base, s)
		}
	}
	start := time.Now()
	if _, err := e.auth.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: e.adminToken(t), KeyId: id}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	took := make([]time.Duration, len(gateways))
	for i, g := range gateways {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, s3err := g.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/b/x", id, secret))
				_, b2err := g.VerifyToken(ctx(t), token)
				if s3err != nil && b2err != nil {
					took[i] = time.Since(start)
					if errs.KindOf(s3err) != errs.UnknownAccessKey || errs.KindOf(b2err) != errs.Unauthenticated {
						t.Errorf("gateway %d: %v / %v", i, s3err, b2err)
					}
					return
				}
				if time.Since(start) > 10*time.Second {
					t.Errorf("gateway %d still accepts the deleted key after 10 s", i)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for i, d := range took {
		t.Logf("gateway %d refused the deleted key %v after DeleteKey returned", i, d)
		if d > 5*time.Second {
			t.Errorf("gateway %d took %v (> 5 s)", i, d)
		}
	}
}

// TestCachedDecisionsMatchAuthd: through the cache (SigV4 verified in the
// gateway + policy.Decide; B2 token verdicts cached + policy.Decide) every
// restricted key gets the decision authd itself makes.
func TestCachedDecisionsMatchAuthd(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t)
	keys := []*authv1.CreateKeyRequest{
		{Name: "one-bucket", Capabilities: []string{policy.ListFiles, policy.ReadFiles, policy.WriteFiles}, BucketIds: []string{"b1"}},
		{Name: "two-buckets", Capabilities: []string{policy.ReadFiles}, BucketIds: []string{"b1", "b2"}},
		{Name: "prefix", Capabilities: []string{policy.ReadFiles, policy.WriteFiles, policy.ListFiles}, NamePrefix: "photos/"},
		{Name: "no-read", Capabilities: []string{policy.WriteFiles, policy.ListBuckets}},
	}
	accesses := []*authv1.Access{
		{Capability: policy.ReadFiles, BucketId: "b1", Name: "photos/a"},
		{Capability: policy.ReadFiles, BucketId: "b2", Name: "docs/a"},
		{Capability: policy.ReadFiles, BucketId: "b3", Name: "photos/a"},
		{Capability: policy.WriteFiles, BucketId: "b1", Name: "docs/a"},
		{Capability: policy.ListFiles, BucketId: "b1", Name: ""},
		{Capability: policy.ListBuckets},
		{Capability: policy.ReadFiles, BucketId: "b4", Name: "x", BucketPublic: true},
	}
	kindOf := func(err error) errs.Kind {
		if err == nil {
			return errs.Other
		}
		return errs.KindOf(err)
	}
	type created struct{ id, secret string }
	made := map[string]created{}
	for _, k := range keys {
		id, secret := e.createKey(t, k)
		made[k.Name] = created{id, secret}
	}
	for round := 0; round < 2; round++ { // round 1 is served from the cache
		for _, k := range keys {
			id, secret := made[k.Name].id, made[k.Name].secret
			acct, err := e.auth.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: id, Secret: secret})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range accesses {
				req := signedReq(t, "GET", "http://h/b/x", id, secret)
				want := kindOf(err2(e.auth.VerifySigV4(ctx(t), wire(req, a))))
				var got errs.Kind
				if resp, err := c.VerifySigV4(ctx(t), req); err != nil {
					got = kindOf(err)
				} else {
					got = kindOf(policy.Decide(resp.Principal, a, time.Now()))
				}
				b2 := kindOf(err2(c.VerifyToken(ctx(t), &authv1.VerifyTokenRequest{Token: acct.AuthorizationToken, Access: a})))
				if got != want || b2 != want {
					t.Errorf("round %d, key %s, access %v: cache S3 %v, cache B2 %v, authd %v", round, k.Name, a, got, b2, want)
				}
			}
		}
	}
	if s := c.Stats(); s.Hits == 0 {
		t.Fatalf("nothing was served from the cache: %+v", s)
	}
}

// BenchmarkVerifySigV4 is the cost of authenticating one header-signed
// request: from the cache (what the gateway pays in the steady state) and
// through authd (a gRPC round trip and a metadata read, what it paid
// before the cache).
func BenchmarkVerifySigV4(b *testing.B) {
	e := newEnv(b)
	c := e.cache(b)
	id, secret := e.createKey(b, &authv1.CreateKeyRequest{Name: "bench", Capabilities: []string{policy.ReadFiles}})
	settle(b, e, c, id, secret)
	req := signedReq(b, "GET", "http://h/bucket/some/object.txt?versionId=1", id, secret)
	b.Run("cache", func(b *testing.B) {
		before := c.Stats()
		for i := 0; i < b.N; i++ {
			if _, err := c.VerifySigV4(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
		if c.Stats().Misses != before.Misses {
			b.Fatal("went to authd")
		}
	})
	b.Run("authd", func(b *testing.B) {
		w := wire(req, nil)
		for i := 0; i < b.N; i++ {
			if _, err := e.auth.VerifySigV4(context.Background(), w); err != nil {
				b.Fatal(err)
			}
		}
	})
}
