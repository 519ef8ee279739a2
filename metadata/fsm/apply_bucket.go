package fsm

import (
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Operation names used in refusals.
const (
	opInitAccount         = "metadata.InitAccount"
	opCreateBucket        = "metadata.CreateBucket"
	opUpdateBucket        = "metadata.UpdateBucket"
	opDeleteBucket        = "metadata.DeleteBucket"
	opSetBucketCors       = "metadata.SetBucketCors"
	opCommitObject        = "metadata.CommitObject"
	opHideObject          = "metadata.HideObject"
	opDeleteObjectVersion = "metadata.DeleteObjectVersion"
	opStartUpload         = "metadata.StartUpload"
	opCreateKey           = "metadata.CreateKey"
	opDeleteKey           = "metadata.DeleteKey"
	opUpdatePlacement     = "metadata.UpdatePlacement"
	opSetMember           = "metadata.RegisterMember"
	opRemoveMember        = "metadata.RemoveServer"
)

// applyInitAccount stores the account once; later commands return the stored one.
func (w *writer) applyInitAccount(index uint64, op *fsmv1.InitAccount) *Result {
	stored, err := w.account()
	must(err)
	if stored != nil {
		return &Result{Account: stored}
	}
	a := op.GetAccount()
	if a.GetAccountId() == "" {
		return refuse(errs.Errorf(errs.InvalidArgument, opInitAccount, "account id is required"))
	}
	put(w.tx.Bucket(bktMeta), keyAccount, a)
	w.emit(&metadatav1.Change{Kind: metadatav1.ChangeKind_CHANGE_KIND_ACCOUNT})
	return &Result{Account: a}
}

// applyCreateBucket creates a bucket, its name entry and its object tree.
func (w *writer) applyCreateBucket(index uint64, op *fsmv1.CreateBucket) *Result {
	b := op.GetBucket()
	if b.GetBucketId() == "" || b.GetName() == "" {
		return refuse(errs.Errorf(errs.InvalidArgument, opCreateBucket, "bucket id and name are required"))
	}
	names := w.tx.Bucket(bktBucketNames)
	if names.Get(nameKey(b.Name)) != nil {
		return refuse(errs.E(errs.BucketAlreadyExists, opCreateBucket, nil).WithBucket(b.Name))
	}
	buckets := w.tx.Bucket(bktBuckets)
	if buckets.Get([]byte(b.BucketId)) != nil {
		return refuse(errs.Errorf(errs.Conflict, opCreateBucket, "bucket id %s is taken", b.BucketId))
	}
	b.Revision = 1
	b.CreateIndex, b.ModifyIndex, b.CorsIndex = index, index, index
	put(buckets, []byte(b.BucketId), b)
	must(names.Put(nameKey(b.Name), []byte(b.BucketId)))
	tree, err := w.tx.Bucket(bktObjects).CreateBucket([]byte(b.BucketId))
	must(err)
	for _, sub := range treeBuckets {
		_, err := tree.CreateBucket(sub)
		must(err)
	}
	w.emit(bucketChange(b, false))
	if len(b.CorsRules) > 0 {
		w.emit(corsChange(b, false))
	}
	return &Result{Bucket: b}
}

// applyUpdateBucket replaces each setting present in the update.
func (w *writer) applyUpdateBucket(index uint64, op *fsmv1.UpdateBucket) *Result {
	u := op.GetUpdate()
	b, err := w.bucket(u.GetBucketId())
	must(err)
	if b == nil {
		return refuse(errs.E(errs.BucketNotFound, opUpdateBucket, nil).WithBucket(u.GetBucketId()))
	}
	if u.GetIfRevisionIs() != 0 && u.GetIfRevisionIs() != b.Revision {
		return refuse(errs.Errorf(errs.Conflict, opUpdateBucket, "revision is %d, not %d", b.Revision, u.GetIfRevisionIs()).WithBucket(b.Name))
	}
	if u.FileLock != nil && b.GetFileLock().GetEnabled() && !u.FileLock.GetEnabled() {
		return refuse(errs.Errorf(errs.InvalidBucketState, opUpdateBucket, "file lock cannot be disabled once enabled").WithBucket(b.Name))
	}
	if u.Type != nil {
		b.Type = u.GetType()
	}
	if u.GetSetInfo() {
		b.Info = u.GetInfo()
	}
	if u.GetSetCorsRules() {
		b.CorsRules = u.GetCorsRules()
		b.CorsIndex = index
	}
	if u.GetSetLifecycleRules() {
		b.LifecycleRules = u.GetLifecycleRules()
	}
	if u.DefaultEncryption != nil {
		b.DefaultEncryption = u.DefaultEncryption
	}
	if u.FileLock != nil {
		b.FileLock = u.FileLock
	}
	b.Revision++
	b.ModifyIndex = index
	put(w.tx.Bucket(bktBuckets), []byte(b.BucketId), b)
	w.emit(bucketChange(b, false))
	if u.GetSetCorsRules() {
		w.emit(corsChange(b, false))
	}
	return &Result{Bucket: b}
}

// applySetBucketCors replaces a bucket's CORS rules.
func (w *writer) applySetBucketCors(index uint64, op *fsmv1.SetBucketCors) *Result {
	b, err := w.bucket(op.GetBucketId())
	must(err)
	if b == nil {
		return refuse(errs.E(errs.BucketNotFound, opSetBucketCors, nil).WithBucket(op.GetBucketId()))
	}
	b.CorsRules = op.GetRules()
	b.CorsIndex, b.ModifyIndex = index, index
	b.Revision++
	put(w.tx.Bucket(bktBuckets), []byte(b.BucketId), b)
	w.emit(bucketChange(b, false))
	w.emit(corsChange(b, false))
	return &Result{Bucket: b}
}

// applyDeleteBucket deletes a bucket that holds no version and no unfinished
// upload (both live in the bucket's v/ tree).
func (w *writer) applyDeleteBucket(index uint64, op *fsmv1.DeleteBucket) *Result {
	b, err := w.bucket(op.GetBucketId())
	must(err)
	if b == nil {
		return refuse(errs.E(errs.BucketNotFound, opDeleteBucket, nil).WithBucket(op.GetBucketId()))
	}
	if tree, ok := w.objects(b.BucketId); ok {
		if k, _ := tree.versions.Cursor().First(); k != nil {
			e := errs.E(errs.BucketNotEmpty, opDeleteBucket, nil).WithBucket(b.Name)
			if u, _ := tree.uploads.Cursor().First(); u != nil {
				// Front-ends can say why: S3 users rarely see their unfinished uploads.
				e.WithDetail("unfinished_uploads", "true")
			}
			return refuse(e)
		}
		must(w.tx.Bucket(bktObjects).DeleteBucket([]byte(b.BucketId)))
	}
	must(w.tx.Bucket(bktBuckets).Delete([]byte(b.BucketId)))
	must(w.tx.Bucket(bktBucketNames).Delete(nameKey(b.Name)))
	w.emit(bucketChange(b, true))
	w.emit(corsChange(b, true))
	return &Result{Bucket: b}
}

// applyCreateKey stores an application key under its (unique) id.
func (w *writer) applyCreateKey(index uint64, op *fsmv1.CreateKey) *Result {
	k := op.GetKey()
	if k.GetKeyId() == "" {
		return refuse(errs.Errorf(errs.InvalidArgument, opCreateKey, "key id is required"))
	}
	keys := w.tx.Bucket(bktKeys)
	if keys.Get([]byte(k.KeyId)) != nil {
		return refuse(errs.Errorf(errs.Conflict, opCreateKey, "key id %s exists", k.KeyId))
	}
	k.CreateIndex = index
	put(keys, []byte(k.KeyId), k)
	w.emit(keyChange(k, false))
	return &Result{Key: k}
}

// applyDeleteKey deletes an application key and returns it.
func (w *writer) applyDeleteKey(index uint64, op *fsmv1.DeleteKey) *Result {
	k, err := w.key(op.GetKeyId())
	must(err)
	if k == nil {
		return refuse(errs.Errorf(errs.KeyNotFound, opDeleteKey, "no key %s", op.GetKeyId()))
	}
	must(w.tx.Bucket(bktKeys).Delete([]byte(k.KeyId)))
	w.emit(keyChange(k, true))
	return &Result{Key: k}
}
