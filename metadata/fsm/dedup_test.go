package fsm

import (
	"testing"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// withRequest sets a command's request id, hash and stamped time.
func withRequest(c *fsmv1.Command, id, hash string, t int64) *fsmv1.Command {
	c.RequestId, c.RequestHash, c.RequestTimeUnixNanos = id, []byte(hash), t
	return c
}

func versionCount(h *harness) int {
	n := 0
	h.view(func(r *Reader) error { n = r.VersionCount(bkt); return nil })
	return n
}

func TestRequestDedup(t *testing.T) {
	h := fixture(t)
	n0 := versionCount(h)
	first := h.must(withRequest(cmdCommit(bkt, "k", "v1", "e", nil), "req-1", "h", 1e12)).Version
	// The retry carries another stamped version id; it gets the first result.
	again := h.must(withRequest(cmdCommit(bkt, "k", "v2", "e", nil), "req-1", "h", 1e12+1e9))
	if again.Version.VersionId != "v1" || first.VersionId != "v1" || versionCount(h) != n0+1 {
		t.Fatalf("retry applied again: %v (versions %d)", again.Version, versionCount(h)-n0)
	}
	// The same id with another request, or another op, is a new request.
	h.must(withRequest(cmdCommit(bkt, "k", "v3", "e", nil), "req-1", "other", 1e12+2e9))
	if versionCount(h) != n0+2 {
		t.Fatal("a different request with a reused id was deduplicated")
	}
	h.must(withRequest(cmdHide(bkt, "k", "v4", false), "req-1", "other", 1e12+3e9))
	if versionCount(h) != n0+3 {
		t.Fatal("another op with a reused id was deduplicated")
	}
	// After the time window the id is forgotten.
	h.must(withRequest(cmdCommit(bkt, "t", "v5", "e", nil), "req-2", "h", 1e12))
	h.must(withRequest(cmdCommit(bkt, "t", "v6", "e", nil), "req-2", "h", 1e12+int64(RequestWindow)+1))
	if versionCount(h) != n0+5 {
		t.Fatal("a retry after the window was deduplicated")
	}
	// A refusal is not remembered: the retry is evaluated again.
	h.apply(withRequest(cmdPart(bkt, "vNope", 1, "b", md5A, 1), "req-3", "h", 1e12))
	h.must(cmdStart(bkt, "u", "vNope"))
	if res := h.apply(withRequest(cmdPart(bkt, "vNope", 1, "b", md5A, 1), "req-3", "h", 1e12)); res.Err != nil {
		t.Fatalf("retry of a refused request: %v", res.Err)
	}
	// Every result field comes back: a retried CompleteUpload returns the
	// version and the discarded parts although the upload is gone.
	h.must(cmdPart(bkt, "vNope", 2, "b2", md5B, 1))
	c1 := h.must(withRequest(cmdComplete(bkt, "vNope", 0, ref(2, "")), "req-4", "h", 1e12))
	c2 := h.must(withRequest(cmdComplete(bkt, "vNope", 0, ref(2, "")), "req-4", "h", 1e12))
	if c2.Version.GetVersionId() != "vNope" || len(c2.Parts) != 1 || len(c1.Parts) != 1 {
		t.Fatalf("retried completion: %v", c2)
	}
}

// TestRequestWindowByIndex: ids are forgotten after the index window, and
// the table is trimmed; replicas agree whatever their batch boundaries.
func TestRequestWindowByIndex(t *testing.T) {
	saved := requestWindowEntries
	requestWindowEntries = 5
	defer func() { requestWindowEntries = saved }()
	h := fixture(t)
	h.must(withRequest(cmdCommit(bkt, "k", "v1", "e", nil), "req-1", "h", 1e12))
	for i := range 5 {
		h.must(cmdCommit(bkt, "f", "vf"+string(rune('0'+i)), "e", nil))
	}
	if res := h.must(withRequest(cmdCommit(bkt, "k", "v2", "e", nil), "req-1", "h", 1e12)); res.Version.VersionId != "v2" {
		t.Fatalf("retry after the index window returned %v", res.Version)
	}
	h.view(func(r *Reader) error {
		if n := r.s.tx.Bucket(bktRequestLog).Stats().KeyN; n != 1 {
			t.Errorf("request log holds %d entries, want 1 (the new one)", n)
		}
		return nil
	})
	other := newHarness(t)
	for i := 0; i < len(h.log); i += 3 {
		other.f.ApplyBatch(h.log[i:min(i+3, len(h.log))])
	}
	if !equalDigests(h.digest(), other.digest()) {
		t.Fatal("batch boundaries changed the state")
	}
}

func TestLifecycleConditions(t *testing.T) {
	h := fixture(t)
	at := func(c *fsmv1.Command, ts int64) *fsmv1.Command { c.RequestTimeUnixNanos = ts; return c }
	h.must(at(cmdCommit(bkt, "x", "x1", "e", nil), 100))
	h.must(at(cmdCommit(bkt, "x", "x2", "e", nil), 200))
	h.must(at(cmdHide(bkt, "x", "x3", false), 300))
	h.must(at(cmdCommit(bkt, "y", "y1", "e", nil), 100))
	h.must(at(cmdHide(bkt, "y", "y2", false), 150))
	lc := func(key, vid string, cutoff int64) *fsmv1.Command {
		c := cmdDeleteVersion(bkt, key, vid)
		c.GetDeleteObjectVersion().LifecycleCutoffUnixNanos = cutoff
		return c
	}
	hideIf := func(key, vid, current string) *fsmv1.Command {
		c := cmdHide(bkt, key, vid, false)
		c.GetHideObject().IfCurrentVersionId = current
		return c
	}
	for _, tc := range []struct {
		name string
		cmd  *fsmv1.Command
		want errs.Kind
	}{
		{"non-current too recently", lc("x", "x1", 199), errs.PreconditionFailed},
		{"current is never expired", lc("a", "vA1", 1<<62), errs.PreconditionFailed},
		{"marker with older versions stays", lc("x", "x3", 1<<62), errs.PreconditionFailed},
		{"non-current since 200", lc("x", "x1", 200), 0},
		{"non-current since 300", lc("x", "x2", 300), 0},
		{"lone marker too recent", lc("x", "x3", 299), errs.PreconditionFailed},
		{"lone marker", lc("x", "x3", 300), 0},
		{"unfinished uploads are not lifecycle deletions", lc("s", "vS1", 1<<62), errs.PreconditionFailed},
		{"hide if current: stale", hideIf("y", "y3", "y1"), errs.PreconditionFailed},
		{"hide if current", hideIf("a", "a9", "vA1"), 0},
	} {
		before := h.digest()
		res := h.apply(tc.cmd)
		if got := errs.KindOf(res.Err); got != tc.want && !(tc.want == 0 && res.Err == nil) {
			t.Fatalf("%s: %v, want %v", tc.name, res.Err, tc.want)
		}
		if tc.want != 0 && !equalDigests(before, h.digest()) {
			t.Fatalf("%s: refused but changed the state", tc.name)
		}
	}
	h.view(func(r *Reader) error {
		if _, err := r.Version(bkt, "x", "x3"); errs.KindOf(err) != errs.VersionNotFound {
			t.Errorf("marker still there: %v", err)
		}
		return nil
	})
}
