package fsm

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func cmdTags(bucket, key, vid string, tags ...string) *fsmv1.Command {
	u := &fsmv1.UpdateObjectTags{BucketId: bucket, Key: key, VersionId: vid}
	for i := 0; i+1 < len(tags); i += 2 {
		u.Tags = append(u.Tags, &metadatav1.Tag{Key: tags[i], Value: tags[i+1]})
	}
	return &fsmv1.Command{Op: &fsmv1.Command_UpdateObjectTags{UpdateObjectTags: u}}
}

func tagList(tags []*metadatav1.Tag) string {
	var b strings.Builder
	for _, t := range tags {
		fmt.Fprintf(&b, "%s=%s;", t.GetKey(), t.GetValue())
	}
	return b.String()
}

// TestUpdateObjectTags: tags land on the named version or the newest one,
// are kept in order, replace the old set whole, leave the rest of the
// record alone, and are refused on what is not an object.
func TestUpdateObjectTags(t *testing.T) {
	h := newHarness(t)
	h.must(cmdCreateBucket("b1", "one"))
	old := h.must(cmdCommit("b1", "k", "v1", "e1", nil, "blob1")).Version
	cur := h.must(cmdCommit("b1", "k", "v2", "e2", nil, "blob2")).Version

	// The newest version, when no id is given; order is the client's.
	res := h.must(cmdTags("b1", "k", "", "z", "1", "a", "2"))
	if res.Version.GetVersionId() != "v2" || tagList(res.Version.GetTags()) != "z=1;a=2;" || !res.Version.GetIsLatest() {
		t.Fatalf("tagged %s %q latest=%v", res.Version.GetVersionId(), tagList(res.Version.GetTags()), res.Version.GetIsLatest())
	}
	if res.Version.GetEtag() != cur.GetEtag() || res.Version.GetCreateIndex() != cur.GetCreateIndex() || res.Version.GetModifyIndex() <= cur.GetModifyIndex() {
		t.Fatalf("tagging changed more than the tags: %v", res.Version)
	}
	h.view(func(r *Reader) error {
		v, err := r.Object("b1", "k")
		if err != nil || tagList(v.GetTags()) != "z=1;a=2;" {
			t.Fatalf("current version after tagging: %v %v", v, err)
		}
		return nil
	})
	// An older version by id; the current one keeps its tags.
	h.must(cmdTags("b1", "", "v1", "old", ""))
	h.view(func(r *Reader) error {
		v, _ := r.Version("b1", "k", old.GetVersionId())
		c, _ := r.Object("b1", "k")
		if tagList(v.GetTags()) != "old=;" || tagList(c.GetTags()) != "z=1;a=2;" {
			t.Fatalf("v1 %q, current %q", tagList(v.GetTags()), tagList(c.GetTags()))
		}
		return nil
	})
	// Removing: an empty set.
	if res := h.must(cmdTags("b1", "k", "v2")); len(res.Version.GetTags()) != 0 {
		t.Fatalf("tags left: %v", res.Version.GetTags())
	}

	// Refusals, none of which changes the state.
	h.must(cmdHide("b1", "k", "m1", false))
	h.must(cmdStart("b1", "up", "u1"))
	before := h.digest()
	for _, tc := range []struct {
		name string
		cmd  *fsmv1.Command
		want errs.Kind
	}{
		{"newest is a hide marker", cmdTags("b1", "k", "", "a", "b"), errs.ObjectNotFound},
		{"a hide marker by id", cmdTags("b1", "k", "m1", "a", "b"), errs.MethodNotAllowed},
		{"an unfinished upload", cmdTags("b1", "up", "u1", "a", "b"), errs.VersionNotFound},
		{"an unfinished upload's key", cmdTags("b1", "up", "", "a", "b"), errs.ObjectNotFound},
		{"no such version", cmdTags("b1", "k", "nope", "a", "b"), errs.VersionNotFound},
		{"version of another key", cmdTags("b1", "other", "v1", "a", "b"), errs.VersionNotFound},
		{"no such key", cmdTags("b1", "missing", "", "a", "b"), errs.ObjectNotFound},
		{"no such bucket", cmdTags("b9", "k", "", "a", "b"), errs.BucketNotFound},
		{"no key and no id", cmdTags("b1", "", ""), errs.InvalidArgument},
		{"empty tag key", cmdTags("b1", "", "v1", "", "x"), errs.InvalidArgument},
		{"key twice", cmdTags("b1", "", "v1", "d", "1", "d", "2"), errs.InvalidArgument},
		{"key too long", cmdTags("b1", "", "v1", strings.Repeat("é", 129), ""), errs.InvalidArgument},
		{"value too long", cmdTags("b1", "", "v1", "k", strings.Repeat("é", 257)), errs.InvalidArgument},
		{"eleven tags", cmdTags("b1", "", "v1", "1", "", "2", "", "3", "", "4", "", "5", "", "6", "", "7", "", "8", "", "9", "", "10", "", "11", ""), errs.InvalidArgument},
	} {
		res := h.apply(tc.cmd)
		if got := errs.KindOf(res.Err); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, res.Err, tc.want)
		}
	}
	if res := h.apply(cmdTags("b1", "k", "")); res.Err == nil || errs.As(res.Err).Details["delete_marker"] != "true" {
		t.Errorf("tagging a key whose newest version is a marker: %v (want the marker's details)", res.Err)
	}
	if !equalDigests(before, h.digest()) {
		t.Fatal("a refused tag update changed the state")
	}
	// The limits themselves are allowed: 10 tags, 128 and 256 characters.
	max := []string{strings.Repeat("é", 128), strings.Repeat("ü", 256)}
	for i := 1; i < 10; i++ {
		max = append(max, fmt.Sprint(i), "")
	}
	h.must(cmdTags("b1", "", "v1", max...))
}

