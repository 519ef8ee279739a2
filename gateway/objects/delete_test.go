package objects_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// TestDeleteAndHide checks the layer's delete lifecycle over real
// services: hiding keeps every byte; deleting a version removes it and its
// blob before DeleteVersion returns, even when the caller has gone away
// meanwhile (the removal is committed, so the cleanup is finished).
func TestDeleteAndHide(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := random(1000)
	put := func(key string) *metadatav1.ObjectVersion {
		t.Helper()
		v, err := e.layer.Put(ctx, objects.PutInput{Bucket: e.bucket, Key: key, Body: bytes.NewReader(body),
			Expect: objects.Expect{Size: int64(len(body))}, ContentType: "application/octet-stream"})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	blobOf := func(v *metadatav1.ObjectVersion) *metadatav1.Part {
		return &metadatav1.Part{Segment: v.GetSegments()[0]}
	}
	v := put("doc")
	marker, err := e.layer.Hide(ctx, &metadatav1.HideObjectRequest{BucketId: e.bucket.GetBucketId(), Key: "doc"})
	if err != nil || marker.GetAction() != metadatav1.VersionAction_VERSION_ACTION_HIDE {
		t.Fatalf("hide: %v %v", marker, err)
	}
	e.present(t, blobOf(v))

	gone, err := e.layer.DeleteVersion(ctx, &metadatav1.DeleteObjectVersionRequest{
		BucketId: e.bucket.GetBucketId(), Key: "doc", VersionId: v.GetVersionId()})
	if err != nil || gone.GetVersionId() != v.GetVersionId() {
		t.Fatalf("delete: %v %v", gone, err)
	}
	e.gone(t, blobOf(v))
	if _, err := e.meta.GetObject(ctx, &metadatav1.GetObjectRequest{BucketId: e.bucket.GetBucketId(), Key: "doc", VersionId: v.GetVersionId()}); !errs.Is(err, errs.VersionNotFound) && !errs.Is(err, errs.ObjectNotFound) {
		t.Fatalf("deleted version still readable: %v", err)
	}
	if _, err := e.layer.DeleteVersion(ctx, &metadatav1.DeleteObjectVersionRequest{
		BucketId: e.bucket.GetBucketId(), Key: "doc", VersionId: marker.GetVersionId()}); err != nil {
		t.Fatalf("delete marker: %v", err)
	}

	// A caller that goes away once the removal is committed does not
	// stop the cleanup: the blob is gone when DeleteVersion returns.
	v2 := put("doc2")
	cctx, cancel := context.WithCancel(ctx)
	e.layer.SetBeforeBlobDeleteForTest(cancel)
	defer e.layer.SetBeforeBlobDeleteForTest(nil)
	if _, err := e.layer.DeleteVersion(cctx, &metadatav1.DeleteObjectVersionRequest{
		BucketId: e.bucket.GetBucketId(), Key: "doc2", VersionId: v2.GetVersionId()}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	e.gone(t, blobOf(v2))
}
