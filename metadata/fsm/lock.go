package fsm

import (
	"time"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Object lock (S3 Object Lock, B2 file lock).
//
// A bucket's file_lock can be enabled at creation or later, never disabled
// (applyUpdateBucket). Only then may versions carry retention or a legal
// hold. A bucket's default retention is stamped on every new upload (a
// commit, a copy, a started upload) that carries none; the retain-until is
// computed here from the command's stamped request time, which keeps apply
// deterministic (no clock is read) and makes the default atomic with the
// bucket setting it comes from. Retention and legal hold given to a START
// version travel with it to the completed version.
//
// Rules (checked in apply, with the stamped time as "now"):
//   - DeleteObjectVersion refuses an upload under a legal hold, under active
//     compliance retention, or under active governance retention unless
//     bypass_governance (lockRefusal).
//   - UpdateObjectRetention may always lengthen; under active compliance it
//     may not shorten, remove or downgrade to governance; under active
//     governance it may do so only with bypass_governance.
//   - Hiding is always allowed, and hide markers never carry a lock.

const (
	opUpdateObjectRetention = "metadata.UpdateObjectRetention"
	opUpdateObjectLegalHold = "metadata.UpdateObjectLegalHold"
)

const (
	modeNone       = metadatav1.RetentionMode_RETENTION_MODE_UNSPECIFIED
	modeGovernance = metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE
	modeCompliance = metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE
)

// DefaultRetention is the retention a bucket's default gives a version
// created at now (Unix nanoseconds), or nil when the bucket has none.
func DefaultRetention(fl *metadatav1.FileLockConfiguration, now int64) *metadatav1.Retention {
	if !fl.GetEnabled() || fl.GetDefaultMode() == modeNone || fl.GetDefaultPeriod() <= 0 {
		return nil
	}
	t := time.Unix(0, now).UTC()
	switch fl.GetDefaultPeriodUnit() {
	case metadatav1.PeriodUnit_PERIOD_UNIT_DAYS:
		t = t.AddDate(0, 0, int(fl.GetDefaultPeriod()))
	case metadatav1.PeriodUnit_PERIOD_UNIT_YEARS:
		t = t.AddDate(int(fl.GetDefaultPeriod()), 0, 0)
	default:
		return nil
	}
	return &metadatav1.Retention{Mode: fl.GetDefaultMode(), RetainUntilUnixMillis: t.UnixMilli()}
}

// applyLockSettings checks the lock fields of a new version against its
// bucket and stamps the bucket's default retention when the version has
// none. requireFuture refuses a retain-until in the past (a fresh request;
// a completed upload keeps whatever its start carried).
func applyLockSettings(op string, b *metadatav1.Bucket, v *metadatav1.ObjectVersion, now int64, requireFuture bool) *errs.Error {
	r := v.GetRetention()
	if r.GetMode() == modeNone {
		v.Retention = nil
	}
	fl := b.GetFileLock()
	if !fl.GetEnabled() {
		if v.Retention != nil || v.GetLegalHold() == metadatav1.LegalHold_LEGAL_HOLD_ON {
			return errs.Errorf(errs.InvalidRequest, op, "retention and legal hold need a bucket with file lock (object lock) enabled").WithBucket(b.GetName()).WithKey(v.GetKey())
		}
		return nil
	}
	if v.Retention != nil {
		if requireFuture && r.GetRetainUntilUnixMillis() <= now/1e6 {
			return errs.Errorf(errs.InvalidArgument, op, "the retain-until date must be in the future").WithBucket(b.GetName()).WithKey(v.GetKey())
		}
		return nil
	}
	v.Retention = DefaultRetention(fl, now)
	return nil
}

// retentionActive reports whether r still protects at now (Unix nanoseconds).
func retentionActive(r *metadatav1.Retention, now int64) bool {
	return r.GetMode() != modeNone && r.GetRetainUntilUnixMillis() > now/1e6
}

// retentionChangeRefusal says whether changing retention from old to next
// at now is forbidden.
func retentionChangeRefusal(v *metadatav1.ObjectVersion, next *metadatav1.Retention, now int64, bypass bool) *errs.Error {
	old := v.GetRetention()
	if !retentionActive(old, now) {
		return nil
	}
	weaker := next.GetMode() == modeNone || next.GetRetainUntilUnixMillis() < old.GetRetainUntilUnixMillis() ||
		(old.GetMode() == modeCompliance && next.GetMode() != modeCompliance)
	switch {
	case !weaker:
		return nil
	case old.GetMode() == modeCompliance:
		return errs.Errorf(errs.ObjectLocked, opUpdateObjectRetention, "compliance retention can only be extended").WithBucket(v.BucketId).WithKey(v.Key)
	case !bypass:
		return errs.Errorf(errs.ObjectLocked, opUpdateObjectRetention, "governance retention can be shortened or removed only when bypassing governance").WithBucket(v.BucketId).WithKey(v.Key)
	}
	return nil
}

// lockTarget finds the version a lock update is about, in a bucket with
// file lock enabled; hide markers cannot be locked.
func (w *writer) lockTarget(op, bucketID, key, versionID string) (*metadatav1.ObjectVersion, objectTree, []byte, *errs.Error) {
	tree, ok := w.objects(bucketID)
	if !ok {
		return nil, tree, nil, errs.E(errs.BucketNotFound, op, nil).WithBucket(bucketID)
	}
	v, vk, err := tree.byID(versionID)
	must(err)
	if v == nil || (key != "" && v.GetKey() != key) {
		return nil, tree, nil, errs.Errorf(errs.VersionNotFound, op, "no version %s", versionID).WithBucket(bucketID).WithKey(key)
	}
	b, err := w.bucket(bucketID)
	must(err)
	if !b.GetFileLock().GetEnabled() {
		return nil, tree, nil, errs.Errorf(errs.InvalidRequest, op, "file lock (object lock) is not enabled on the bucket").WithBucket(b.GetName()).WithKey(v.Key)
	}
	if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
		return nil, tree, nil, errs.Errorf(errs.MethodNotAllowed, op, "a hide marker (delete marker) cannot be locked").WithBucket(bucketID).WithKey(v.Key)
	}
	return v, tree, vk, nil
}

