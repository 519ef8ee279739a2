package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coffer-project/coffer/metadata/fsm"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const bucketID = "aaaaaaaaaaaaaaaaaaaaaaaa"

func testConfig(dir string, bootstrap bool) Config {
	return Config{
		Dir: dir, NodeID: "meta1", BindAddr: "127.0.0.1:0", Bootstrap: bootstrap,
		HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond,
	}
}

// open opens a store and waits until it can serve.
func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func createBucket(id, name string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_CreateBucket{CreateBucket: &fsmv1.CreateBucket{Bucket: &metadatav1.Bucket{BucketId: id, Name: name}}}}
}

func commit(key, vid string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_CommitObject{CommitObject: &fsmv1.CommitObject{Version: &metadatav1.ObjectVersion{BucketId: bucketID, Key: key, VersionId: vid}}}}
}

func propose(t *testing.T, s *Store, cmd *fsmv1.Command) *fsm.Result {
	t.Helper()
	res, err := s.Propose(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func digest(t *testing.T, s *Store) []byte {
	t.Helper()
	d, err := s.FSM().Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// writeSome creates the bucket and commits n keys from concurrent writers.
func writeSome(t *testing.T, s *Store, from, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + w; i < from+n; i += 4 {
				if _, err := s.Propose(context.Background(), commit(fmt.Sprintf("k%04d", i), fmt.Sprintf("v%04d", i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

func TestProposeAndRead(t *testing.T) {
	s := open(t, testConfig(t.TempDir(), true))
	if !s.IsLeader() {
		t.Fatal("a bootstrapped single node is not leader after WaitReady")
	}
	res := propose(t, s, createBucket(bucketID, "bucket-one"))
	if res.Bucket.GetCreateIndex() == 0 {
		t.Fatalf("bucket without index: %v", res.Bucket)
	}
	// A refusal comes back as the error, typed.
	if _, err := s.Propose(context.Background(), createBucket("bbbbbbbbbbbbbbbbbbbbbbbb", "BUCKET-ONE")); errs.KindOf(err) != errs.BucketAlreadyExists {
		t.Fatalf("duplicate name: %v", err)
	}
	writeSome(t, s, 0, 40)
	for _, stale := range []bool{false, true} {
		err := s.Read(context.Background(), stale, func(r *fsm.Reader) error {
			resp, err := r.ListObjects(&metadatav1.ListObjectsRequest{BucketId: bucketID, PageSize: 1000})
			if err == nil && len(resp.Objects) != 40 {
				err = fmt.Errorf("listed %d objects, want 40", len(resp.Objects))
			}
			return err
		})
		if err != nil {
			t.Fatalf("stale=%v: %v", stale, err)
		}
	}
	st, err := s.Status()
	if err != nil || st.State != "Leader" || st.LeaderID != "meta1" || len(st.Members) != 1 || st.AppliedIndex == 0 || st.AppliedIndex > st.CommitIndex {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// TestRestartKeepsStateWithoutReplay: after a restart on the same directory
// the state is identical and nothing is applied twice: every replayed entry
// is skipped by index.
func TestRestartKeepsStateWithoutReplay(t *testing.T) {
	dir := t.TempDir()
	s := open(t, testConfig(dir, true))
	propose(t, s, createBucket(bucketID, "bucket-one"))
	writeSome(t, s, 0, 30)
	want, wantIndex := digest(t, s), s.FSM().AppliedIndex()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, testConfig(dir, true)) // Bootstrap is ignored: there is state
	if got := digest(t, s); !bytes.Equal(got, want) {
		t.Fatal("state differs after restart")
	}
	if s.FSM().AppliedIndex() < wantIndex {
		t.Fatalf("applied index %d after restart, was %d", s.FSM().AppliedIndex(), wantIndex)
	}
	applied, skipped := s.FSM().Counters()
	if applied != 0 || skipped == 0 {
		t.Fatalf("after restart: %d entries applied again, %d skipped; want 0 applied", applied, skipped)
	}
	// And it keeps working.
	writeSome(t, s, 30, 5)
	if applied, _ := s.FSM().Counters(); applied != 5 {
		t.Fatalf("applied %d new entries, want 5", applied)
	}
}

// TestSnapshotRecoversLostState: with a snapshot in the Raft directory, a
// lost state file is rebuilt from the snapshot plus the log after it.
func TestSnapshotRecoversLostState(t *testing.T) {
	dir := t.TempDir()
	s := open(t, testConfig(dir, true))
	propose(t, s, createBucket(bucketID, "bucket-one"))
	writeSome(t, s, 0, 20)
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	writeSome(t, s, 20, 10) // after the snapshot: must come from the log
	want := digest(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "fsm.db")); err != nil {
		t.Fatal(err)
	}
	s = open(t, testConfig(dir, true))
	if got := digest(t, s); !bytes.Equal(got, want) {
		t.Fatal("state rebuilt from snapshot + log differs")
	}
}

// TestStateWithoutLogIsRefused: a state file whose Raft log is gone would
// skip the new log's entries; the store refuses to start instead.
func TestStateWithoutLogIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, testConfig(dir, true))
	propose(t, s, createBucket(bucketID, "bucket-one"))
	s.Close()
	if err := os.RemoveAll(filepath.Join(dir, "raft")); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(testConfig(dir, true)); err == nil {
		s.Close()
		t.Fatal("opened a state file without its raft log")
	}
}

// TestNotLeader: a node that was not bootstrapped and has no group refuses
// writes and linearizable reads with NotLeader, but serves stale reads.
func TestNotLeader(t *testing.T) {
	s := open(t, testConfig(t.TempDir(), false))
	if _, err := s.Propose(context.Background(), createBucket(bucketID, "bucket-one")); errs.KindOf(err) != errs.NotLeader {
		t.Fatalf("propose on a non-leader: %v", err)
	}
	read := func(r *fsm.Reader) error { return nil }
	if err := s.Read(context.Background(), false, read); errs.KindOf(err) != errs.NotLeader {
		t.Fatalf("linearizable read on a non-leader: %v", err)
	}
	if err := s.Read(context.Background(), true, read); err != nil {
		t.Fatalf("stale read: %v", err)
	}
}

// TestBadCommandsNeverReachTheLog: commands the state machine would refuse
// for their shape are refused by Propose, and the Raft log does not grow.
func TestBadCommandsNeverReachTheLog(t *testing.T) {
	s := open(t, testConfig(t.TempDir(), true))
	propose(t, s, createBucket(bucketID, "bucket-one"))
	last := s.raft.LastIndex()
	long := string(make([]byte, 1025))
	for name, c := range map[string]struct {
		cmd  *fsmv1.Command
		kind errs.Kind
	}{
		"no op":             {&fsmv1.Command{}, errs.InvalidArgument},
		"empty key":         {commit("", "v1"), errs.InvalidArgument},
		"NUL in key":        {commit("a\x00b", "v1"), errs.InvalidArgument},
		"key too long":      {commit("k"+long, "v1"), errs.InvalidArgument},
		"no version id":     {commit("k", ""), errs.InvalidArgument},
		"control in bucket": {createBucket("bad\x01id", "bucket-two"), errs.InvalidArgument},
		"placement without shards": {&fsmv1.Command{Op: &fsmv1.Command_UpdatePlacement{UpdatePlacement: &fsmv1.UpdatePlacement{BlobId: "b"}}},
			errs.InvalidArgument},
		"duplicate shard": {&fsmv1.Command{Op: &fsmv1.Command_UpdatePlacement{UpdatePlacement: &fsmv1.UpdatePlacement{BlobId: "b", Shards: []*metadatav1.ShardLocation{{Index: 1, NodeId: "n"}, {Index: 1, NodeId: "m"}}}}},
			errs.InvalidArgument},
		"member without address": {&fsmv1.Command{Op: &fsmv1.Command_SetMember{SetMember: &fsmv1.SetMember{Member: &metadatav1.Member{NodeId: "m1"}}}},
			errs.InvalidArgument},
		"abort without bucket": {&fsmv1.Command{Op: &fsmv1.Command_AbortUpload{AbortUpload: &fsmv1.AbortUpload{UploadId: "u"}}}, errs.InvalidArgument},
		"part number 0": {&fsmv1.Command{Op: &fsmv1.Command_CommitPart{CommitPart: &fsmv1.CommitPart{BucketId: bucketID, Part: &metadatav1.Part{UploadId: "u", Segment: &metadatav1.Segment{}}}}},
			errs.InvalidArgument},
	} {
		if _, err := s.Propose(context.Background(), c.cmd); errs.KindOf(err) != c.kind {
			t.Errorf("%s: %v, want kind %v", name, err, c.kind)
		}
	}
	if got := s.raft.LastIndex(); got != last {
		t.Fatalf("the log grew from %d to %d", last, got)
	}
}
