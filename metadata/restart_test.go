package metadata

import (
	"bytes"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// TestRestart writes through gRPC, stops the node and starts a new one on the
// same directory (and a new Raft port): the state is identical, the applied
// index is preserved and no entry is applied a second time. The second
// variant takes a Raft snapshot first, so the log is truncated under it.
func TestRestart(t *testing.T) {
	for _, snapshot := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", snapshot), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.TrailingLogs = 1 // a snapshot really truncates the log
			// A fixed advertised address: the address book entry (state
			// like any other) must not change across the restart.
			cfg.GRPCAdvertise = "127.0.0.1:1"
			n := startNode(t, cfg)
			waitRegistered(t, n)
			if _, err := n.meta.InitAccount(ctx(t), &metadatav1.InitAccountRequest{AccountId: "0123456789ab"}); err != nil {
				t.Fatal(err)
			}
			b := mustBucket(t, n, "bucket-one")
			for i := range 20 {
				put(t, n, b.BucketId, fmt.Sprintf("dir/%02d", i), "e", fmt.Sprintf("blob-%d", i))
			}
			if snapshot {
				if err := n.srv.Store().Snapshot(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: "dir/03"}); err != nil {
				t.Fatal(err)
			}
			listing := func(n *node) *metadatav1.ListObjectVersionsResponse {
				resp, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, PageSize: 1000})
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			before := listing(n)
			digest, _ := n.srv.Store().FSM().Digest()
			status, err := n.cluster.GetClusterStatus(ctx(t), &metadatav1.GetClusterStatusRequest{})
			if err != nil {
				t.Fatal(err)
			}
			n.stop()

			n2 := startNode(t, cfg)
			if got := listing(n2); !proto.Equal(got, before) {
				t.Fatalf("versions after restart differ:\n%v\n%v", got, before)
			}
			if got, _ := n2.srv.Store().FSM().Digest(); !bytes.Equal(got, digest) {
				t.Fatal("state digest differs after restart")
			}
			after, err := n2.cluster.GetClusterStatus(ctx(t), &metadatav1.GetClusterStatusRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if after.AppliedIndex < status.AppliedIndex {
				t.Fatalf("applied index %d after restart, was %d", after.AppliedIndex, status.AppliedIndex)
			}
			if applied, _ := n2.srv.Store().FSM().Counters(); applied != 0 {
				t.Fatalf("%d entries applied again after restart", applied)
			}
			acct, err := n2.meta.GetAccount(ctx(t), &metadatav1.GetAccountRequest{})
			if err != nil || acct.Account.AccountId != "0123456789ab" {
				t.Fatalf("account after restart: %v, %v", acct, err)
			}
			put(t, n2, b.BucketId, "dir/new", "e") // and it still takes writes
		})
	}
}
