package fsm

import (
	"bytes"
	"strings"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// applyCommitObject adds an UPLOAD version as the newest version of its key
// and makes it current.
func (w *writer) applyCommitObject(index uint64, now int64, op *fsmv1.CommitObject) *Result {
	v := op.GetVersion()
	if v.GetBucketId() == "" || v.GetKey() == "" || v.GetVersionId() == "" {
		return refuse(errs.Errorf(errs.InvalidArgument, opCommitObject, "bucket id, key and version id are required"))
	}
	tree, ok := w.objects(v.BucketId)
	if !ok {
		return refuse(errs.E(errs.BucketNotFound, opCommitObject, nil).WithBucket(v.BucketId))
	}
	if tree.ids.Get([]byte(v.VersionId)) != nil {
		return refuse(errs.Errorf(errs.Conflict, opCommitObject, "version id %s exists", v.VersionId))
	}
	if e := checkPrecondition(opCommitObject, tree, v.BucketId, v.Key, op.GetPrecondition()); e != nil {
		return refuse(e)
	}
	b, err := w.bucket(v.BucketId)
	must(err)
	if e := applyLockSettings(opCommitObject, b, v, now, true); e != nil {
		return refuse(e)
	}
	v.Action = metadatav1.VersionAction_VERSION_ACTION_UPLOAD
	v.CreateIndex, v.ModifyIndex = index, index
	v.CommitTimeUnixNanos = now
	v.IsLatest = false
	vk := versionKey(v.Key, index)
	w.storeInline(&tree, v)
	data := put(tree.versions, vk, v)
	must(tree.current.Put([]byte(v.Key), data))
	must(tree.ids.Put([]byte(v.VersionId), vk))
	w.addBlobRefs(v)
	w.emit(versionChange(v, false))
	v.IsLatest = true
	return &Result{Version: v}
}

// applyHideObject adds a hide marker as the newest version of a key, which
// takes the key out of the current index.
func (w *writer) applyHideObject(index uint64, now int64, op *fsmv1.HideObject) *Result {
	m := op.GetMarker()
	if m.GetBucketId() == "" || m.GetKey() == "" || m.GetVersionId() == "" {
		return refuse(errs.Errorf(errs.InvalidArgument, opHideObject, "bucket id, key and version id are required"))
	}
	tree, ok := w.objects(m.BucketId)
	if !ok {
		return refuse(errs.E(errs.BucketNotFound, opHideObject, nil).WithBucket(m.BucketId))
	}
	if !tree.hasVersions(m.Key) {
		return refuse(errs.E(errs.ObjectNotFound, opHideObject, nil).WithBucket(m.BucketId).WithKey(m.Key))
	}
	if tree.ids.Get([]byte(m.VersionId)) != nil {
		return refuse(errs.Errorf(errs.Conflict, opHideObject, "version id %s exists", m.VersionId))
	}
	if op.GetFailIfHidden() {
		latest, _, err := tree.latest(m.Key)
		must(err)
		if latest.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
			return refuse(errs.E(errs.AlreadyHidden, opHideObject, nil).WithBucket(m.BucketId).WithKey(m.Key))
		}
	}
	if want := op.GetIfCurrentVersionId(); want != "" {
		cur, err := currentOf(tree, m.Key)
		must(err)
		if cur.GetVersionId() != want {
			return refuse(errs.Errorf(errs.PreconditionFailed, opHideObject, "version %s is no longer current", want).WithBucket(m.BucketId).WithKey(m.Key))
		}
	}
	// A hide marker holds no bytes: it never carries retention or a legal
	// hold, and hiding is allowed whatever locks the hidden versions have.
	m.Retention, m.LegalHold = nil, metadatav1.LegalHold_LEGAL_HOLD_UNSPECIFIED
	m.Action = metadatav1.VersionAction_VERSION_ACTION_HIDE
	m.CreateIndex, m.ModifyIndex = index, index
	m.CommitTimeUnixNanos = now
	m.IsLatest = false
	vk := versionKey(m.Key, index)
	put(tree.versions, vk, m)
	must(tree.ids.Put([]byte(m.VersionId), vk))
	must(tree.current.Delete([]byte(m.Key)))
	w.emit(versionChange(m, false))
	m.IsLatest = true
	return &Result{Version: m}
}

