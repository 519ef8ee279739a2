package metadata

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// TestClusterForwarding: a 3-node group formed from a peer list serves every
// call on every node. Writes and linearizable reads sent to a follower are
// forwarded to the leader; stale reads and watches are served locally; the
// address book fills in the gRPC addresses; all nodes end identical.
func TestClusterForwarding(t *testing.T) {
	c := newCluster(t, 3, false, nil)
	l := c.leader()
	f := c.follower(l)
	fol := c.nodes[f]

	b := mustBucket(t, fol, "bucket-one") // a write through a follower
	w := watch(t, fol.meta, &metadatav1.WatchRequest{FromIndex: b.CreateIndex})
	w.next()
	v := commitPlaced(t, fol, b.BucketId, "k1", "blob-1")
	// Linearizable: visible at once through the follower that forwarded it.
	got, err := fol.meta.GetObject(ctx(t), &metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "k1"})
	if err != nil || got.Version.VersionId != v.VersionId {
		t.Fatalf("linearizable read through a follower: %v, %v", got, err)
	}
	if _, err := fol.meta.UpdatePlacement(ctx(t), &metadatav1.UpdatePlacementRequest{BlobId: "blob-1", Shards: shards("a", "x", "c")}); err != nil {
		t.Fatal(err)
	}
	moved, err := fol.meta.GetObject(ctx(t), &metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	updated := moved.Version.ModifyIndex // the UpdatePlacement's index
	// The follower's watch sees the commit and the placement change.
	if ch := w.until(updated); len(ch) != 2 || ch[0].VersionId != v.VersionId || ch[1].VersionId != v.VersionId {
		t.Fatalf("follower watch: %s", describe(ch))
	}
	// Stale reads are served by the follower from its own state.
	other := c.nodes[3-l-f]
	deadline := time.Now().Add(10 * time.Second)
	for {
		pl, err := other.meta.GetBlobPlacement(ctx(t), &metadatav1.GetBlobPlacementRequest{BlobId: "blob-1", StaleOk: true})
		if err == nil && pl.Placement.Shards[1].NodeId == "x" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stale read never caught up: %v, %v", pl, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Resuming on another node continues exactly where this one left off.
	for i := range c.nodes {
		w := watch(t, c.nodes[i].meta, &metadatav1.WatchRequest{FromIndex: b.CreateIndex})
		if ch := w.until(updated); describe(ch) != "OBJECT OBJECT" || ch[0].Index != v.CreateIndex || ch[1].Index != updated {
			t.Fatalf("watch on %s after %d: %v", c.cfgs[i].NodeID, b.CreateIndex, ch)
		}
		w.cancel()
	}

	waitRegistered(t, fol)
	st := c.status(f)
	if st.State != "Follower" || st.LeaderId != c.cfgs[l].NodeID || st.LeaderGrpcAddress != c.nodes[l].rt.GRPCAddr() || len(st.Members) != 3 {
		t.Fatalf("follower status %v", st)
	}
	for i, m := range st.Members {
		if m.NodeId != c.cfgs[i].NodeID || m.GrpcAddress != c.nodes[i].rt.GRPCAddr() || !m.Voter || m.RaftAddress != c.cfgs[i].RaftAddr {
			t.Fatalf("member %d: %v", i, m)
		}
	}
	// A domain refusal crosses the forwarding hop unchanged.
	_, err = fol.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "bucket-one"}})
	wantKind(t, err, errs.BucketAlreadyExists)
	_, err = fol.meta.GetBlobPlacement(ctx(t), &metadatav1.GetBlobPlacementRequest{BlobId: "nope"})
	if wantKind(t, err, errs.ObjectNotFound); errs.As(err).Details["blob_id"] != "nope" {
		t.Fatalf("forwarded error lost its details: %v", err)
	}
	// Uploads through a follower; every replica ends with the same state.
	up := startUpload(t, fol, b.BucketId, "big")
	commitPart(t, fol, up.VersionId, 1, "one", "blob-p1")
	commitPart(t, other, up.VersionId, 2, "two", "blob-p2")
	if _, err := fol.meta.CompleteUpload(ctx(t), &metadatav1.CompleteUploadRequest{UploadId: up.VersionId, Parts: []*metadatav1.PartRef{{PartNumber: 2}}}); err != nil {
		t.Fatal(err)
	}
	// Lifecycle passes run on the leader: RunLifecycle is forwarded to it.
	if _, err := fol.srv.RunLifecycleOnce(ctx(t)); errs.KindOf(err) != errs.NotLeader {
		t.Fatalf("a pass on a follower: %v", err)
	}
	// The leader answers (these nodes have no authd to check the
	// operator's key with, so it refuses, naming itself).
	_, err = fol.cluster.RunLifecycle(ctx(t), &metadatav1.RunLifecycleRequest{})
	if wantKind(t, err, errs.InvalidRequest); !strings.Contains(err.Error(), "node "+c.cfgs[l].NodeID+" has no authd") {
		t.Fatalf("RunLifecycle through a follower was not answered by the leader: %v", err)
	}
	c.converge()
}

