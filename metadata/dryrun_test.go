package metadata

import (
	"slices"
	"testing"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// actionStrings renders actions as "kind key version" (a hide marker as
// "marker"), sorted: a real pass acts concurrently, in no fixed order.
func actionStrings(actions []*metadatav1.LifecycleAction, ids map[string]string) []string {
	var out []string
	for _, a := range actions {
		v := ids[a.VersionId]
		if a.HideMarker {
			v = "marker"
		}
		out = append(out, map[metadatav1.LifecycleActionKind]string{
			metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_HIDE:   "hide",
			metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_DELETE: "delete",
			metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_ABORT:  "abort",
		}[a.Kind]+" "+a.Key+" "+v)
	}
	slices.Sort(out)
	return out
}

// TestLifecycleDryRun: a dry pass as of 40 days ahead lists exactly what
// the rules call for — including what a pass does to the hide markers it
// adds itself — changes nothing, and a real pass at the same time then
// does exactly that.
func TestLifecycleDryRun(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	cfg := testConfig(t)
	cfg.LifecycleBatch = 2
	n := startNodeWith(t, cfg, Deps{Now: clock.Now})
	resp, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: "dry-bucket", FileLock: &metadatav1.FileLockConfiguration{Enabled: true},
		LifecycleRules: []*metadatav1.LifecycleRule{
			{FileNamePrefix: "logs/", DaysFromUploadingToHiding: days(10)},
			{FileNamePrefix: "old/", DaysFromHidingToDeleting: days(30)},
			{FileNamePrefix: "up/", DaysFromStartingToCancelingUnfinishedLargeFiles: days(7)},
			{FileNamePrefix: "both/", DaysFromUploadingToHiding: days(10), DaysFromHidingToDeleting: days(1)},
			{FileNamePrefix: "young/", DaysFromUploadingToHiding: days(41)},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Bucket
	ids := map[string]string{} // version id → a readable name
	name := func(label string, v *metadatav1.ObjectVersion) { ids[v.VersionId] = label }
	name("a1", put(t, n, b.BucketId, "logs/a", "e"))
	put(t, n, b.BucketId, "logs/b", "e")
	name("b2", put(t, n, b.BucketId, "logs/b", "e"))
	put(t, n, b.BucketId, "other/x", "e")
	name("k1", put(t, n, b.BucketId, "old/k", "e"))
	put(t, n, b.BucketId, "old/k", "e")
	held := put(t, n, b.BucketId, "old/held", "e")
	if _, err := n.meta.UpdateObjectLegalHold(ctx(t), &metadatav1.UpdateObjectLegalHoldRequest{BucketId: b.BucketId, VersionId: held.VersionId, LegalHold: metadatav1.LegalHold_LEGAL_HOLD_ON}); err != nil {
		t.Fatal(err)
	}
	put(t, n, b.BucketId, "old/held", "e")
	name("u", startUpload(t, n, b.BucketId, "up/u"))
	startUpload(t, n, b.BucketId, "logs/unfinished")
	name("z1", put(t, n, b.BucketId, "both/z", "e"))
	put(t, n, b.BucketId, "young/y", "e")
	before := keysOf(t, n, b.BucketId)

	// What B2's rules do by day 40: logs/ files are hidden (10 days); the
	// old/ version non-current since day 0 is deleted (30 days), the held
	// one is not; the up/ upload is cancelled (7 days); both/z is hidden on
	// day 10, deleted a day later, and its marker, then alone, goes too;
	// young/ files are not 41 days old yet.
	want := []string{"abort up/u u", "delete both/z marker", "delete both/z z1", "delete old/k k1",
		"hide both/z z1", "hide logs/a a1", "hide logs/b b2"}
	later := clock.Now().Add(40 * 24 * time.Hour)
	dry, err := n.srv.runLifecycle(ctx(t), later, lifecycleOptions{dry: true, maxActions: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := actionStrings(dry.actions, ids); !slices.Equal(got, want) {
		t.Fatalf("dry run lists\n %v\nwant\n %v", got, want)
	}
	if st := dry.stats; st.Hidden != 3 || st.Deleted != 3 || st.Aborted != 1 || st.SkippedLocked != 1 {
		t.Fatalf("dry run counts %+v", st)
	}
	if got := keysOf(t, n, b.BucketId); !slices.Equal(got, before) {
		t.Fatalf("a dry run changed the bucket:\n got %v\nwant %v", got, before)
	}
	// The real pass at the same time does exactly what the dry one listed.
	real, err := n.srv.runLifecycle(ctx(t), later, lifecycleOptions{maxActions: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := actionStrings(real.actions, ids); !slices.Equal(got, want) {
		t.Fatalf("real run did\n %v\nwant\n %v", got, want)
	}
	after := []string{"logs/a:hide", "logs/a:up", "logs/b:hide", "logs/b:up", "logs/b:up", "logs/unfinished:start",
		"old/held:up", "old/held:up", "old/k:up", "other/x:up", "young/y:up"}
	if got := keysOf(t, n, b.BucketId); !equalStrings(got, after) {
		t.Fatalf("after the pass:\n got %v\nwant %v", got, after)
	}
	// A bound on the list keeps the counts whole.
	again, err := n.srv.runLifecycle(ctx(t), later.Add(24*time.Hour), lifecycleOptions{dry: true, maxActions: 0})
	if err != nil || len(again.actions) != 0 || again.omitted != 0 {
		t.Fatalf("dry run with no list: %v %v", again.actions, err)
	}
}
