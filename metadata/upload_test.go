package metadata

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func startUpload(t testing.TB, n *node, bucketID, key string) *metadatav1.ObjectVersion {
	t.Helper()
	resp, err := n.meta.StartUpload(ctx(t), &metadatav1.StartUploadRequest{Version: &metadatav1.ObjectVersion{
		BucketId: bucketID, Key: key, ContentType: "application/octet-stream", Info: map[string]string{"k": "v"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Upload
}

// commitPart records part n of upload with the given body's MD5, stored in blob.
func commitPart(t testing.TB, n *node, uploadID string, number int32, body, blob string) *metadatav1.CommitPartResponse {
	t.Helper()
	resp, err := n.meta.CommitPart(ctx(t), &metadatav1.CommitPartRequest{Part: &metadatav1.Part{
		UploadId: uploadID, PartNumber: number,
		Segment: &metadatav1.Segment{Size: int64(len(body)), Md5: md5Hex(body), Placement: &metadatav1.BlobPlacement{
			BlobId: blob, DataShards: 1, Shards: []*metadatav1.ShardLocation{{Index: 0, NodeId: "blob1"}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func referencedBlobs(t testing.TB, n *node, ids ...string) []string {
	t.Helper()
	resp, err := n.meta.CheckBlobReferences(ctx(t), &metadatav1.CheckBlobReferencesRequest{BlobIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Referenced
}

// TestUploadLifecycle: start → parts (one replaced) → list → complete with a
// subset; the replaced and the unlisted parts' blobs are unreferenced.
func TestUploadLifecycle(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "uploads-bucket")
	before := put(t, n, b.BucketId, "big", "e-old")
	up := startUpload(t, n, b.BucketId, "big")
	if up.Action != metadatav1.VersionAction_VERSION_ACTION_START || bucketOfVersion(up.VersionId) != b.BucketId || up.ContentSha1 != "none" || up.CreateIndex == 0 {
		t.Fatalf("upload %v", up)
	}
	// A version committed while the upload runs is current until it completes.
	during := put(t, n, b.BucketId, "big", "e-during")

	p1 := "part one, long enough"
	commitPart(t, n, up.VersionId, 1, p1, "blob-1")
	commitPart(t, n, up.VersionId, 2, "first try", "blob-2a")
	if r := commitPart(t, n, up.VersionId, 2, "second try!!", "blob-2b"); r.Replaced.GetSegment().GetPlacement().GetBlobId() != "blob-2a" {
		t.Fatalf("replaced %v", r.Replaced)
	}
	commitPart(t, n, up.VersionId, 3, "last", "blob-3")
	if got := referencedBlobs(t, n, "blob-1", "blob-2a", "blob-2b", "blob-3"); fmt.Sprint(got) != "[blob-1 blob-2b blob-3]" {
		t.Fatalf("referenced %v", got)
	}
	// Repair and GC see parts like versions.
	pl, err := n.meta.GetBlobPlacement(ctx(t), &metadatav1.GetBlobPlacementRequest{BlobId: "blob-2b"})
	if err != nil || pl.Placement.GetShards()[0].GetNodeId() != "blob1" {
		t.Fatalf("placement %v %v", pl, err)
	}
	moved, err := n.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-3", Shards: []*metadatav1.ShardLocation{{Index: 0, NodeId: "blob2"}}})
	if err != nil || moved.SegmentsUpdated != 1 {
		t.Fatalf("update placement of a part: %v %v", moved, err)
	}

	// Paging through parts and uploads.
	parts, err := n.meta.ListParts(ctx(t), &metadatav1.ListPartsRequest{UploadId: up.VersionId, PageSize: 2})
	if err != nil || len(parts.Parts) != 2 || parts.NextPartNumber != 3 {
		t.Fatalf("parts %v %v", parts, err)
	}
	parts, err = n.meta.ListParts(ctx(t), &metadatav1.ListPartsRequest{UploadId: up.VersionId, StartPartNumber: 3})
	if err != nil || len(parts.Parts) != 1 || parts.NextPartNumber != 0 || parts.Parts[0].Segment.Placement.Shards[0].NodeId != "blob2" {
		t.Fatalf("parts from 3: %v %v", parts, err)
	}
	got, err := n.meta.GetUpload(ctx(t), &metadatav1.GetUploadRequest{UploadId: up.VersionId})
	if err != nil || got.Upload.Key != "big" || got.Upload.Info["k"] != "v" {
		t.Fatalf("get upload %v %v", got, err)
	}
	uploads, err := n.meta.ListUploads(ctx(t), &metadatav1.ListUploadsRequest{BucketId: b.BucketId})
	if err != nil || len(uploads.Uploads) != 1 || uploads.Uploads[0].VersionId != up.VersionId {
		t.Fatalf("uploads %v %v", uploads, err)
	}
	vers, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, IncludeUnfinished: true})
	if err != nil || len(vers.Versions) != 3 || vers.Versions[0].VersionId != during.VersionId || vers.Versions[1].VersionId != up.VersionId {
		t.Fatalf("versions with unfinished %v %v", vers, err)
	}
	_, err = n.meta.DeleteBucket(ctx(t), &metadatav1.DeleteBucketRequest{BucketId: b.BucketId})
	if wantKind(t, err, errs.BucketNotEmpty); errs.As(err).Details["unfinished_uploads"] != "true" {
		t.Fatalf("delete bucket: %v", err)
	}

	// Complete with parts 1 and 3: part 2 is discarded.
	done, err := n.meta.CompleteUpload(ctx(t), &metadatav1.CompleteUploadRequest{
		UploadId: up.VersionId, MinPartSize: int64(len(p1)),
		Parts: []*metadatav1.PartRef{{PartNumber: 1, Md5: `"` + md5Hex(p1) + `"`}, {PartNumber: 3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := done.Version
	if v.VersionId != up.VersionId || v.Action != metadatav1.VersionAction_VERSION_ACTION_UPLOAD || v.Size != int64(len(p1)+4) ||
		v.CreateTimeUnixNanos != up.CreateTimeUnixNanos || v.CommitTimeUnixNanos < during.CreateTimeUnixNanos || !v.IsLatest ||
		len(done.Discarded) != 1 || done.Discarded[0].PartNumber != 2 {
		t.Fatalf("completed %v, discarded %v", v, done.Discarded)
	}
	sum1, sum3 := md5.Sum([]byte(p1)), md5.Sum([]byte("last"))
	etag := md5.Sum(append(sum1[:], sum3[:]...))
	if want := hex.EncodeToString(etag[:]) + "-2"; v.Etag != want {
		t.Fatalf("etag %s, want %s", v.Etag, want)
	}
	if got := referencedBlobs(t, n, "blob-1", "blob-2b", "blob-3"); fmt.Sprint(got) != "[blob-1 blob-3]" {
		t.Fatalf("referenced after completion %v", got)
	}
	cur, err := n.meta.GetObject(ctx(t), &metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "big"})
	if err != nil || cur.Version.VersionId != up.VersionId {
		t.Fatalf("current %v %v", cur, err)
	}
	vers, _ = n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, IncludeUnfinished: true})
	if len(vers.Versions) != 3 || vers.Versions[0].VersionId != up.VersionId || vers.Versions[2].VersionId != before.VersionId {
		t.Fatalf("versions after completion %v", vers.Versions)
	}
	_, err = n.meta.GetUpload(ctx(t), &metadatav1.GetUploadRequest{UploadId: up.VersionId})
	wantKind(t, err, errs.UploadNotFound)
	_, err = n.meta.CommitPart(ctx(t), &metadatav1.CommitPartRequest{Part: &metadatav1.Part{UploadId: up.VersionId, PartNumber: 1, Segment: &metadatav1.Segment{Md5: md5Hex("")}}})
	wantKind(t, err, errs.UploadNotFound)
}

func TestAbortUpload(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "abort-bucket")
	up := startUpload(t, n, b.BucketId, "k")
	commitPart(t, n, up.VersionId, 1, "x", "blob-x")
	commitPart(t, n, up.VersionId, 2, "y", "blob-y")
	resp, err := n.meta.AbortUpload(ctx(t), &metadatav1.AbortUploadRequest{UploadId: up.VersionId})
	if err != nil || resp.Upload.VersionId != up.VersionId || len(resp.Parts) != 2 {
		t.Fatalf("abort %v %v", resp, err)
	}
	if got := referencedBlobs(t, n, "blob-x", "blob-y"); len(got) != 0 {
		t.Fatalf("referenced after abort %v", got)
	}
	_, err = n.meta.AbortUpload(ctx(t), &metadatav1.AbortUploadRequest{UploadId: up.VersionId})
	wantKind(t, err, errs.UploadNotFound)
	// The bucket is empty again.
	if _, err := n.meta.DeleteBucket(ctx(t), &metadatav1.DeleteBucketRequest{BucketId: b.BucketId}); err != nil {
		t.Fatal(err)
	}
}

func TestUploadErrors(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "errors-bucket")
	up := startUpload(t, n, b.BucketId, "k")
	commitPart(t, n, up.VersionId, 1, "0123456789", "b1")
	commitPart(t, n, up.VersionId, 2, "0123", "b2")
	commitPart(t, n, up.VersionId, 3, "01", "b3")
	complete := func(min int64, refs ...*metadatav1.PartRef) error {
		_, err := n.meta.CompleteUpload(ctx(t), &metadatav1.CompleteUploadRequest{UploadId: up.VersionId, MinPartSize: min, Parts: refs})
		return err
	}
	p := func(n int32, md5 string) *metadatav1.PartRef { return &metadatav1.PartRef{PartNumber: n, Md5: md5} }
	wantKind(t, complete(0), errs.InvalidArgument)
	wantKind(t, complete(0, p(2, ""), p(1, "")), errs.InvalidPartOrder)
	wantKind(t, complete(0, p(1, ""), p(4, "")), errs.InvalidPart)
	err := complete(0, p(1, md5Hex("other")))
	wantKind(t, err, errs.InvalidPart)
	if e := errs.As(err); e.Details["reason"] != "md5_mismatch" || e.Details["part_number"] != "1" {
		t.Fatalf("details %v", e.Details)
	}
	err = complete(5, p(1, ""), p(2, ""), p(3, ""))
	wantKind(t, err, errs.EntityTooSmall)
	if e := errs.As(err); e.Details["part_number"] != "2" {
		t.Fatalf("details %v", e.Details)
	}
	_, err = n.meta.CompleteUpload(ctx(t), &metadatav1.CompleteUploadRequest{UploadId: "not-an-upload", Parts: []*metadatav1.PartRef{p(1, "")}})
	wantKind(t, err, errs.UploadNotFound)
	part := func(number int32, md5 string) error {
		_, err := n.meta.CommitPart(ctx(t), &metadatav1.CommitPartRequest{Part: &metadatav1.Part{UploadId: up.VersionId, PartNumber: number, Segment: &metadatav1.Segment{Size: 1, Md5: md5}}})
		return err
	}
	wantKind(t, part(0, md5Hex("")), errs.InvalidArgument)
	wantKind(t, part(10001, md5Hex("")), errs.InvalidArgument)
	wantKind(t, part(1, ""), errs.InvalidArgument)
	wantKind(t, part(1, "xyz"), errs.InvalidArgument)
	if err := part(10000, md5Hex("")); err != nil {
		t.Fatal(err)
	}
	// Nothing above changed the upload: it still completes.
	if err := complete(5, p(1, ""), p(3, "")); err != nil {
		t.Fatal(err)
	}
}

// TestPageSizes: 0 means the default, negative is refused, for every list.
func TestPageSizes(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "pages-bucket")
	up := startUpload(t, n, b.BucketId, "k")
	commitPart(t, n, up.VersionId, 1, "x", "b1")
	put(t, n, b.BucketId, "k", "e")
	calls := map[string]func(int32) (int, error){
		"ListObjects": func(s int32) (int, error) {
			r, err := n.meta.ListObjects(ctx(t), &metadatav1.ListObjectsRequest{BucketId: b.BucketId, PageSize: s})
			return len(r.GetObjects()), err
		},
		"ListObjectVersions": func(s int32) (int, error) {
			r, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, PageSize: s})
			return len(r.GetVersions()), err
		},
		"ListUploads": func(s int32) (int, error) {
			r, err := n.meta.ListUploads(ctx(t), &metadatav1.ListUploadsRequest{BucketId: b.BucketId, PageSize: s})
			return len(r.GetUploads()), err
		},
		"ListParts": func(s int32) (int, error) {
			r, err := n.meta.ListParts(ctx(t), &metadatav1.ListPartsRequest{UploadId: up.VersionId, PageSize: s})
			return len(r.GetParts()), err
		},
		"ListBuckets": func(s int32) (int, error) {
			r, err := n.meta.ListBuckets(ctx(t), &metadatav1.ListBucketsRequest{PageSize: s})
			return len(r.GetBuckets()), err
		},
		"ListKeys": func(s int32) (int, error) {
			r, err := n.meta.ListKeys(ctx(t), &metadatav1.ListKeysRequest{PageSize: s})
			return len(r.GetKeys()), err
		},
	}
	n.meta.CreateKey(ctx(t), &metadatav1.CreateKeyRequest{Key: &metadatav1.ApplicationKey{KeyId: "key-1"}})
	for name, call := range calls {
		if got, err := call(0); err != nil || got != 1 {
			t.Errorf("%s page 0: %d, %v", name, got, err)
		}
		if _, err := call(-1); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("%s page -1: %v", name, err)
		}
	}
}

// TestRequestIDRetry: a retried mutation with the same request id returns
// the first outcome and applies nothing twice.
func TestRequestIDRetry(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "retry-bucket")
	req := &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{BucketId: b.BucketId, Key: "k", Etag: "e"}, RequestId: "client-retry-1"}
	first, err := n.meta.CommitObject(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := n.meta.CommitObject(ctx(t), req)
	if err != nil || again.Version.VersionId != first.Version.VersionId {
		t.Fatalf("retry: %v %v", again, err)
	}
	req.Version.Etag = "other" // the same id with another request is a new request
	third, err := n.meta.CommitObject(ctx(t), req)
	if err != nil || third.Version.VersionId == first.Version.VersionId {
		t.Fatalf("different request: %v %v", third, err)
	}
	long := &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{BucketId: b.BucketId, Key: "long"}, RequestId: strings.Repeat("r", 300)}
	l1, err1 := n.meta.CommitObject(ctx(t), long)
	l2, err2 := n.meta.CommitObject(ctx(t), long)
	if err1 != nil || err2 != nil || l1.Version.VersionId != l2.Version.VersionId {
		t.Fatalf("a long request id: %v %v %v %v", l1, err1, l2, err2)
	}
	vers, _ := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId})
	if len(vers.Versions) != 3 {
		t.Fatalf("%d versions, want 3", len(vers.Versions))
	}
	up := startUpload(t, n, b.BucketId, "big")
	preq := &metadatav1.CommitPartRequest{RequestId: "part-1", Part: &metadatav1.Part{UploadId: up.VersionId, PartNumber: 1, Segment: &metadatav1.Segment{Size: 1, Md5: md5Hex("x")}}}
	p1, err := n.meta.CommitPart(ctx(t), preq)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := n.meta.CommitPart(ctx(t), preq)
	if err != nil || p2.Replaced != nil || p2.Part.CreateIndex != p1.Part.CreateIndex {
		t.Fatalf("retried part: %v %v", p2, err)
	}
}
