package authcache_test

import (
	"testing"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/metadata"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// warm verifies one request of each key through c.
func warm(t *testing.T, c *authcache.Cache, keys ...[2]string) {
	t.Helper()
	for _, k := range keys {
		if _, err := c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/b/x", k[0], k[1])); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStreamBreakResumes: while the stream is down nothing is served from
// the cache (requests go to authd, and answers are not stored); the stream
// resumes from the last index, so a key deleted meanwhile is dropped by the
// replayed change while the other entries survive the break.
func TestStreamBreakResumes(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t)
	aID, aSecret := e.createKey(t, &authv1.CreateKeyRequest{Name: "a", Capabilities: []string{policy.ReadFiles}})
	bID, bSecret := e.createKey(t, &authv1.CreateKeyRequest{Name: "b", Capabilities: []string{policy.ReadFiles}})
	settle(t, e, c, aID, aSecret)
	settle(t, e, c, bID, bSecret)

	resume := authcache.Interrupt(c)
	waitFor(t, 5*time.Second, "the stream to break", func() bool { return !c.Live() })
	before := c.Stats()
	warm(t, c, [2]string{bID, bSecret}, [2]string{bID, bSecret})
	if s := c.Stats(); s.Hits != before.Hits || s.Misses != before.Misses+2 {
		t.Fatalf("the cache was used, or stored, while the stream was down: %+v → %+v", before, s)
	}
	if _, err := e.auth.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: e.adminToken(t), KeyId: aID}); err != nil {
		t.Fatal(err)
	}
	resume()
	waitFor(t, 10*time.Second, "the stream to resume", c.Live)
	before = c.Stats()
	warm(t, c, [2]string{bID, bSecret})
	if s := c.Stats(); s.Hits != before.Hits+1 {
		t.Fatalf("entries did not survive a resumed stream: %+v → %+v", before, s)
	}
	wantKind(t, err2(c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/b/x", aID, aSecret))), errs.UnknownAccessKey)
}

// TestCompactedDropsEverything: when the history after the cache's index
// is gone, the resumed stream says compacted, and nothing cached survives.
func TestCompactedDropsEverything(t *testing.T) {
	e := newEnvWith(t, func(c *metadata.Config) { c.WatchRetention = 2 })
	c := e.cache(t)
	id, secret := e.createKey(t, &authv1.CreateKeyRequest{Name: "a", Capabilities: []string{policy.ReadFiles}})
	settle(t, e, c, id, secret)
	resume := authcache.Interrupt(c)
	waitFor(t, 5*time.Second, "the stream to break", func() bool { return !c.Live() })
	for i := 0; i < 5; i++ { // more Raft entries than the watch log keeps
		e.createKey(t, &authv1.CreateKeyRequest{Name: "filler", Capabilities: []string{policy.ReadFiles}})
	}
	resume()
	waitFor(t, 10*time.Second, "the stream to resume", c.Live)
	before := c.Stats()
	warm(t, c, [2]string{id, secret}, [2]string{id, secret})
	if s := c.Stats(); s.Misses != before.Misses+1 || s.Hits != before.Hits+1 {
		t.Fatalf("an entry survived a compacted stream: %+v → %+v", before, s)
	}
}

// TestMetadataDownFailsClosed: with metadata stopped, the stream breaks,
// cached entries are no longer used, and authd cannot read keys: requests
// fail with Unavailable — never allowed. Metadata back on its address, the
// stream resumes and keys work (and can be deleted) again.
func TestMetadataDownFailsClosed(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t)
	id, secret := e.createKey(t, &authv1.CreateKeyRequest{Name: "a", Capabilities: []string{policy.ReadFiles}})
	acct, err := e.auth.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: id, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	token := &authv1.VerifyTokenRequest{Token: acct.AuthorizationToken}
	settle(t, e, c, id, secret)
	if _, err := c.VerifyToken(ctx(t), token); err != nil {
		t.Fatal(err)
	}

	e.meta.stop()
	waitFor(t, 10*time.Second, "the stream to break", func() bool { return !c.Live() })
	for i := 0; i < 3; i++ {
		_, s3err := c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/b/x", id, secret))
		_, b2err := c.VerifyToken(ctx(t), token)
		for _, err := range []error{s3err, b2err} {
			if k := errs.KindOf(err); err == nil || (k != errs.Unavailable && k != errs.DeadlineExceeded && k != errs.NotLeader) {
				t.Fatalf("with metadata down: %v (kind %v), want a failure to retry", err, k)
			}
		}
	}

	e.meta.restart(t)
	waitFor(t, 30*time.Second, "the stream to resume", c.Live)
	waitFor(t, 30*time.Second, "authd to reach metadata again", func() bool {
		_, err := e.auth.ListKeys(ctx(t), &authv1.ListKeysRequest{AccountToken: e.adminToken(t)})
		return err == nil
	})
	warm(t, c, [2]string{id, secret})
	if _, err := e.auth.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{AccountToken: e.adminToken(t), KeyId: id}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the deleted key to be refused", func() bool {
		_, err := c.VerifySigV4(ctx(t), signedReq(t, "GET", "http://h/b/x", id, secret))
		return errs.KindOf(err) == errs.UnknownAccessKey
	})
}