// TestMembership: a new node joins through any member and catches up; a
// member and then the leader itself are removed through a follower; writes
// go on throughout.
func TestMembership(t *testing.T) {
	c := newCluster(t, 3, false, nil)
	l := c.leader()
	b := mustBucket(t, c.nodes[l], "bucket-one")
	for i := range 20 {
		put(t, c.nodes[l], b.BucketId, fmt.Sprintf("k%02d", i), "e")
	}

	// m4 joins through a follower (the call is forwarded to the leader).
	f := c.follower(l)
	cfg := clusterConfig(t, "m4", "127.0.0.1:0", "")
	cfg.Join = c.nodes[f].rt.GRPCAddr()
	c.cfgs, c.deps, c.nodes = append(c.cfgs, cfg), append(c.deps, Deps{}), append(c.nodes, nil)
	c.start(3)
	if t.Failed() {
		t.FailNow()
	}
	c.leader()
	put(t, c.nodes[3], b.BucketId, "via-m4", "e")
	c.converge()
	st := c.status(l)
	if len(st.Members) != 4 || st.Members[3].NodeId != "m4" || !st.Members[3].Voter {
		t.Fatalf("members after join: %v", st.Members)
	}

	// Validation and refusals.
	_, err := c.nodes[f].cluster.RemoveServer(ctx(t), &metadatav1.RemoveServerRequest{NodeId: "m9"})
	wantKind(t, err, errs.InvalidArgument)
	_, err = c.nodes[f].cluster.AddVoter(ctx(t), &metadatav1.AddVoterRequest{NodeId: "m5", RaftAddress: "nohost"})
	wantKind(t, err, errs.InvalidArgument)

	// Remove m4, then the leader itself, each through a follower.
	if _, err := c.nodes[f].cluster.RemoveServer(ctx(t), &metadatav1.RemoveServerRequest{NodeId: "m4"}); err != nil {
		t.Fatal(err)
	}
	c.nodes[3].stop()
	leaderID := c.cfgs[l].NodeID
	if _, err := c.nodes[f].cluster.RemoveServer(ctx(t), &metadatav1.RemoveServerRequest{NodeId: leaderID}); err != nil {
		t.Fatal(err)
	}
	c.nodes[l].stop()
	nl := c.leader()
	if nl == l {
		t.Fatal("the removed leader still leads")
	}
	put(t, c.nodes[f], b.BucketId, "after-removals", "e")
	st = c.status(nl)
	if len(st.Members) != 2 {
		t.Fatalf("members after removals: %v", st.Members)
	}
	for _, m := range st.Members {
		if m.NodeId == leaderID || m.NodeId == "m4" {
			t.Fatalf("removed member still listed: %v", st.Members)
		}
	}
	c.converge()
}
