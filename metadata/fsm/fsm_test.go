package fsm

import (
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const (
	bkt   = "aaaaaaaaaaaaaaaaaaaaaaaa"
	empty = "bbbbbbbbbbbbbbbbbbbbbbbb"
)

// fixture builds a small state every table case starts from:
//
//	bucket bkt "Bucket-One" (file lock enabled): "a" (upload vA1, etag e1), "h" (upload vH1, hidden by vH2),
//	"s" (START vS1 only), "locked" (upload vL1 under legal hold, blob "blob-l")
//	bucket empty "empty-bucket"; account; application key "key1".
func fixture(t *testing.T) *harness {
	h := newHarness(t)
	h.must(cmdInitAccount("0123456789ab"))
	withLock := cmdCreateBucket(bkt, "Bucket-One")
	withLock.GetCreateBucket().Bucket.FileLock = &metadatav1.FileLockConfiguration{Enabled: true}
	h.must(withLock)
	h.must(cmdCreateBucket(empty, "empty-bucket"))
	h.must(cmdCommit(bkt, "a", "vA1", "e1", nil, "blob-a"))
	h.must(cmdCommit(bkt, "h", "vH1", "eh", nil))
	h.must(cmdHide(bkt, "h", "vH2", false))
	h.must(cmdStart(bkt, "s", "vS1"))
	locked := cmdCommit(bkt, "locked", "vL1", "el", nil, "blob-l")
	locked.GetCommitObject().Version.LegalHold = metadatav1.LegalHold_LEGAL_HOLD_ON
	h.must(locked)
	h.must(&fsmv1.Command{Op: &fsmv1.Command_CreateKey{CreateKey: &fsmv1.CreateKey{Key: &metadatav1.ApplicationKey{KeyId: "key1", Name: "k"}}}})
	return h
}

func updateBucket(u *metadatav1.UpdateBucketRequest) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_UpdateBucket{UpdateBucket: &fsmv1.UpdateBucket{Update: u}}}
}

func deleteBucket(id string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_DeleteBucket{DeleteBucket: &fsmv1.DeleteBucket{BucketId: id}}}
}

func deleteKey(id string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_DeleteKey{DeleteKey: &fsmv1.DeleteKey{KeyId: id}}}
}

func createKey(id string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_CreateKey{CreateKey: &fsmv1.CreateKey{Key: &metadatav1.ApplicationKey{KeyId: id}}}}
}

