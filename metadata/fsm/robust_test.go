package fsm

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// commandGen draws commands of every op from a small universe of ids, keys
// and names, so that they collide (exists, not found, not empty, shared
// blobs...), with a share of bad values that validation must refuse: empty,
// control characters, NUL (the composite-key separator), oversized.
type commandGen struct {
	r *rand.Rand
	n int
	// starts and versions remember the (bucket, id) of generated uploads
	// and versions, so that later commands often name a real one.
	starts, versions [][2]string
}

// known returns a remembered (bucket, id) most of the time, else random ones.
func (g *commandGen) known(list [][2]string) (bucket, id string) {
	if len(list) == 0 || g.r.IntN(5) == 0 {
		return g.id("b"), g.earlier()
	}
	e := list[len(list)-1-g.r.IntN(min(len(list), 20))]
	return e[0], e[1]
}

func (g *commandGen) pick(list ...string) string { return list[g.r.IntN(len(list))] }

func (g *commandGen) id(prefix string) string {
	switch g.r.IntN(20) {
	case 0:
		return ""
	case 1:
		return prefix + "\x00x"
	case 2:
		return strings.Repeat("i", 40000) // beyond bbolt's key limit
	case 3:
		return prefix + "\x7f"
	}
	return fmt.Sprintf("%s%d", prefix, g.r.IntN(4))
}

func (g *commandGen) key() string {
	switch g.r.IntN(20) {
	case 0:
		return ""
	case 1:
		return "a\x00b"
	case 2:
		return strings.Repeat("k", 1025)
	}
	return g.pick("a", "a/b", "a/c", "b", "dir/x", "é")
}

// earlier is the version id of an earlier command (versions and uploads).
func (g *commandGen) earlier() string { return fmt.Sprintf("v%d", g.r.IntN(g.n+1)) }

func (g *commandGen) pick3(a, b, c int64) int64 { return []int64{a, b, c}[g.r.IntN(3)] }

func (g *commandGen) shards() []*metadatav1.ShardLocation {
	var out []*metadatav1.ShardLocation
	for i := range g.r.IntN(4) {
		idx := uint32(i)
		if g.r.IntN(10) == 0 {
			idx = uint32(g.r.IntN(8)) // sometimes out of range or duplicated
		}
		out = append(out, &metadatav1.ShardLocation{Index: idx, NodeId: g.id("n")})
	}
	return out
}

func (g *commandGen) version() *metadatav1.ObjectVersion {
	if g.r.IntN(30) == 0 {
		return nil
	}
	v := &metadatav1.ObjectVersion{BucketId: g.id("b"), Key: g.key(), VersionId: fmt.Sprintf("v%d", g.n), Etag: g.pick("e1", "e2")}
	if g.r.IntN(10) == 0 {
		v.VersionId = g.id("v") // collide with earlier ids
	}
	for range g.r.IntN(3) {
		v.Segments = append(v.Segments, &metadatav1.Segment{Size: 1, Placement: &metadatav1.BlobPlacement{
			BlobId: g.id("blob"), DataShards: uint32(g.r.IntN(3)), ParityShards: uint32(g.r.IntN(2)), Shards: g.shards(),
		}})
	}
	if g.r.IntN(4) == 0 {
		// A small object kept inline (now and then with a wrong CRC).
		data := []byte(g.pick("", "x", "inline bytes"))
		seg := &metadatav1.Segment{Size: int64(len(data)), Inline: true, InlineData: data, InlineCrc32C: crc32.Checksum(data, castagnoli)}
		if g.r.IntN(8) == 0 {
			seg.InlineCrc32C++
		}
		v.Segments = []*metadatav1.Segment{seg}
	}
	if g.r.IntN(5) == 0 {
		v.LegalHold = metadatav1.LegalHold_LEGAL_HOLD_ON
	}
	return v
}