// applyDeleteObjectVersion removes one version. When it was the newest
// non-START version, the next one decides what is current again (deleting a
// hide marker "undeletes" the key).
func (w *writer) applyDeleteObjectVersion(index uint64, now int64, op *fsmv1.DeleteObjectVersion) *Result {
	tree, ok := w.objects(op.GetBucketId())
	if !ok {
		return refuse(errs.E(errs.BucketNotFound, opDeleteObjectVersion, nil).WithBucket(op.GetBucketId()))
	}
	v, vk, err := tree.byID(op.GetVersionId())
	must(err)
	if v == nil || (op.GetKey() != "" && v.GetKey() != op.GetKey()) {
		return refuse(errs.Errorf(errs.VersionNotFound, opDeleteObjectVersion, "no version %s", op.GetVersionId()).WithBucket(op.GetBucketId()).WithKey(op.GetKey()))
	}
	if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_START {
		// Deleting an unfinished large file (B2) cancels it. Locks protect
		// stored objects, not unfinished uploads, so they are not checked.
		if op.GetLifecycleCutoffUnixNanos() != 0 {
			return refuse(errs.Errorf(errs.PreconditionFailed, opDeleteObjectVersion, "lifecycle deletes no unfinished upload").WithBucket(v.BucketId).WithKey(v.Key))
		}
		parts := w.removeUpload(tree, v, vk)
		return &Result{Version: v, Parts: parts}
	}
	if e := lockRefusal(v, now, op.GetBypassGovernance()); e != nil {
		return refuse(e)
	}
	latest, latestKey, err := tree.latest(v.Key)
	must(err)
	wasLatest := latest != nil && string(latestKey) == string(vk)
	if cutoff := op.GetLifecycleCutoffUnixNanos(); cutoff != 0 {
		if e := lifecycleRefusal(tree, v, vk, wasLatest, cutoff); e != nil {
			return refuse(e)
		}
	}

	must(tree.versions.Delete(vk))
	must(tree.ids.Delete([]byte(v.VersionId)))
	w.deleteInline(tree, v)
	w.removeBlobRefs(v)
	if wasLatest {
		next, nextKey, err := tree.latest(v.Key)
		must(err)
		if next.GetAction() == metadatav1.VersionAction_VERSION_ACTION_UPLOAD {
			must(tree.current.Put([]byte(v.Key), bytes.Clone(tree.versions.Get(nextKey))))
		} else {
			must(tree.current.Delete([]byte(v.Key)))
		}
	}
	w.emit(versionChange(v, true))
	v.IsLatest = wasLatest
	return &Result{Version: v}
}

// lockRefusal says whether retention or a legal hold forbids deleting v at
// time now (the leader's stamped request time). Only uploads carry locks
// that matter: a hide marker never has one, and an unfinished upload (whose
// lock is carried over to the completed version) can always be cancelled.
func lockRefusal(v *metadatav1.ObjectVersion, now int64, bypassGovernance bool) *errs.Error {
	if v.GetLegalHold() == metadatav1.LegalHold_LEGAL_HOLD_ON {
		return errs.Errorf(errs.ObjectLocked, opDeleteObjectVersion, "the version is under legal hold").WithBucket(v.BucketId).WithKey(v.Key)
	}
	r := v.GetRetention()
	if r.GetRetainUntilUnixMillis() <= now/1e6 {
		return nil
	}
	switch r.GetMode() {
	case metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE:
		return errs.Errorf(errs.ObjectLocked, opDeleteObjectVersion, "the version is under compliance retention").WithBucket(v.BucketId).WithKey(v.Key)
	case metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE:
		if !bypassGovernance {
			return errs.Errorf(errs.ObjectLocked, opDeleteObjectVersion, "the version is under governance retention").WithBucket(v.BucketId).WithKey(v.Key)
		}
	}
	return nil
}

// checkPrecondition evaluates an S3 conditional write against the key's
// current version, atomically with the write it guards.
func checkPrecondition(op string, tree objectTree, bucketID, key string, p *metadatav1.Precondition) *errs.Error {
	if p == nil {
		return nil
	}
	cur, err := currentOf(tree, key)
	must(err)
	if p.GetIfNoneMatchAny() && cur != nil {
		return errs.Errorf(errs.PreconditionFailed, op, "the key exists (If-None-Match: *)").WithBucket(bucketID).WithKey(key)
	}
	if p.GetIfMatchEtag() != "" {
		if cur == nil {
			return errs.Errorf(errs.ObjectNotFound, op, "the key does not exist (If-Match)").WithBucket(bucketID).WithKey(key)
		}
		if !etagMatches(cur.GetEtag(), p.GetIfMatchEtag()) {
			return errs.Errorf(errs.PreconditionFailed, op, "the current ETag differs (If-Match)").WithBucket(bucketID).WithKey(key)
		}
	}
	return nil
}

// currentOf returns the current (visible, UPLOAD) version of key, or nil.
func currentOf(tree objectTree, key string) (*metadatav1.ObjectVersion, error) {
	data := tree.current.Get([]byte(key))
	if data == nil {
		return nil, nil
	}
	return decodeVersion(data)
}

// etagMatches compares an If-Match value with a stored ETag, ignoring quotes
// and a weak prefix; "*" matches any existing version.
func etagMatches(stored, want string) bool {
	want = strings.TrimPrefix(strings.TrimSpace(want), "W/")
	if want == "*" {
		return true
	}
	return strings.Trim(want, `"`) == strings.Trim(stored, `"`)
}

// addBlobRefs records every blob a version's segments use.
func (w *writer) addBlobRefs(v *metadatav1.ObjectVersion) {
	blobs := w.tx.Bucket(bktBlobs)
	for _, s := range v.GetSegments() {
		if id := s.GetPlacement().GetBlobId(); id != "" {
			must(blobs.Put(blobRef(id, v.BucketId, v.VersionId), []byte{}))
		}
	}
}

// removeBlobRefs drops the references addBlobRefs recorded.
func (w *writer) removeBlobRefs(v *metadatav1.ObjectVersion) {
	blobs := w.tx.Bucket(bktBlobs)
	for _, s := range v.GetSegments() {
		if id := s.GetPlacement().GetBlobId(); id != "" {
			must(blobs.Delete(blobRef(id, v.BucketId, v.VersionId)))
		}
	}
}