func TestApplyCommands(t *testing.T) {
	type check func(t *testing.T, res *Result, r *Reader)
	current := func(key, wantVersion string) check {
		return func(t *testing.T, _ *Result, r *Reader) {
			v, err := r.Object(bkt, key)
			if wantVersion == "" {
				if errs.KindOf(err) != errs.ObjectNotFound {
					t.Fatalf("Object(%q) = %v, %v; want ObjectNotFound", key, v, err)
				}
				return
			}
			if err != nil || v.VersionId != wantVersion || !v.IsLatest {
				t.Fatalf("Object(%q) = %v, %v; want current %s", key, v, err, wantVersion)
			}
		}
	}
	rev := 2 // UpdateBucket bumps the revision from 1
	cases := []struct {
		name  string
		cmd   *fsmv1.Command
		want  errs.Kind // 0: success
		check check
	}{
		{"init account again returns the first", cmdInitAccount("ffffffffffff"), 0, func(t *testing.T, res *Result, r *Reader) {
			if res.Account.GetAccountId() != "0123456789ab" {
				t.Fatalf("account = %v", res.Account)
			}
		}},
		{"create bucket", cmdCreateBucket("cccccccccccccccccccccccc", "third-bucket"), 0, func(t *testing.T, res *Result, r *Reader) {
			b, _ := r.BucketByName("THIRD-bucket")
			if b.GetBucketId() != "cccccccccccccccccccccccc" || b.Revision != 1 || b.CreateIndex == 0 || b.CreateIndex != b.ModifyIndex {
				t.Fatalf("bucket = %v", b)
			}
		}},
		{"create bucket: name taken case-insensitively", cmdCreateBucket("cccccccccccccccccccccccc", "bucket-one"), errs.BucketAlreadyExists, nil},
		{"create bucket: id taken", cmdCreateBucket(bkt, "another-name"), errs.Conflict, nil},
		{"create bucket: no id", cmdCreateBucket("", "another-name"), errs.InvalidArgument, nil},
		{"update bucket", updateBucket(&metadatav1.UpdateBucketRequest{BucketId: bkt, SetInfo: true, Info: map[string]string{"k": "v"},
			SetCorsRules: true, CorsRules: []*corsv1.CorsRule{{Name: "rule-one"}}, IfRevisionIs: 1}), 0,
			func(t *testing.T, res *Result, r *Reader) {
				b, _ := r.Bucket(bkt)
				if b.Revision != int64(rev) || b.Info["k"] != "v" || len(b.CorsRules) != 1 || b.CorsIndex != b.ModifyIndex || b.CorsIndex == b.CreateIndex {
					t.Fatalf("bucket = %v", b)
				}
			}},
		{"update bucket: wrong revision", updateBucket(&metadatav1.UpdateBucketRequest{BucketId: bkt, SetInfo: true, IfRevisionIs: 7}), errs.Conflict, nil},
		{"update bucket: missing", updateBucket(&metadatav1.UpdateBucketRequest{BucketId: "nope", SetInfo: true}), errs.BucketNotFound, nil},
		{"set bucket cors", &fsmv1.Command{Op: &fsmv1.Command_SetBucketCors{SetBucketCors: &fsmv1.SetBucketCors{BucketId: bkt, Rules: []*corsv1.CorsRule{{Name: "r1"}}}}}, 0,
			func(t *testing.T, res *Result, r *Reader) {
				if res.Bucket.CorsIndex != res.Bucket.ModifyIndex || len(res.Bucket.CorsRules) != 1 {
					t.Fatalf("bucket = %v", res.Bucket)
				}
			}},
		{"delete bucket: not empty", deleteBucket(bkt), errs.BucketNotEmpty, nil},
		{"delete bucket", deleteBucket(empty), 0, func(t *testing.T, res *Result, r *Reader) {
			if b, _ := r.BucketByName("empty-bucket"); b != nil {
				t.Fatal("bucket still there")
			}
			if _, err := r.ListObjects(&metadatav1.ListObjectsRequest{BucketId: empty, PageSize: 1}); errs.KindOf(err) != errs.BucketNotFound {
				t.Fatalf("list after delete: %v", err)
			}
		}},
		{"delete bucket: missing", deleteBucket("nope"), errs.BucketNotFound, nil},
		{"commit", cmdCommit(bkt, "a", "vA2", "e2", nil), 0, current("a", "vA2")},
		{"commit: bucket missing", cmdCommit("nope", "a", "vX", "e", nil), errs.BucketNotFound, nil},
		{"commit: version id taken", cmdCommit(bkt, "b", "vA1", "e", nil), errs.Conflict, nil},
		{"commit: if-none-match on existing key", cmdCommit(bkt, "a", "vA2", "e2", &metadatav1.Precondition{IfNoneMatchAny: true}), errs.PreconditionFailed, nil},
		{"commit: if-none-match on hidden key", cmdCommit(bkt, "h", "vH3", "e3", &metadatav1.Precondition{IfNoneMatchAny: true}), 0, current("h", "vH3")},
		{"commit: if-none-match on START-only key", cmdCommit(bkt, "s", "vS2", "e3", &metadatav1.Precondition{IfNoneMatchAny: true}), 0, current("s", "vS2")},
		{"commit: if-match differs", cmdCommit(bkt, "a", "vA2", "e2", &metadatav1.Precondition{IfMatchEtag: `"zz"`}), errs.PreconditionFailed, nil},
		{"commit: if-match on absent key", cmdCommit(bkt, "zz", "vZ", "e2", &metadatav1.Precondition{IfMatchEtag: "e1"}), errs.ObjectNotFound, nil},
		{"commit: if-match holds", cmdCommit(bkt, "a", "vA2", "e2", &metadatav1.Precondition{IfMatchEtag: `"e1"`}), 0, current("a", "vA2")},
		{"hide", cmdHide(bkt, "a", "vA2", true), 0, func(t *testing.T, res *Result, r *Reader) {
			_, err := r.Object(bkt, "a")
			e := errs.As(err)
			if e == nil || e.Kind != errs.ObjectNotFound || e.Details["delete_marker"] != "true" || e.Details["version_id"] != "vA2" {
				t.Fatalf("Object after hide: %v", err)
			}
		}},
		{"hide: already hidden", cmdHide(bkt, "h", "vH3", true), errs.AlreadyHidden, nil},
		{"hide: hidden again without fail_if_hidden", cmdHide(bkt, "h", "vH3", false), 0, current("h", "")},
		{"hide: no such key", cmdHide(bkt, "nope", "vN", false), errs.ObjectNotFound, nil},
		{"hide: START-only key", cmdHide(bkt, "s", "vS2", true), 0, current("s", "")},
		{"delete the hide marker undeletes", cmdDeleteVersion(bkt, "h", "vH2"), 0, current("h", "vH1")},
		{"delete the only upload", cmdDeleteVersion(bkt, "a", "vA1"), 0, func(t *testing.T, res *Result, r *Reader) {
			current("a", "")(t, res, r)
			if !res.Version.IsLatest || len(r.BlobsReferenced([]string{"blob-a"})) != 0 {
				t.Fatalf("removed %v; blob still referenced?", res.Version)
			}
		}},
		{"delete an older version keeps the current", cmdDeleteVersion(bkt, "h", "vH1"), 0, current("h", "")},
		{"delete a START version", cmdDeleteVersion(bkt, "s", "vS1"), 0, nil},
		{"delete: wrong key", cmdDeleteVersion(bkt, "h", "vA1"), errs.VersionNotFound, nil},
		{"delete: no such version", cmdDeleteVersion(bkt, "a", "nope"), errs.VersionNotFound, nil},
		{"delete: legal hold", cmdDeleteVersion(bkt, "locked", "vL1"), errs.ObjectLocked, nil},
		{"start: never current", cmdStart(bkt, "a", "vA9"), 0, current("a", "vA1")},
		{"create key", createKey("key2"), 0, func(t *testing.T, res *Result, r *Reader) {
			if k, _ := r.Key("key2"); k == nil || k.CreateIndex == 0 {
				t.Fatalf("key = %v", k)
			}
		}},
		{"create key: id taken", createKey("key1"), errs.Conflict, nil},
		{"delete key", deleteKey("key1"), 0, func(t *testing.T, res *Result, r *Reader) {
			if k, _ := r.Key("key1"); k != nil || res.Key.GetKeyId() != "key1" {
				t.Fatalf("key = %v, result %v", k, res.Key)
			}
		}},
		{"delete key: missing", deleteKey("nope"), errs.KeyNotFound, nil},
		{"abort: no such upload", &fsmv1.Command{Op: &fsmv1.Command_AbortUpload{AbortUpload: &fsmv1.AbortUpload{BucketId: bkt, UploadId: "vA1"}}}, errs.UploadNotFound, nil},
		{"commit: legal hold needs file lock", func() *fsmv1.Command {
			c := cmdCommit(empty, "x", "vX", "e", nil)
			c.GetCommitObject().Version.LegalHold = metadatav1.LegalHold_LEGAL_HOLD_ON
			return c
		}(), errs.InvalidRequest, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture(t)
			before := h.digest()
			res := h.apply(tc.cmd)
			if got := errs.KindOf(res.Err); tc.want != 0 && got != tc.want || tc.want == 0 && res.Err != nil {
				t.Fatalf("result error %v (kind %v), want kind %v", res.Err, got, tc.want)
			}
			if h.f.AppliedIndex() != h.index {
				t.Fatalf("applied index %d, want %d", h.f.AppliedIndex(), h.index)
			}
			if tc.want != 0 {
				if !equalDigests(before, h.digest()) {
					t.Fatal("a refused command changed the state")
				}
				return
			}
			if tc.check != nil {
				h.view(func(r *Reader) error { tc.check(t, res, r); return nil })
			}
		})
	}
}

