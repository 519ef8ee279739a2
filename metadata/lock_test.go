package metadata

import (
	"testing"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const (
	governance = metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE
	compliance = metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE
)

// TestObjectLockRPCs: the lock rules as the front-ends see them over gRPC.
func TestObjectLockRPCs(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	n := startNodeWith(t, testConfig(t), Deps{Now: clock.Now})
	plain := mustBucket(t, n, "plain-bucket")
	resp, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: "locked-bucket", FileLock: &metadatav1.FileLockConfiguration{Enabled: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	locked := resp.Bucket
	ms := clock.Now().UnixMilli()

	// Bucket settings: a default needs the lock; the lock cannot be disabled.
	_, err = n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: plain.BucketId, FileLock: &metadatav1.FileLockConfiguration{
		DefaultMode: governance, DefaultPeriod: 1, DefaultPeriodUnit: metadatav1.PeriodUnit_PERIOD_UNIT_DAYS}})
	wantKind(t, err, errs.InvalidRequest)
	_, err = n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: locked.BucketId, FileLock: &metadatav1.FileLockConfiguration{}})
	wantKind(t, err, errs.InvalidBucketState)
	_, err = n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: locked.BucketId, FileLock: &metadatav1.FileLockConfiguration{
		Enabled: true, DefaultMode: compliance, DefaultPeriod: 0, DefaultPeriodUnit: metadatav1.PeriodUnit_PERIOD_UNIT_DAYS}})
	wantKind(t, err, errs.InvalidArgument)
	if _, err := n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: plain.BucketId, FileLock: &metadatav1.FileLockConfiguration{Enabled: true}}); err != nil {
		t.Fatalf("enabling the lock later: %v", err)
	}
	_, err = n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: plain.BucketId, SetLifecycleRules: true,
		LifecycleRules: []*metadatav1.LifecycleRule{{FileNamePrefix: "x", DaysFromUploadingToHiding: days(0)}}})
	wantKind(t, err, errs.InvalidArgument)

	// A version with retention on a bucket without lock is refused.
	other := mustBucket(t, n, "other-bucket")
	_, err = n.meta.CommitObject(ctx(t), &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{
		BucketId: other.BucketId, Key: "k", Retention: &metadatav1.Retention{Mode: governance, RetainUntilUnixMillis: ms + 1000}}})
	wantKind(t, err, errs.InvalidRequest)

	v := put(t, n, locked.BucketId, "k", "e")
	retain := func(mode metadatav1.RetentionMode, until int64, bypass bool) error {
		_, err := n.meta.UpdateObjectRetention(ctx(t), &metadatav1.UpdateObjectRetentionRequest{
			BucketId: locked.BucketId, Key: "k", VersionId: v.VersionId, Retention: &metadatav1.Retention{Mode: mode, RetainUntilUnixMillis: until}, BypassGovernance: bypass})
		return err
	}
	del := func(bypass bool) error {
		_, err := n.meta.DeleteObjectVersion(ctx(t), &metadatav1.DeleteObjectVersionRequest{BucketId: locked.BucketId, Key: "k", VersionId: v.VersionId, BypassGovernance: bypass})
		return err
	}
	hour := int64(3600 * 1000)
	for _, step := range []struct {
		name string
		err  error
		want errs.Kind
	}{
		{"governance", retain(governance, ms+hour, false), 0},
		{"delete under governance", del(false), errs.ObjectLocked},
		{"shorten governance", retain(governance, ms+hour/2, false), errs.ObjectLocked},
		{"shorten governance with bypass", retain(governance, ms+hour/2, true), 0},
		{"to compliance", retain(compliance, ms+hour, false), 0},
		{"remove compliance with bypass", retain(metadatav1.RetentionMode_RETENTION_MODE_UNSPECIFIED, 0, true), errs.ObjectLocked},
		{"extend compliance", retain(compliance, ms+2*hour, false), 0},
		{"delete under compliance with bypass", del(true), errs.ObjectLocked},
		{"in the past", retain(compliance, ms-1, false), errs.InvalidArgument},
		{"no mode with a date", retain(7, ms+hour, false), errs.InvalidArgument},
	} {
		if got := errs.KindOf(step.err); got != step.want && !(step.want == 0 && step.err == nil) {
			t.Fatalf("%s: %v, want %v", step.name, step.err, step.want)
		}
	}
	// Hiding is always allowed; a hide marker cannot be locked.
	hidden, err := n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: locked.BucketId, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.meta.UpdateObjectLegalHold(ctx(t), &metadatav1.UpdateObjectLegalHoldRequest{BucketId: locked.BucketId, VersionId: hidden.Marker.VersionId, LegalHold: metadatav1.LegalHold_LEGAL_HOLD_ON})
	wantKind(t, err, errs.MethodNotAllowed)
	// Legal hold blocks deletion after the retention ends.
	if _, err := n.meta.UpdateObjectLegalHold(ctx(t), &metadatav1.UpdateObjectLegalHoldRequest{VersionId: v.VersionId, LegalHold: metadatav1.LegalHold_LEGAL_HOLD_ON}); err != nil {
		t.Fatal(err)
	}
	clock.Add(3 * time.Hour)
	wantKind(t, del(false), errs.ObjectLocked)
	if _, err := n.meta.UpdateObjectLegalHold(ctx(t), &metadatav1.UpdateObjectLegalHoldRequest{VersionId: v.VersionId, LegalHold: metadatav1.LegalHold_LEGAL_HOLD_OFF}); err != nil {
		t.Fatal(err)
	}
	if err := del(false); err != nil {
		t.Fatalf("delete after the locks ended: %v", err)
	}
	_, err = n.meta.UpdateObjectLegalHold(ctx(t), &metadatav1.UpdateObjectLegalHoldRequest{VersionId: v.VersionId, LegalHold: 0})
	wantKind(t, err, errs.InvalidArgument)

	// Retention given at start travels to the completed version; an
	// upload under retention can still be aborted.
	sresp, err := n.meta.StartUpload(ctx(t), &metadatav1.StartUploadRequest{Version: &metadatav1.ObjectVersion{
		BucketId: locked.BucketId, Key: "big", Retention: &metadatav1.Retention{Mode: compliance, RetainUntilUnixMillis: clock.Now().UnixMilli() + hour}}})
	if err != nil {
		t.Fatal(err)
	}
	commitPart(t, n, sresp.Upload.VersionId, 1, "x", "blob-x")
	done, err := n.meta.CompleteUpload(ctx(t), &metadatav1.CompleteUploadRequest{UploadId: sresp.Upload.VersionId, Parts: []*metadatav1.PartRef{{PartNumber: 1}}})
	if err != nil || done.Version.GetRetention().GetMode() != compliance {
		t.Fatalf("completed %v %v", done, err)
	}
	sresp, err = n.meta.StartUpload(ctx(t), &metadatav1.StartUploadRequest{Version: &metadatav1.ObjectVersion{
		BucketId: locked.BucketId, Key: "big2", LegalHold: metadatav1.LegalHold_LEGAL_HOLD_ON}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.meta.AbortUpload(ctx(t), &metadatav1.AbortUploadRequest{UploadId: sresp.Upload.VersionId}); err != nil {
		t.Fatalf("abort of a held upload: %v", err)
	}
}
