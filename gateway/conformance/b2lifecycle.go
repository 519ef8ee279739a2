package conformance

import (
	"strings"
	"testing"
	"time"
)

// testB2Lifecycle sets lifecycle rules through b2_create_bucket and has
// the target apply them with a clock moved days ahead (opts.RunLifecycle):
// uploads are hidden, hidden versions deleted and unfinished large files
// cancelled per prefix, and names outside every rule are left alone.
func testB2Lifecycle(t *testing.T, tg B2Target, run func(t testing.TB, now time.Time)) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2lifecycle", "allPrivate", map[string]any{"lifecycleRules": []any{
		map[string]any{"fileNamePrefix": "logs/", "daysFromUploadingToHiding": 1},
		map[string]any{"fileNamePrefix": "old/", "daysFromHidingToDeleting": 1},
		map[string]any{"fileNamePrefix": "tmp/", "daysFromStartingToCancelingUnfinishedLargeFiles": 2},
	}})
	id := b["bucketId"].(string)
	c.Upload(id, "logs/a", []byte("a"), nil)
	c.Upload(id, "old/c", []byte("c1"), nil)
	c.Upload(id, "old/c", []byte("c2"), nil)
	c.Upload(id, "keep/b", []byte("b"), nil)
	c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "tmp/x", "contentType": "text/plain"})
	c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "keep/y", "contentType": "text/plain"})
	start := time.Now()
	versions := func() string {
		var v listPage
		c.Call("b2_list_file_versions", map[string]any{"bucketId": id}).Into(t, &v)
		var out []string
		for _, f := range v.Files {
			out = append(out, f.FileName+":"+f.Action)
		}
		return strings.Join(out, ",")
	}

	// A day later: logs/a is hidden, old/c's older version is deleted; the
	// unfinished tmp/x is not two days old yet; keep/ is outside every rule.
	run(t, start.Add(25*time.Hour))
	if got := versions(); got != "keep/b:upload,keep/y:start,logs/a:hide,logs/a:upload,old/c:upload,tmp/x:start" {
		t.Fatalf("after one day: %s", got)
	}
	// Two days later the unfinished large file is cancelled.
	run(t, start.Add(49*time.Hour))
	if got := versions(); got != "keep/b:upload,keep/y:start,logs/a:hide,logs/a:upload,old/c:upload" {
		t.Fatalf("after two days: %s", got)
	}
}