func TestBlobReferences(t *testing.T) {
	h := fixture(t)
	h.must(cmdCommit(bkt, "b", "vB1", "e", nil, "blob-b1", "blob-b2"))
	h.must(cmdCommit(bkt, "c", "vC1", "e", nil, "blob-b1")) // a copy shares a blob
	h.view(func(r *Reader) error {
		got := r.BlobsReferenced([]string{"blob-a", "blob-b1", "blob-b2", "blob-x", "blob"})
		if want := []string{"blob-a", "blob-b1", "blob-b2"}; !equalStrings(got, want) {
			t.Errorf("referenced = %v, want %v", got, want)
		}
		return nil
	})
	h.must(cmdDeleteVersion(bkt, "b", "vB1"))
	h.view(func(r *Reader) error {
		if got := r.BlobsReferenced([]string{"blob-b1", "blob-b2"}); !equalStrings(got, []string{"blob-b1"}) {
			t.Errorf("after delete referenced = %v", got)
		}
		return nil
	})
}

func TestBadEntriesPanic(t *testing.T) {
	for name, data := range map[string][]byte{
		"undecodable": {0xff, 0xff, 0xff},
		"no op":       mustMarshal(t, &fsmv1.Command{RequestTimeUnixNanos: 1}),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
				if h.f.AppliedIndex() != 0 {
					t.Fatal("a panicking entry moved the applied index")
				}
			}()
			h.f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
		})
	}
}

