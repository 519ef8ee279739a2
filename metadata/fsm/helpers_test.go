package fsm

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// harness drives a real FSM on a temp dir with hand-made Raft entries.
type harness struct {
	t     testing.TB
	f     *FSM
	index uint64
	log   []*raft.Log // every entry applied so far, for replay tests
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	f, err := Open(filepath.Join(t.TempDir(), "fsm.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &harness{t: t, f: f}
}

// entry makes the next Raft entry for cmd.
func (h *harness) entry(cmd *fsmv1.Command) *raft.Log {
	h.t.Helper()
	data, err := EncodeCommand(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	h.index++
	l := &raft.Log{Index: h.index, Term: 1, Type: raft.LogCommand, Data: data}
	h.log = append(h.log, l)
	return l
}

// apply applies one command and returns its result.
func (h *harness) apply(cmd *fsmv1.Command) *Result {
	h.t.Helper()
	res, ok := h.f.Apply(h.entry(cmd)).(*Result)
	if !ok {
		h.t.Fatalf("apply returned %T", res)
	}
	return res
}

// must applies a command that has to succeed.
func (h *harness) must(cmd *fsmv1.Command) *Result {
	h.t.Helper()
	res := h.apply(cmd)
	if res.Err != nil {
		h.t.Fatalf("apply %T: %v", cmd.Op, res.Err)
	}
	return res
}

func (h *harness) digest() []byte {
	h.t.Helper()
	d, err := h.f.Digest()
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) view(fn func(r *Reader) error) {
	h.t.Helper()
	if err := h.f.View(fn); err != nil {
		h.t.Fatal(err)
	}
}

// Command builders.

func cmdInitAccount(id string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_InitAccount{InitAccount: &fsmv1.InitAccount{Account: &metadatav1.Account{AccountId: id}}}}
}

func cmdCreateBucket(id, name string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_CreateBucket{CreateBucket: &fsmv1.CreateBucket{Bucket: &metadatav1.Bucket{BucketId: id, Name: name}}}}
}

func cmdCommit(bucket, key, vid, etag string, pre *metadatav1.Precondition, blobs ...string) *fsmv1.Command {
	v := &metadatav1.ObjectVersion{BucketId: bucket, Key: key, VersionId: vid, Etag: etag, Size: int64(len(key))}
	for _, b := range blobs {
		v.Segments = append(v.Segments, &metadatav1.Segment{Size: 1, Placement: &metadatav1.BlobPlacement{BlobId: b}})
	}
	return &fsmv1.Command{Op: &fsmv1.Command_CommitObject{CommitObject: &fsmv1.CommitObject{Version: v, Precondition: pre}}}
}

func cmdHide(bucket, key, vid string, failIfHidden bool) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_HideObject{HideObject: &fsmv1.HideObject{
		Marker: &metadatav1.ObjectVersion{BucketId: bucket, Key: key, VersionId: vid}, FailIfHidden: failIfHidden,
	}}}
}

func cmdStart(bucket, key, vid string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_StartUpload{StartUpload: &fsmv1.StartUpload{
		Upload: &metadatav1.ObjectVersion{BucketId: bucket, Key: key, VersionId: vid},
	}}}
}

func cmdDeleteVersion(bucket, key, vid string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_DeleteObjectVersion{DeleteObjectVersion: &fsmv1.DeleteObjectVersion{
		BucketId: bucket, Key: key, VersionId: vid,
	}}}
}

// seq makes distinct version ids.
type seq struct{ n int }

func (s *seq) next() string { s.n++; return fmt.Sprintf("v%06d", s.n) }

func equalDigests(a, b []byte) bool { return bytes.Equal(a, b) }