// TestTagsTravelWithUploads: tags given to a START version are the
// completed version's, and a committed version keeps the tags it was
// committed with.
func TestTagsTravelWithUploads(t *testing.T) {
	h := newHarness(t)
	h.must(cmdCreateBucket("b1", "one"))
	start := cmdStart("b1", "big", "u1")
	start.GetStartUpload().Upload.Tags = []*metadatav1.Tag{{Key: "project", Value: "x"}}
	h.must(start)
	h.must(&fsmv1.Command{Op: &fsmv1.Command_CommitPart{CommitPart: &fsmv1.CommitPart{BucketId: "b1", Part: &metadatav1.Part{
		UploadId: "u1", PartNumber: 1, Segment: &metadatav1.Segment{Size: 1, Md5: "m1", Placement: &metadatav1.BlobPlacement{BlobId: "p1"}},
	}}}})
	res := h.must(&fsmv1.Command{Op: &fsmv1.Command_CompleteUpload{CompleteUpload: &fsmv1.CompleteUpload{BucketId: "b1",
		Request: &metadatav1.CompleteUploadRequest{UploadId: "u1", Parts: []*metadatav1.PartRef{{PartNumber: 1, Md5: "m1"}}}}}})
	if tagList(res.Version.GetTags()) != "project=x;" {
		t.Fatalf("completed version's tags %q", tagList(res.Version.GetTags()))
	}
	commit := cmdCommit("b1", "small", "v1", "e", nil)
	commit.GetCommitObject().Version.Tags = []*metadatav1.Tag{{Key: "a", Value: "1"}}
	if res := h.must(commit); tagList(res.Version.GetTags()) != "a=1;" {
		t.Fatalf("committed version's tags %q", tagList(res.Version.GetTags()))
	}
	bad := cmdCommit("b1", "small", "v2", "e", nil)
	bad.GetCommitObject().Version.Tags = []*metadatav1.Tag{{Key: "a"}, {Key: "a"}}
	if res := h.apply(bad); errs.KindOf(res.Err) != errs.InvalidArgument {
		t.Fatalf("a commit with a key twice: %v", res.Err)
	}
}

