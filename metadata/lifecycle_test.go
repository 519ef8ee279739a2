package metadata

import (
	"sync"
	"testing"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// fakeClock is the injected clock (Deps.Now) the lifecycle tests move by days.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func days(n int32) *int32 { return &n }

// keysOf lists every version of a bucket as key:action (newest first per key).
func keysOf(t *testing.T, n *node, bucketID string) []string {
	t.Helper()
	resp, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: bucketID, IncludeUnfinished: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range resp.Versions {
		out = append(out, v.Key+":"+map[metadatav1.VersionAction]string{
			metadatav1.VersionAction_VERSION_ACTION_UPLOAD: "up", metadatav1.VersionAction_VERSION_ACTION_HIDE: "hide", metadatav1.VersionAction_VERSION_ACTION_START: "start",
		}[v.Action])
	}
	return out
}

func runPass(t *testing.T, n *node) LifecycleStats {
	t.Helper()
	st, err := n.srv.RunLifecycleOnce(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLifecycleRules drives each rule with the injected clock: prefixes
// select what a rule touches, ages are measured from upload, from the
// moment a version stopped being current and from an upload's start, lone
// hide markers go, and locked versions are skipped.
func TestLifecycleRules(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	cfg := testConfig(t)
	cfg.LifecycleBatch = 2 // many small steps: paging and cross-step state are exercised
	n := startNodeWith(t, cfg, Deps{Now: clock.Now})
	resp, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: "lifecycle-bucket", FileLock: &metadatav1.FileLockConfiguration{Enabled: true},
		LifecycleRules: []*metadatav1.LifecycleRule{
			{FileNamePrefix: "logs/", DaysFromUploadingToHiding: days(1)},
			{FileNamePrefix: "old/", DaysFromHidingToDeleting: days(2)},
			{FileNamePrefix: "up/", DaysFromStartingToCancelingUnfinishedLargeFiles: days(1)},
			{FileNamePrefix: "both/", DaysFromUploadingToHiding: days(1), DaysFromHidingToDeleting: days(1)},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Bucket
	// Day 0.
	put(t, n, b.BucketId, "logs/a", "e")
	put(t, n, b.BucketId, "logs/b", "e")
	put(t, n, b.BucketId, "other/x", "e") // no rule
	put(t, n, b.BucketId, "old/k", "e")
	put(t, n, b.BucketId, "old/k", "e") // the first old/k is non-current from day 0
	held := put(t, n, b.BucketId, "old/held", "e")
	if _, err := n.meta.UpdateObjectLegalHold(ctx(t), &metadatav1.UpdateObjectLegalHoldRequest{BucketId: b.BucketId, VersionId: held.VersionId, LegalHold: metadatav1.LegalHold_LEGAL_HOLD_ON}); err != nil {
		t.Fatal(err)
	}
	put(t, n, b.BucketId, "old/held", "e")
	startUpload(t, n, b.BucketId, "up/u")
	startUpload(t, n, b.BucketId, "logs/unfinished") // no cancel rule under logs/
	put(t, n, b.BucketId, "both/z", "e")
	if st := runPass(t, n); st.any() {
		t.Fatalf("day 0 pass did something: %+v", st)
	}

	clock.Add(12 * time.Hour)
	put(t, n, b.BucketId, "logs/b", "e") // younger: not hidden on day 1
	clock.Add(13 * time.Hour)            // day 1 + 1h
	st := runPass(t, n)
	if st.Hidden != 2 || st.Aborted != 1 || st.Deleted != 0 || st.SkippedLocked != 0 {
		t.Fatalf("day 1 pass: %+v", st)
	}
	want := []string{"both/z:hide", "both/z:up", "logs/a:hide", "logs/a:up", "logs/b:up", "logs/b:up", "logs/unfinished:start",
		"old/held:up", "old/held:up", "old/k:up", "old/k:up", "other/x:up"}
	if got := keysOf(t, n, b.BucketId); !equalStrings(got, want) {
		t.Fatalf("after day 1:\n got %v\nwant %v", got, want)
	}

	clock.Add(24 * time.Hour) // day 2 + 1h
	st = runPass(t, n)
	// logs/b is hidden now; old/k's first version goes (non-current for 2
	// days); old/held's first stays (legal hold); both/z's upload went
	// non-current on day 1 and its lone marker follows it.
	if st.Hidden != 1 || st.Deleted != 3 || st.SkippedLocked != 1 || st.Conflicts != 0 {
		t.Fatalf("day 2 pass: %+v", st)
	}
	want = []string{"logs/a:hide", "logs/a:up", "logs/b:hide", "logs/b:up", "logs/b:up", "logs/unfinished:start",
		"old/held:up", "old/held:up", "old/k:up", "other/x:up"}
	if got := keysOf(t, n, b.BucketId); !equalStrings(got, want) {
		t.Fatalf("after day 2:\n got %v\nwant %v", got, want)
	}
	// A second pass at the same time has nothing left but the held version.
	if st := runPass(t, n); st.Hidden+st.Deleted+st.Aborted+st.Conflicts != 0 || st.SkippedLocked != 1 {
		t.Fatalf("repeat pass: %+v", st)
	}

	// A pass may be run as of another time (RunLifecycle's now); lock
	// checks still use the real (stamped) clock, so a far-future pass does
	// not delete the held version.
	later := clock.Now().Add(30 * 24 * time.Hour)
	out, err := n.srv.runLifecycle(ctx(t), later, lifecycleOptions{})
	if st := out.stats; err != nil || st.Hidden+st.Deleted+st.Aborted+st.Conflicts != 0 || st.SkippedLocked != 1 {
		t.Fatalf("pass as of 30 days later: %+v %v", st, err)
	}
	// Without an operator's key, RunLifecycle is refused.
	if _, err := n.cluster.RunLifecycle(ctx(t), &metadatav1.RunLifecycleRequest{NowUnixNanos: later.UnixNano()}); err == nil {
		t.Fatal("RunLifecycle without a key was run")
	}
}

// TestLifecycleSkipsRetention: a version under retention is not deleted by
// lifecycle until the retention ends.
func TestLifecycleSkipsRetention(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	n := startNodeWith(t, testConfig(t), Deps{Now: clock.Now})
	resp, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: "retention-bucket",
		FileLock: &metadatav1.FileLockConfiguration{Enabled: true, DefaultMode: metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE,
			DefaultPeriod: 3, DefaultPeriodUnit: metadatav1.PeriodUnit_PERIOD_UNIT_DAYS},
		LifecycleRules: []*metadatav1.LifecycleRule{{DaysFromHidingToDeleting: days(1)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Bucket
	v := put(t, n, b.BucketId, "k", "e")
	if v.GetRetention().GetMode() != metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE {
		t.Fatalf("default retention not stamped: %v", v.Retention)
	}
	if _, err := n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: "k"}); err != nil {
		t.Fatal(err) // hiding is always allowed
	}
	clock.Add(2 * 24 * time.Hour)
	if st := runPass(t, n); st.SkippedLocked != 1 || st.Deleted != 0 {
		t.Fatalf("pass under retention: %+v", st)
	}
	clock.Add(2 * 24 * time.Hour) // retention over
	if st := runPass(t, n); st.Deleted != 2 {
		t.Fatalf("pass after retention: %+v", st) // the version, then its lone marker
	}
	if got := keysOf(t, n, b.BucketId); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
