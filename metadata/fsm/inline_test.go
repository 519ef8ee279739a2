package fsm

import (
	"bytes"
	"hash/crc32"
	"io"
	"testing"

	"github.com/hashicorp/raft"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func inlineSeg(data []byte) *metadatav1.Segment {
	return &metadatav1.Segment{Size: int64(len(data)), Inline: true, InlineData: data, InlineCrc32C: crc32.Checksum(data, castagnoli)}
}

func cmdCommitInline(bucket, key, vid string, data []byte) *fsmv1.Command {
	v := &metadatav1.ObjectVersion{BucketId: bucket, Key: key, VersionId: vid, Size: int64(len(data)), Segments: []*metadatav1.Segment{inlineSeg(data)}}
	return &fsmv1.Command{Op: &fsmv1.Command_CommitObject{CommitObject: &fsmv1.CommitObject{Version: v}}}
}

// TestInlineData: a committed inline version's bytes come back from
// Object and Version (GetObject), never from lists or the commit result;
// they are not in the version records; deleting the version deletes them;
// they survive a snapshot and restore.
func TestInlineData(t *testing.T) {
	h := fixture(t)
	var s seq
	small := bytes.Repeat([]byte("inline!"), 600)
	v1, v2 := s.next(), s.next()
	res := h.must(cmdCommitInline(bkt, "small", v1, small))
	if got := res.Version.GetSegments()[0]; !got.GetInline() || len(got.GetInlineData()) != 0 {
		t.Fatalf("commit result segment %v", got)
	}
	h.must(cmdCommitInline(bkt, "empty", v2, []byte{}))
	h.view(func(r *Reader) error {
		for _, c := range []struct {
			key, vid string
			want     []byte
		}{{"small", v1, small}, {"empty", v2, []byte{}}} {
			cur, err := r.Object(bkt, c.key)
			if err != nil || !bytes.Equal(cur.GetSegments()[0].GetInlineData(), c.want) {
				t.Errorf("Object(%s): %v", c.key, err)
			}
			byID, err := r.Version(bkt, c.key, c.vid)
			if err != nil || !bytes.Equal(byID.GetSegments()[0].GetInlineData(), c.want) {
				t.Errorf("Version(%s): %v", c.key, err)
			}
		}
		list, err := r.ListObjects(&metadatav1.ListObjectsRequest{BucketId: bkt, PageSize: 100})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		inline := 0
		for _, v := range list.GetObjects() {
			if sg := inlineSegment(v); sg != nil {
				inline++
				if sg.GetInlineData() != nil {
					t.Errorf("listed %s with inline data", v.GetKey())
				}
			}
		}
		if inline != 2 {
			t.Errorf("listed %d inline objects, want 2", inline)
		}
		tree, _ := r.s.objects(bkt)
		for _, b := range [][]byte{tree.current.Get([]byte("small")), tree.versions.Get(tree.ids.Get([]byte(v1)))} {
			if bytes.Contains(b, small[:64]) {
				t.Error("a version record holds the inline bytes")
			}
		}
		return nil
	})

	// Snapshot and restore carry them.
	snap, err := h.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	store, _ := raft.NewFileSnapshotStore(t.TempDir(), 1, io.Discard)
	sink, _ := store.Create(raft.SnapshotVersionMax, h.f.AppliedIndex(), 1, raft.Configuration{}, 1, nil)
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	other := fixture(t)
	_, rc, _ := store.Open(sink.ID())
	if err := other.f.Restore(rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(other.digest(), h.digest()) {
		t.Fatal("restored state differs")
	}
	other.view(func(r *Reader) error {
		if v, err := r.Version(bkt, "small", v1); err != nil || !bytes.Equal(v.GetSegments()[0].GetInlineData(), small) {
			t.Errorf("restored inline data: %v", err)
		}
		return nil
	})

	// Deleting the version deletes its bytes, in the same transaction.
	h.must(cmdDeleteVersion(bkt, "small", v1))
	h.view(func(r *Reader) error {
		tree, _ := r.s.objects(bkt)
		if tree.inline.Get([]byte(v1)) != nil {
			t.Error("a deleted version's inline bytes remain")
		}
		if tree.inline.Get([]byte(v2)) == nil {
			t.Error("another version's inline bytes went too")
		}
		return nil
	})
}

// TestInlineRules: what a command may not carry inline.
func TestInlineRules(t *testing.T) {
	h := fixture(t)
	var s seq
	bad := func(name string, cmd *fsmv1.Command, want errs.Kind) {
		t.Helper()
		if res := h.apply(cmd); errs.KindOf(res.Err) != want {
			t.Errorf("%s: %v, want %v", name, res.Err, want)
		}
	}
	crc := cmdCommitInline(bkt, "k", s.next(), []byte("abc"))
	crc.GetCommitObject().GetVersion().GetSegments()[0].InlineCrc32C++
	bad("wrong crc", crc, errs.BadDigest)
	bad("too large", cmdCommitInline(bkt, "k", s.next(), make([]byte, MaxInlineSize+1)), errs.InvalidArgument)
	two := cmdCommitInline(bkt, "k", s.next(), []byte("abc"))
	v := two.GetCommitObject().GetVersion()
	v.Segments = append(v.Segments, inlineSeg([]byte("def")))
	bad("two segments", two, errs.InvalidArgument)
	placed := cmdCommitInline(bkt, "k", s.next(), []byte("abc"))
	placed.GetCommitObject().GetVersion().GetSegments()[0].Placement = &metadatav1.BlobPlacement{BlobId: "b"}
	bad("inline with a placement", placed, errs.InvalidArgument)
	stray := cmdCommit(bkt, "k", s.next(), "e", nil, "blob")
	stray.GetCommitObject().GetVersion().GetSegments()[0].InlineData = []byte("x")
	bad("data on a blob segment", stray, errs.InvalidArgument)
	up := h.must(cmdStart(bkt, "k", s.next())).Version
	part := &fsmv1.Command{Op: &fsmv1.Command_CommitPart{CommitPart: &fsmv1.CommitPart{BucketId: bkt, Part: &metadatav1.Part{
		UploadId: up.GetVersionId(), PartNumber: 1, Segment: inlineSeg([]byte("abc")),
	}}}}
	bad("inline part", part, errs.InvalidArgument)
}