// tagCommand returns a tag update of a remembered or random version, with
// a tag set that is sometimes one the limits refuse.
func (g *commandGen) tagCommand() *fsmv1.Command {
	g.n++
	b, v := g.known(g.versions)
	u := &fsmv1.UpdateObjectTags{BucketId: b, VersionId: v, Tags: g.tags()}
	if g.r.IntN(3) == 0 {
		u.VersionId, u.Key = "", g.key()
	}
	return &fsmv1.Command{RequestTimeUnixNanos: int64(g.n), Op: &fsmv1.Command_UpdateObjectTags{UpdateObjectTags: u}}
}

func (g *commandGen) tags() []*metadatav1.Tag {
	var out []*metadatav1.Tag
	for i := range g.r.IntN(4) {
		out = append(out, &metadatav1.Tag{Key: fmt.Sprintf("k%d", i), Value: g.pick("", "v", "é")})
	}
	switch g.r.IntN(12) {
	case 0:
		for i := range 11 {
			out = append(out, &metadatav1.Tag{Key: fmt.Sprintf("n%d", i)})
		}
	case 1:
		out = append(out, &metadatav1.Tag{Key: ""})
	case 2:
		out = append(out, &metadatav1.Tag{Key: strings.Repeat("k", 129)})
	case 3:
		out = append(out, &metadatav1.Tag{Key: "x", Value: strings.Repeat("é", 257)})
	case 4:
		out = append(out, &metadatav1.Tag{Key: "d"}, &metadatav1.Tag{Key: "d"})
	case 5:
		out = append(out, &metadatav1.Tag{Key: "bad\xff"})
	}
	return out
}

// TestRandomTagCommands mixes tag updates (and tagged versions) into the
// random command stream: apply never panics, tag updates succeed
// sometimes, and other batchings of the same entries end identical.
func TestRandomTagCommands(t *testing.T) {
	n := 6000
	if testing.Short() {
		n = 1000
	}
	g := &commandGen{r: rand.New(rand.NewPCG(11, 12))}
	h := newHarness(t)
	tagged := 0
	var batch []*raft.Log
	flush := func() {
		for i, res := range h.f.ApplyBatch(batch) {
			if r, ok := res.(*Result); ok && r.Err == nil {
				cmd := &fsmv1.Command{}
				if proto.Unmarshal(batch[i].Data, cmd) == nil && cmd.GetUpdateObjectTags() != nil {
					tagged++
				}
			}
		}
		batch = batch[:0]
	}
	for range n {
		var cmd *fsmv1.Command
		if g.r.IntN(3) == 0 {
			cmd = g.tagCommand()
		} else if cmd = g.next(); cmd.GetCommitObject().GetVersion() != nil && g.r.IntN(3) == 0 {
			cmd.GetCommitObject().Version.Tags = g.tags()
		}
		data, err := marshalOpts.Marshal(cmd)
		if err != nil {
			continue // not UTF-8: cannot be encoded, so never proposed
		}
		h.index++
		l := &raft.Log{Index: h.index, Term: 1, Type: raft.LogCommand, Data: data}
		h.log = append(h.log, l)
		if batch = append(batch, l); g.r.IntN(8) == 0 {
			flush()
		}
	}
	flush()
	if tagged == 0 {
		t.Error("no tag update succeeded")
	}
	other, err := Open(filepath.Join(t.TempDir(), "fsm.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for i := 0; i < len(h.log); {
		j := min(len(h.log), i+1+g.r.IntN(300))
		other.ApplyBatch(h.log[i:j])
		i = j
	}
	a, _ := h.f.Digest()
	b, _ := other.Digest()
	if !equalDigests(a, b) {
		t.Fatal("the same entries in other batches gave another state")
	}
}

// FuzzApplyTags is FuzzApply seeded with tag commands.
func FuzzApplyTags(f *testing.F) {
	g := &commandGen{r: rand.New(rand.NewPCG(13, 14))}
	for range 32 {
		if data, err := marshalOpts.Marshal(g.tagCommand()); err == nil {
			f.Add(data)
		}
	}
	h := newHarness(f)
	h.must(cmdCreateBucket("b1", "one"))
	h.must(cmdCommit("b1", "a", "v1", "e", nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !hasOp(data) {
			return
		}
		h.index++
		h.f.Apply(&raft.Log{Index: h.index, Term: 1, Type: raft.LogCommand, Data: data})
	})
}