// applyUpdateObjectRetention sets (or removes, with mode unspecified) a
// version's retention.
func (w *writer) applyUpdateObjectRetention(index uint64, now int64, op *fsmv1.UpdateObjectRetention) *Result {
	v, tree, vk, e := w.lockTarget(opUpdateObjectRetention, op.GetBucketId(), op.GetKey(), op.GetVersionId())
	if e != nil {
		return refuse(e)
	}
	next := op.GetRetention()
	if next.GetMode() == modeNone {
		next = nil
	} else if next.GetRetainUntilUnixMillis() <= now/1e6 {
		return refuse(errs.Errorf(errs.InvalidArgument, opUpdateObjectRetention, "the retain-until date must be in the future").WithBucket(v.BucketId).WithKey(v.Key))
	}
	if e := retentionChangeRefusal(v, next, now, op.GetBypassGovernance()); e != nil {
		return refuse(e)
	}
	v.Retention = next
	w.rewriteVersion(index, tree, v, vk)
	return &Result{Version: v}
}

// applyUpdateObjectLegalHold sets a version's legal hold (on or off).
func (w *writer) applyUpdateObjectLegalHold(index uint64, op *fsmv1.UpdateObjectLegalHold) *Result {
	v, tree, vk, e := w.lockTarget(opUpdateObjectLegalHold, op.GetBucketId(), op.GetKey(), op.GetVersionId())
	if e != nil {
		return refuse(e)
	}
	v.LegalHold = op.GetLegalHold()
	w.rewriteVersion(index, tree, v, vk)
	return &Result{Version: v}
}

// rewriteVersion stores a changed version record under its v/ key, and in
// c/ when it is its key's current version, and emits the change.
func (w *writer) rewriteVersion(index uint64, tree objectTree, v *metadatav1.ObjectVersion, vk []byte) {
	v.ModifyIndex = index
	v.IsLatest = false
	data := put(tree.versions, vk, v)
	cur, err := currentOf(tree, v.GetKey())
	must(err)
	if cur.GetVersionId() == v.GetVersionId() {
		must(tree.current.Put([]byte(v.GetKey()), data))
		v.IsLatest = true
	}
	w.emit(versionChange(v, false))
}
