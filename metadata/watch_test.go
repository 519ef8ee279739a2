package metadata

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// watcher reads a Watch stream in the background.
type watcher struct {
	t      testing.TB
	cancel context.CancelFunc
	resps  chan *metadatav1.WatchResponse
	errc   chan error
}

func watch(t testing.TB, c metadatav1.MetadataServiceClient, req *metadatav1.WatchRequest) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := c.Watch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, cancel: cancel, resps: make(chan *metadatav1.WatchResponse, 1000), errc: make(chan error, 1)}
	go func(stream grpc.ServerStreamingClient[metadatav1.WatchResponse]) {
		for {
			r, err := stream.Recv()
			if err != nil {
				w.errc <- err
				return
			}
			w.resps <- r
		}
	}(stream)
	return w
}

// next returns the next response.
func (w *watcher) next() *metadatav1.WatchResponse {
	w.t.Helper()
	select {
	case r := <-w.resps:
		return r
	case err := <-w.errc:
		w.t.Fatalf("watch ended: %v", err)
	case <-time.After(10 * time.Second):
		w.t.Fatal("no watch response within 10s")
	}
	return nil
}

// until collects changes until a response reaches index.
func (w *watcher) until(index uint64) []*metadatav1.Change {
	w.t.Helper()
	var out []*metadatav1.Change
	for {
		r := w.next()
		out = append(out, r.Changes...)
		if r.Index >= index {
			return out
		}
	}
}

func describe(changes []*metadatav1.Change) string {
	var parts []string
	for _, c := range changes {
		s := strings.TrimPrefix(c.Kind.String(), "CHANGE_KIND_")
		if c.Deleted {
			s += "-"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// TestWatch: every kind of change is streamed once, in index order;
// resuming after any index yields exactly the rest; filters and refusals.
func TestWatch(t *testing.T) {
	n := startNode(t, testConfig(t))
	all := watch(t, n.meta, &metadatav1.WatchRequest{})
	first := all.next()
	if first.Index == 0 || len(first.Changes) != 0 || first.Compacted {
		t.Fatalf("first response %v", first)
	}
	keys := watch(t, n.meta, &metadatav1.WatchRequest{FromIndex: first.Index, Kinds: []metadatav1.ChangeKind{metadatav1.ChangeKind_CHANGE_KIND_KEY}})

	if _, err := n.meta.InitAccount(ctx(t), &metadatav1.InitAccountRequest{AccountId: "0123456789ab"}); err != nil {
		t.Fatal(err)
	}
	b := mustBucket(t, n, "bucket-one")
	if _, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "BUCKET-ONE"}}); errs.KindOf(err) != errs.BucketAlreadyExists {
		t.Fatalf("duplicate bucket: %v", err) // refused: no change
	}
	if _, err := n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: b.BucketId, SetCorsRules: true, CorsRules: []*corsv1.CorsRule{{}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.meta.CreateKey(ctx(t), &metadatav1.CreateKeyRequest{Key: &metadatav1.ApplicationKey{KeyId: "key-1"}}); err != nil {
		t.Fatal(err)
	}
	v := put(t, n, b.BucketId, "a/b", "e1", "blob-1")
	if _, err := n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: "a/b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.meta.DeleteObjectVersion(ctx(t), &metadatav1.DeleteObjectVersionRequest{VersionId: v.VersionId}); err != nil {
		t.Fatal(err)
	}
	del, err := n.meta.DeleteKey(ctx(t), &metadatav1.DeleteKeyRequest{KeyId: "key-1"})
	if err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	last := n.srv.Store().FSM().AppliedIndex()

	got := all.until(last)
	if d := describe(got); d != "ACCOUNT BUCKET BUCKET CORS KEY OBJECT OBJECT OBJECT- KEY-" {
		t.Fatalf("changes %s", d)
	}
	if c := got[len(got)-1]; c.KeyId != "key-1" || !c.Deleted {
		t.Fatalf("key deletion change %v", c)
	}
	if c := got[5]; c.BucketId != b.BucketId || c.Key != "a/b" || c.VersionId != v.VersionId || c.Index != v.CreateIndex {
		t.Fatalf("object change %v, version %v", c, v)
	}
	if lat := time.Since(deleted); lat > 5*time.Second {
		t.Fatalf("key deletion reached the watcher after %v", lat)
	}
	if d := describe(keys.until(last)); d != "KEY KEY-" {
		t.Fatalf("KEY-filtered changes %s", d)
	}
	_ = del

	// Resume after every index: exactly the later changes, no gap, no duplicate.
	for i := first.Index; i <= last; i++ {
		var want []*metadatav1.Change
		for _, c := range got {
			if c.Index > i {
				want = append(want, c)
			}
		}
		w := watch(t, n.meta, &metadatav1.WatchRequest{FromIndex: i})
		rest := w.until(last)
		if fmt.Sprint(rest) != fmt.Sprint(want) {
			t.Fatalf("resume after %d: %s, want %s", i, describe(rest), describe(want))
		}
		w.cancel()
	}

	// A filter that matches nothing still reports progress.
	cors := watch(t, n.meta, &metadatav1.WatchRequest{FromIndex: last, Kinds: []metadatav1.ChangeKind{metadatav1.ChangeKind_CHANGE_KIND_CORS}})
	cors.next()
	put(t, n, b.BucketId, "c", "e2")
	if r := cors.next(); len(r.Changes) != 0 || r.Index <= last {
		t.Fatalf("progress response %v", r)
	}

	// Drain ends the streams with Unavailable.
	n.srv.Drain(context.Background())
	select {
	case err := <-all.errc:
		if errs.KindOf(err) != errs.Unavailable {
			t.Fatalf("stream after Drain: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not end the stream")
	}
}

// TestWatchCompacted: a resume point older than the retained log is
// answered with compacted=true at the applied index, and the stream goes on.
func TestWatchCompacted(t *testing.T) {
	cfg := testConfig(t)
	cfg.WatchRetention = 5
	n := startNode(t, cfg)
	waitRegistered(t, n) // no entry of its own may move the floor below
	b := mustBucket(t, n, "bucket-one")
	for i := range 20 {
		put(t, n, b.BucketId, fmt.Sprintf("k%02d", i), "e")
	}
	applied := n.srv.Store().FSM().AppliedIndex()
	st, err := n.cluster.GetClusterStatus(ctx(t), &metadatav1.GetClusterStatusRequest{})
	if err != nil || st.WatchFloor != applied-5 {
		t.Fatalf("watch floor %d (applied %d): %v", st.GetWatchFloor(), applied, err)
	}
	w := watch(t, n.meta, &metadatav1.WatchRequest{FromIndex: 1})
	if r := w.next(); !r.Compacted || r.Index != applied || len(r.Changes) != 0 {
		t.Fatalf("compacted response %v (applied %d)", r, applied)
	}
	v := put(t, n, b.BucketId, "after", "e")
	if got := w.until(v.CreateIndex); len(got) != 1 || got[0].VersionId != v.VersionId {
		t.Fatalf("after compaction: %v", got)
	}
	// The floor itself is still a valid resume point.
	w2 := watch(t, n.meta, &metadatav1.WatchRequest{FromIndex: v.CreateIndex - 5})
	if got := w2.until(v.CreateIndex); len(got) != 5 {
		t.Fatalf("resume at the floor: %s", describe(got))
	}
}