// next returns a random command (never one without an op: that case is a
// deliberate panic, see TestBadEntriesPanic).
func (g *commandGen) next() *fsmv1.Command {
	g.n++
	c := &fsmv1.Command{RequestTimeUnixNanos: int64(g.n)}
	if g.r.IntN(10) == 0 {
		c.RequestId, c.RequestHash = g.pick("r1", "r2", "r3"), []byte(g.pick("h1", "h2"))
	}
	switch g.r.IntN(26) {
	case 0:
		c.Op = &fsmv1.Command_InitAccount{InitAccount: &fsmv1.InitAccount{Account: &metadatav1.Account{AccountId: g.id("acct")}}}
	case 1:
		// "locked" always has file lock, so that lock commands find a
		// bucket they can succeed in whatever the seed.
		name := g.pick("one", "two", "ONE", "", "x\x01", "locked")
		c.Op = &fsmv1.Command_CreateBucket{CreateBucket: &fsmv1.CreateBucket{Bucket: &metadatav1.Bucket{BucketId: g.id("b"), Name: name,
			FileLock: &metadatav1.FileLockConfiguration{Enabled: name == "locked" || g.r.IntN(2) == 0, DefaultMode: metadatav1.RetentionMode(g.r.IntN(3)), DefaultPeriod: int32(g.r.IntN(3)), DefaultPeriodUnit: metadatav1.PeriodUnit(g.r.IntN(3))}}}}
	case 2:
		c.Op = &fsmv1.Command_UpdateBucket{UpdateBucket: &fsmv1.UpdateBucket{Update: &metadatav1.UpdateBucketRequest{BucketId: g.id("b"), SetCorsRules: g.r.IntN(2) == 0, IfRevisionIs: int64(g.r.IntN(3))}}}
	case 3:
		c.Op = &fsmv1.Command_DeleteBucket{DeleteBucket: &fsmv1.DeleteBucket{BucketId: g.id("b")}}
	case 4:
		c.Op = &fsmv1.Command_SetBucketCors{SetBucketCors: &fsmv1.SetBucketCors{BucketId: g.id("b")}}
	case 5, 6, 7:
		v := g.version()
		if v != nil {
			g.versions = append(g.versions, [2]string{v.BucketId, v.VersionId})
		}
		c.Op = &fsmv1.Command_CommitObject{CommitObject: &fsmv1.CommitObject{Version: v, Precondition: &metadatav1.Precondition{IfNoneMatchAny: g.r.IntN(4) == 0}}}
	case 8:
		c.Op = &fsmv1.Command_HideObject{HideObject: &fsmv1.HideObject{Marker: g.version(), FailIfHidden: g.r.IntN(2) == 0, IfCurrentVersionId: g.pick("", g.earlier())}}
	case 9, 10:
		// Mostly a version that was generated, so deletes succeed often
		// enough whatever the seed (and whatever new fields the schema
		// grows, which change how mutated entries decode).
		b, v := g.known(g.versions)
		c.Op = &fsmv1.Command_DeleteObjectVersion{DeleteObjectVersion: &fsmv1.DeleteObjectVersion{BucketId: b, VersionId: v, Key: g.pick("", "a"),
			LifecycleCutoffUnixNanos: int64(g.pick3(0, 0, int64(g.n)))}}
	case 11:
		v := g.version()
		if v != nil {
			g.starts = append(g.starts, [2]string{v.BucketId, v.VersionId})
		}
		c.Op = &fsmv1.Command_StartUpload{StartUpload: &fsmv1.StartUpload{Upload: v}}
	case 12:
		c.Op = &fsmv1.Command_CreateKey{CreateKey: &fsmv1.CreateKey{Key: &metadatav1.ApplicationKey{KeyId: g.id("key")}}}
	case 13:
		c.Op = &fsmv1.Command_DeleteKey{DeleteKey: &fsmv1.DeleteKey{KeyId: g.id("key")}}
	case 14, 15:
		c.Op = &fsmv1.Command_UpdatePlacement{UpdatePlacement: &fsmv1.UpdatePlacement{BlobId: g.id("blob"), Shards: g.shards(), ExpectedShards: g.shards()}}
	case 16:
		c.Op = &fsmv1.Command_SetMember{SetMember: &fsmv1.SetMember{Member: &metadatav1.Member{NodeId: g.id("m"), RaftAddress: g.pick("127.0.0.1:1", ""), GrpcAddress: "127.0.0.1:2"}}}
	case 17:
		c.Op = &fsmv1.Command_RemoveMember{RemoveMember: &fsmv1.RemoveMember{NodeId: g.id("m")}}
	case 18:
		c.Op = &fsmv1.Command_CommitPart{CommitPart: &fsmv1.CommitPart{}}
	case 19, 20, 21:
		b, u := g.known(g.starts)
		c.Op = &fsmv1.Command_CommitPart{CommitPart: &fsmv1.CommitPart{BucketId: b, Part: &metadatav1.Part{
			UploadId: u, PartNumber: int32(g.r.IntN(5)),
			Segment: &metadatav1.Segment{Size: int64(g.r.IntN(3)), Md5: g.pick("e1", "e2"), Placement: &metadatav1.BlobPlacement{BlobId: g.id("blob"), DataShards: 1, Shards: g.shards()}},
		}}}
	case 22:
		var refs []*metadatav1.PartRef
		for range g.r.IntN(4) {
			refs = append(refs, &metadatav1.PartRef{PartNumber: int32(g.r.IntN(5)), Md5: g.pick("", "e1")})
		}
		if g.r.IntN(2) == 0 {
			refs = []*metadatav1.PartRef{{PartNumber: 1}} // the likeliest list to complete
		}
		b, u := g.known(g.starts)
		c.Op = &fsmv1.Command_CompleteUpload{CompleteUpload: &fsmv1.CompleteUpload{BucketId: b, Request: &metadatav1.CompleteUploadRequest{
			UploadId: u, Parts: refs, MinPartSize: int64(g.r.IntN(3)), Precondition: &metadatav1.Precondition{IfNoneMatchAny: g.r.IntN(4) == 0},
		}}}
	case 23:
		b, u := g.known(g.starts)
		c.Op = &fsmv1.Command_AbortUpload{AbortUpload: &fsmv1.AbortUpload{BucketId: b, UploadId: u}}
	case 24:
		b, v := g.known(g.versions)
		c.Op = &fsmv1.Command_UpdateObjectRetention{UpdateObjectRetention: &fsmv1.UpdateObjectRetention{BucketId: b, VersionId: v,
			Retention: &metadatav1.Retention{Mode: metadatav1.RetentionMode(g.r.IntN(4)), RetainUntilUnixMillis: int64(g.r.IntN(3))}, BypassGovernance: g.r.IntN(2) == 0}}
	case 25:
		b, v := g.known(g.versions)
		c.Op = &fsmv1.Command_UpdateObjectLegalHold{UpdateObjectLegalHold: &fsmv1.UpdateObjectLegalHold{BucketId: b, VersionId: v,
			LegalHold: metadatav1.LegalHold(g.r.IntN(4))}}
	}
	return c
}

