package metadata

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func shards(nodes ...string) []*metadatav1.ShardLocation {
	var out []*metadatav1.ShardLocation
	for i, n := range nodes {
		out = append(out, &metadatav1.ShardLocation{Index: uint32(i), NodeId: n})
	}
	return out
}

// commitPlaced commits a version whose segments use the given blobs, each
// placed 2+1 on nodes a, b, c.
func commitPlaced(t *testing.T, n *node, bucketID, key string, blobs ...string) *metadatav1.ObjectVersion {
	t.Helper()
	v := &metadatav1.ObjectVersion{BucketId: bucketID, Key: key, Size: int64(len(blobs))}
	for i, b := range blobs {
		v.Segments = append(v.Segments, &metadatav1.Segment{Size: 1, PartNumber: int32(i + 1), Placement: &metadatav1.BlobPlacement{
			BlobId: b, DataShards: 2, ParityShards: 1, StripeSize: 4096, Shards: shards("a", "b", "c"),
		}})
	}
	resp, err := n.meta.CommitObject(ctx(t), &metadatav1.CommitObjectRequest{Version: v})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Version
}

// TestPlacements covers GetBlobPlacement, ListPlacements and UpdatePlacement
// on one node: a blob shared by two versions (a copy) is one placement, an
// update rewrites every record that uses the blob (and the current-version
// copy that listings read), and the refusals are deterministic.
func TestPlacements(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "bucket-one")
	v1 := commitPlaced(t, n, b.BucketId, "k1", "blob-a", "blob-b")
	commitPlaced(t, n, b.BucketId, "k2", "blob-c")
	commitPlaced(t, n, b.BucketId, "k3", "blob-a") // a copy sharing blob-a
	commitPlaced(t, n, b.BucketId, "k4", "blob-d")
	commitPlaced(t, n, b.BucketId, "k5", "blob-e")

	got, err := n.meta.GetBlobPlacement(ctx(t), &metadatav1.GetBlobPlacementRequest{BlobId: "blob-b"})
	if err != nil || got.Placement.BlobId != "blob-b" || got.Placement.DataShards != 2 || len(got.Placement.Shards) != 3 {
		t.Fatalf("GetBlobPlacement = %v, %v", got, err)
	}
	_, err = n.meta.GetBlobPlacement(ctx(t), &metadatav1.GetBlobPlacementRequest{BlobId: "blob-zz"})
	wantKind(t, err, errs.ObjectNotFound)
	if d := errs.As(err).Details["blob_id"]; d != "blob-zz" {
		t.Fatalf("NotFound detail blob_id = %q", d)
	}

	// Paging: each blob once, in blob-id order, page_token = last blob id.
	var ids []string
	token := ""
	for page := 0; ; page++ {
		resp, err := n.meta.ListPlacements(ctx(t), &metadatav1.ListPlacementsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.Placements {
			ids = append(ids, p.BlobId)
		}
		if resp.NextPageToken == "" {
			break
		}
		if resp.NextPageToken != ids[len(ids)-1] || page > 5 {
			t.Fatalf("page token %q after %v", resp.NextPageToken, ids)
		}
		token = resp.NextPageToken
	}
	if fmt.Sprint(ids) != "[blob-a blob-b blob-c blob-d blob-e]" {
		t.Fatalf("ListPlacements ids %v", ids)
	}

	// Update: every record using blob-a moves shard 1 to node "x".
	moved := shards("a", "x", "c")
	up, err := n.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-a", Shards: moved})
	if err != nil || up.SegmentsUpdated != 2 || up.Placement.Shards[1].NodeId != "x" || up.Placement.DataShards != 2 {
		t.Fatalf("UpdatePlacement = %v, %v", up, err)
	}
	for _, key := range []string{"k1", "k3"} {
		cur, err := n.meta.GetObject(ctx(t), &metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: key})
		if err != nil || !proto.Equal(&metadatav1.BlobPlacement{Shards: cur.Version.Segments[0].Placement.Shards}, &metadatav1.BlobPlacement{Shards: moved}) {
			t.Fatalf("%s after update: %v, %v", key, cur, err)
		}
		if cur.Version.ModifyIndex <= cur.Version.CreateIndex {
			t.Fatalf("%s: modify index %d not past create index %d", key, cur.Version.ModifyIndex, cur.Version.CreateIndex)
		}
	}
	list, err := n.meta.ListObjects(ctx(t), &metadatav1.ListObjectsRequest{BucketId: b.BucketId, PageSize: 10})
	if err != nil || list.Objects[0].Segments[0].Placement.Shards[1].NodeId != "x" || list.Objects[0].Segments[1].Placement.Shards[1].NodeId != "b" {
		t.Fatalf("listing after update: %v, %v", list, err)
	}
	byID, err := n.meta.GetObject(ctx(t), &metadatav1.GetObjectRequest{BucketId: b.BucketId, VersionId: v1.VersionId})
	if err != nil || byID.Version.Segments[0].Placement.Shards[1].NodeId != "x" {
		t.Fatalf("version after update: %v, %v", byID, err)
	}

	// Compare-and-swap between concurrent repairs.
	_, err = n.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-a", Shards: shards("a", "y", "c"), ExpectedShards: shards("a", "b", "c")})
	wantKind(t, err, errs.Conflict)
	if _, err = n.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-a", Shards: shards("a", "y", "c"), ExpectedShards: moved}); err != nil {
		t.Fatal(err)
	}

	// Refusals.
	_, err = n.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-zz", Shards: moved})
	wantKind(t, err, errs.ObjectNotFound)
	if d := errs.As(err).Details["blob_id"]; d != "blob-zz" {
		t.Fatalf("NotFound detail blob_id = %q", d)
	}
	_, err = n.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-a", Shards: shards("a", "b", "c", "d")})
	wantKind(t, err, errs.InvalidArgument) // index 3 of a 2+1 blob
	_, err = n.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-a"})
	wantKind(t, err, errs.InvalidArgument)
	_, err = n.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-a", Shards: []*metadatav1.ShardLocation{{Index: 0, NodeId: "a"}, {Index: 0, NodeId: "b"}}})
	wantKind(t, err, errs.InvalidArgument)

	// References are unchanged by placement updates, and follow deletions.
	refs, err := n.meta.CheckBlobReferences(ctx(t), &metadatav1.CheckBlobReferencesRequest{BlobIds: []string{"blob-a", "blob-b", "blob-zz"}})
	if err != nil || fmt.Sprint(refs.Referenced) != "[blob-a blob-b]" {
		t.Fatalf("CheckBlobReferences = %v, %v", refs, err)
	}
	if _, err := n.meta.DeleteObjectVersion(ctx(t), &metadatav1.DeleteObjectVersionRequest{VersionId: v1.VersionId}); err != nil {
		t.Fatal(err)
	}
	_, err = n.meta.GetBlobPlacement(ctx(t), &metadatav1.GetBlobPlacementRequest{BlobId: "blob-b"})
	wantKind(t, err, errs.ObjectNotFound)
	still, err := n.meta.GetBlobPlacement(ctx(t), &metadatav1.GetBlobPlacementRequest{BlobId: "blob-a", StaleOk: true})
	if err != nil || still.Placement.Shards[1].NodeId != "y" {
		t.Fatalf("blob-a after deleting one of its two users: %v, %v", still, err)
	}
}