// TestBatchIsolation: a refused command in the middle of a batch leaves no
// trace, and its neighbours are applied.
func TestBatchIsolation(t *testing.T) {
	h := fixture(t)
	logs := []*raft.Log{
		h.entry(cmdCommit(bkt, "x", "vX1", "e", nil)),
		h.entry(cmdCommit(bkt, "x", "vX2", "e", &metadatav1.Precondition{IfNoneMatchAny: true})),
		h.entry(cmdCommit(bkt, "y", "vY1", "e", nil)),
		{Index: h.index + 1, Type: raft.LogConfiguration},
	}
	h.index++
	out := h.f.ApplyBatch(logs)
	if out[0].(*Result).Err != nil || errs.KindOf(out[1].(*Result).Err) != errs.PreconditionFailed || out[2].(*Result).Err != nil || out[3] != nil {
		t.Fatalf("results: %v %v %v %v", out[0], out[1], out[2], out[3])
	}
	if h.f.AppliedIndex() != h.index {
		t.Fatalf("applied %d, want %d (configuration entries count)", h.f.AppliedIndex(), h.index)
	}
	h.view(func(r *Reader) error {
		resp, err := r.ListObjectVersions(&metadatav1.ListObjectVersionsRequest{BucketId: bkt, Prefix: "x", PageSize: 10})
		if err != nil || len(resp.Versions) != 1 || resp.Versions[0].VersionId != "vX1" {
			t.Fatalf("versions of x: %v %v", resp, err)
		}
		return nil
	})
}

// TestReplayIsIdempotent: re-applying entries the state already holds
// changes nothing; applying the same entries in other batch shapes to a
// fresh FSM yields the same state.
func TestReplayIsIdempotent(t *testing.T) {
	h := fixture(t)
	var s seq
	var created []string
	for i := range 60 {
		key := string(rune('a' + i%7))
		switch i % 5 {
		case 3:
			h.apply(cmdHide(bkt, key, s.next(), i%2 == 0))
		case 4:
			h.apply(cmdDeleteVersion(bkt, "", created[i/3])) // some are already gone: refused
		default:
			id := s.next()
			created = append(created, id)
			h.apply(cmdCommit(bkt, key, id, "e", nil, s.next()))
		}
	}
	want := h.digest()
	applied, _ := h.f.Counters()

	out := h.f.ApplyBatch(h.log)
	for i, r := range out {
		if r != nil {
			t.Fatalf("replayed entry %d returned %v", i, r)
		}
	}
	if got := h.digest(); !equalDigests(got, want) {
		t.Fatal("replay changed the state")
	}
	if a, skipped := h.f.Counters(); a != applied || skipped != uint64(len(h.log)) {
		t.Fatalf("counters after replay: applied %d (was %d), skipped %d", a, applied, skipped)
	}

	for _, batch := range []int{1, 3, 64} {
		other := newHarness(t)
		for i := 0; i < len(h.log); i += batch {
			other.f.ApplyBatch(h.log[i:min(i+batch, len(h.log))])
		}
		// Overlapping replay in the middle, as after a crash between batches.
		other.f.ApplyBatch(h.log[len(h.log)/2:])
		if got := other.digest(); !equalDigests(got, want) {
			t.Fatalf("batch size %d: different state", batch)
		}
		if other.f.AppliedIndex() != h.f.AppliedIndex() {
			t.Fatalf("batch size %d: applied %d, want %d", batch, other.f.AppliedIndex(), h.f.AppliedIndex())
		}
	}
}

// TestReopenKeepsAppliedIndex: the applied index is durable with the state.
func TestReopenKeepsAppliedIndex(t *testing.T) {
	h := fixture(t)
	want := h.digest()
	path := h.f.Path()
	if err := h.f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.AppliedIndex() != h.index {
		t.Fatalf("applied %d after reopen, want %d", f.AppliedIndex(), h.index)
	}
	if got, _ := f.Digest(); !equalDigests(got, want) {
		t.Fatal("state differs after reopen")
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