// TestRandomCommandsNeverPanic applies 20,000 random commands, and as many
// random byte mutations of them as still decode, in batches of random size:
// apply never panics on a decoded command, every blob reference resolves,
// and a second FSM fed the same entries in other batches ends identical.
func TestRandomCommandsNeverPanic(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	g := &commandGen{r: rand.New(rand.NewPCG(1, 2))}
	h := newHarness(t)
	var batch []*raft.Log
	succeeded := map[string]int{}
	flush := func() {
		for i, res := range h.f.ApplyBatch(batch) {
			if r, ok := res.(*Result); ok && r.Err == nil {
				cmd := &fsmv1.Command{}
				if proto.Unmarshal(batch[i].Data, cmd) == nil {
					succeeded[opName(cmd)]++
				}
			}
		}
		batch = batch[:0]
	}
	for range n {
		cmd := g.next()
		data, err := marshalOpts.Marshal(cmd)
		if err != nil {
			continue // a Go string that is not UTF-8 cannot even be encoded
		}
		if g.r.IntN(4) == 0 { // flip a byte; keep the result if it still decodes
			data[g.r.IntN(len(data))] ^= byte(1 + g.r.IntN(255))
			if proto.Unmarshal(data, &fsmv1.Command{}) != nil || !hasOp(data) {
				continue
			}
		}
		h.index++
		l := &raft.Log{Index: h.index, Term: 1, Type: raft.LogCommand, Data: data}
		h.log = append(h.log, l)
		batch = append(batch, l)
		if g.r.IntN(8) == 0 {
			flush()
		}
	}
	flush()
	if h.f.AppliedIndex() != h.index {
		t.Fatalf("applied %d of %d", h.f.AppliedIndex(), h.index)
	}
	// The universe is small enough that every op also succeeds sometimes.
	for _, op := range []string{"commit_object", "hide_object", "delete_object_version", "start_upload", "commit_part",
		"complete_upload", "abort_upload", "update_object_retention", "update_object_legal_hold", "update_placement"} {
		if succeeded[op] == 0 && !testing.Short() {
			t.Errorf("no %s succeeded (%v)", op, succeeded)
		}
	}
	h.view(func(r *Reader) error {
		for token := ""; ; {
			_, next, err := r.ListPlacements(token, 1000)
			if err != nil {
				t.Fatalf("a blob reference does not resolve: %v", err)
			}
			if next == "" {
				return nil
			}
			token = next
		}
	})
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

func hasOp(data []byte) bool {
	c := &fsmv1.Command{}
	return proto.Unmarshal(data, c) == nil && c.Op != nil
}

// FuzzApply: any bytes that decode to a command with an op are applied
// without a panic (go test runs the seeds; go test -fuzz explores).
func FuzzApply(f *testing.F) {
	g := &commandGen{r: rand.New(rand.NewPCG(3, 4))}
	for range 64 {
		if data, err := marshalOpts.Marshal(g.next()); err == nil {
			f.Add(data)
		}
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if !hasOp(data) {
			return
		}
		h.index++
		h.f.Apply(&raft.Log{Index: h.index, Term: 1, Type: raft.LogCommand, Data: data})
	})
}
