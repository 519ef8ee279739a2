package metadata

import (
	"strings"
	"testing"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// TestObjectTagRPCs: tags over gRPC, through a follower (forwarded to the
// leader, stamped and applied there, seen by every replica), with the
// request-level rules refused before anything reaches the log.
func TestObjectTagRPCs(t *testing.T) {
	c := newCluster(t, 3, false, nil)
	fol := c.nodes[c.follower(c.leader())]
	b := mustBucket(t, fol, "tag-bucket")
	v1 := put(t, fol, b.BucketId, "k", "e1")
	resp, err := fol.meta.CommitObject(ctx(t), &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{
		BucketId: b.BucketId, Key: "k", Etag: "e2", Tags: []*metadatav1.Tag{{Key: "a", Value: "1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	v2 := resp.Version
	if len(v2.GetTags()) != 1 {
		t.Fatalf("committed tags %v", v2.GetTags())
	}
	// The current version, by key; then an older one by id.
	got, err := fol.meta.UpdateObjectTags(ctx(t), &metadatav1.UpdateObjectTagsRequest{BucketId: b.BucketId, Key: "k",
		Tags: []*metadatav1.Tag{{Key: "team", Value: "blue sky"}, {Key: "é", Value: "+-=._:/@"}}})
	if err != nil || got.Version.GetVersionId() != v2.VersionId || len(got.Version.GetTags()) != 2 {
		t.Fatalf("tag the current version: %v %v", got, err)
	}
	if _, err := fol.meta.UpdateObjectTags(ctx(t), &metadatav1.UpdateObjectTagsRequest{VersionId: v1.VersionId, Tags: []*metadatav1.Tag{{Key: "old"}}}); err != nil {
		t.Fatalf("tag a version by id alone: %v", err)
	}
	cur, err := fol.meta.GetObject(ctx(t), &metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "k"})
	if err != nil || len(cur.Version.GetTags()) != 2 || cur.Version.GetTags()[0].GetValue() != "blue sky" {
		t.Fatalf("read back: %v %v", cur, err)
	}

	// Refused before the log: characters, limits, and the key rules.
	leader := c.nodes[c.leader()].srv.Store().FSM()
	before := leader.AppliedIndex()
	eleven := make([]*metadatav1.Tag, 11)
	for i := range eleven {
		eleven[i] = &metadatav1.Tag{Key: string(rune('a' + i))}
	}
	for _, tc := range []struct {
		name string
		tags []*metadatav1.Tag
		code string
	}{
		{"comma", []*metadatav1.Tag{{Key: "k", Value: "a,b"}}, "InvalidTag"},
		{"angle bracket", []*metadatav1.Tag{{Key: "<k>"}}, "InvalidTag"},
		{"eleven", eleven, "BadRequest"},
		{"twice", []*metadatav1.Tag{{Key: "d"}, {Key: "d"}}, "InvalidTag"},
		{"long key", []*metadatav1.Tag{{Key: strings.Repeat("k", 129)}}, "InvalidTag"},
	} {
		_, err := fol.meta.UpdateObjectTags(ctx(t), &metadatav1.UpdateObjectTagsRequest{BucketId: b.BucketId, Key: "k", Tags: tc.tags})
		wantKind(t, err, errs.InvalidArgument)
		if e := errs.As(err); e.Details["s3_code"] != tc.code {
			t.Errorf("%s: s3_code %q, want %q", tc.name, e.Details["s3_code"], tc.code)
		}
	}
	_, err = fol.meta.UpdateObjectTags(ctx(t), &metadatav1.UpdateObjectTagsRequest{BucketId: b.BucketId, Tags: []*metadatav1.Tag{{Key: "a"}}})
	wantKind(t, err, errs.InvalidKeyName)
	if after := leader.AppliedIndex(); after != before {
		t.Fatalf("refused requests reached the log (%d → %d)", before, after)
	}
}
