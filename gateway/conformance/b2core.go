package conformance

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// B2Options select the parts of the B2 suite a target supports.
type B2Options struct {
	// TestMode: the target honours X-Bz-Test-Mode (coffer's
	// --b2-test-mode), so the retry checks run.
	TestMode bool
	// RunLifecycle, when set, makes the target apply bucket lifecycle
	// rules once as of now (coffer: ClusterService.RunLifecycle), so the
	// lifecycle checks run without waiting days.
	RunLifecycle func(t testing.TB, now time.Time)
}

// B2Core runs the B2 Native API suite against tg: every call with its main
// error cases, each API version's shapes, and the blazer client.
func B2Core(t *testing.T, tg B2Target, opts B2Options) {
	t.Run("Authorize", func(t *testing.T) { testB2Authorize(t, tg) })
	t.Run("Versions", func(t *testing.T) { testB2Versions(t, tg) })
	t.Run("Buckets", func(t *testing.T) { testB2Buckets(t, tg) })
	t.Run("BucketSettings", func(t *testing.T) { testB2BucketSettings(t, tg) })
	t.Run("Uploads", func(t *testing.T) { testB2Uploads(t, tg) })
	t.Run("Listing", func(t *testing.T) { testB2Listing(t, tg) })
	t.Run("Downloads", func(t *testing.T) { testB2Downloads(t, tg) })
	t.Run("HideDelete", func(t *testing.T) { testB2HideDelete(t, tg) })
	t.Run("Keys", func(t *testing.T) { testB2Keys(t, tg) })
	t.Run("DownloadAuthorization", func(t *testing.T) { testB2DownloadAuthorization(t, tg) })
	t.Run("LargeFiles", func(t *testing.T) { testB2LargeFiles(t, tg) })
	t.Run("FileLock", func(t *testing.T) { testB2FileLock(t, tg) })
	t.Run("Copy", func(t *testing.T) { testB2Copy(t, tg) })
	t.Run("Encryption", func(t *testing.T) { testB2Encryption(t, tg) })
	t.Run("CORS", func(t *testing.T) { testB2CORS(t, tg) })
	t.Run("Errors", func(t *testing.T) { testB2Errors(t, tg) })
	t.Run("Blazer", func(t *testing.T) { testB2Blazer(t, tg) })
	if opts.RunLifecycle != nil {
		t.Run("Lifecycle", func(t *testing.T) { testB2Lifecycle(t, tg, opts.RunLifecycle) })
	}
	if opts.TestMode {
		t.Run("TestMode", func(t *testing.T) { testB2TestMode(t, tg) })
		t.Run("BlazerRetries", func(t *testing.T) { testB2BlazerRetries(t, tg) })
	}
}

func testB2Authorize(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 4)
	// POST with {} as b2sdk and the old CLI send it.
	if resp := c.Authorize(tg.Endpoint, tg.KeyID, tg.Key, http.MethodPost); resp.Status != 200 {
		t.Fatalf("POST authorize: %d %s", resp.Status, resp.Body)
	}
	WantB2Error(t, c.Authorize(tg.Endpoint, tg.KeyID, tg.Key+"x", http.MethodGet), 401, "unauthorized")
	WantB2Error(t, c.Authorize(tg.Endpoint, "00nosuchkey0000000000000", tg.Key, http.MethodGet), 401, "unauthorized")
	req, _ := http.NewRequest(http.MethodGet, tg.Endpoint+"/b2api/v4/b2_authorize_account", nil)
	WantB2Error(t, c.Do(req), 401, "unauthorized")
	// API responses are never cached.
	resp := c.Call("b2_list_buckets", map[string]any{"accountId": c.AccountID})
	if resp.Header.Get("Cache-Control") != "max-age=0, no-cache, no-store" || resp.Header.Get("Content-Type") != "application/json;charset=UTF-8" {
		t.Fatalf("API headers: %v", resp.Header)
	}
	// Calls need the account token; a garbled or missing one is bad_auth_token.
	WantB2Error(t, c.CallWith("", "b2_list_buckets", map[string]any{"accountId": c.AccountID}), 401, "bad_auth_token")
	WantB2Error(t, c.CallWith("c1_garbage", "b2_list_buckets", map[string]any{"accountId": c.AccountID}), 401, "bad_auth_token")
	WantB2Error(t, c.Call("b2_list_buckets", map[string]any{"accountId": "000000000000"}), 401, "unauthorized")
}

func bucketNames(t testing.TB, resp map[string]any) []string {
	var names []string
	for _, b := range resp["buckets"].([]any) {
		names = append(names, b.(map[string]any)["bucketName"].(string))
	}
	return names
}

func testB2Buckets(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	created := time.Now()
	priv := c.CreateBucket("b2buckets", "allPrivate", map[string]any{"bucketInfo": map[string]string{"Color": "blue"}})
	pub := c.CreateBucket("b2buckets", "allPublic", nil)
	if priv["bucketType"] != "allPrivate" || pub["bucketType"] != "allPublic" {
		t.Fatalf("types: %v %v", priv["bucketType"], pub["bucketType"])
	}
	if info := priv["bucketInfo"].(map[string]any); info["color"] != "blue" {
		t.Fatalf("bucketInfo keys are stored lower-cased: %v", info)
	}
	if rev := priv["revision"].(float64); rev < 1 {
		t.Fatalf("revision %v", rev)
	}
	for _, field := range []string{"accountId", "bucketId", "corsRules", "lifecycleRules", "defaultServerSideEncryption",
		"fileLockConfiguration", "replicationConfiguration", "options"} {
		if _, ok := priv[field]; !ok {
			t.Fatalf("bucket lacks %s: %v", field, priv)
		}
	}
	name := priv["bucketName"].(string)
	// coffer's addition: creationTimestamp (milliseconds), which B2 shows in
	// its web console but not in its API; coffer's console reads it here.
	// It is when the bucket was created, and no update moves it. (Real B2
	// sends no such field: the check applies where it is present.)
	if ts, ok := priv["creationTimestamp"].(float64); ok {
		if d := time.UnixMilli(int64(ts)).Sub(created); d < -5*time.Minute || d > 5*time.Minute {
			t.Fatalf("creationTimestamp %v is %v from the time of creation", priv["creationTimestamp"], d)
		}
		upd := c.Must("b2_update_bucket", map[string]any{"accountId": c.AccountID, "bucketId": priv["bucketId"], "bucketInfo": map[string]string{"color": "green"}})
		if upd["creationTimestamp"] != priv["creationTimestamp"] {
			t.Fatalf("an update moved creationTimestamp: %v → %v", priv["creationTimestamp"], upd["creationTimestamp"])
		}
	}
	// Names are unique case-insensitively, across every account.
	WantB2Error(t, c.Call("b2_create_bucket", map[string]any{"accountId": c.AccountID, "bucketName": name, "bucketType": "allPrivate"}), 400, "duplicate_bucket_name")
	for _, bad := range []string{"short", "has_underscore", "b2-reserved-name", "dots.are.not.ok", "x"} {
		WantB2Error(t, c.Call("b2_create_bucket", map[string]any{"accountId": c.AccountID, "bucketName": bad, "bucketType": "allPrivate"}), 400, "bad_request")
	}
	WantB2Error(t, c.Call("b2_create_bucket", map[string]any{"accountId": c.AccountID, "bucketName": BucketName("b2type"), "bucketType": "allWeird"}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_create_bucket", map[string]any{"accountId": c.AccountID, "bucketName": BucketName("b2type")}), 400, "bad_request")

	// Listing: all, by id, by name, by type, and GET with query parameters.
	all := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketTypes": []string{"all"}})
	names := bucketNames(t, all)
	if !slices.Contains(names, name) || !slices.Contains(names, pub["bucketName"].(string)) {
		t.Fatalf("list lacks buckets: %v", names)
	}
	if !slices.IsSorted(names) {
		t.Fatalf("buckets not sorted by name: %v", names)
	}
	byID := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketId": priv["bucketId"]})
	if got := bucketNames(t, byID); len(got) != 1 || got[0] != name {
		t.Fatalf("by id: %v", got)
	}
	byName := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketName": name})
	if got := bucketNames(t, byName); len(got) != 1 || got[0] != name {
		t.Fatalf("by name: %v", got)
	}
	public := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketTypes": []string{"allPublic"}})
	if got := bucketNames(t, public); slices.Contains(got, name) || !slices.Contains(got, pub["bucketName"].(string)) {
		t.Fatalf("by type: %v", got)
	}
	none := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketName": "no-such-bucket-here"})
	if got := bucketNames(t, none); len(got) != 0 {
		t.Fatalf("unknown name lists %v", got)
	}
	get := c.Get("b2_list_buckets", url.Values{"accountId": {c.AccountID}, "bucketTypes": {`["all"]`}, "bucketName": {name}})
	if get.Status != 200 || len(bucketNames(t, get.JSON(t))) != 1 {
		t.Fatalf("GET list: %d %s", get.Status, get.Body)
	}
	WantB2Error(t, c.Call("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketTypes": []string{"all", "allPublic"}}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketTypes": []string{}}), 400, "bad_request")

	// Delete: not while it holds a file; unknown ids are bad_bucket_id.
	b := c.Must("b2_create_bucket", map[string]any{"accountId": c.AccountID, "bucketName": BucketName("b2delete"), "bucketType": "allPrivate"})
	id := b["bucketId"].(string)
	f := c.Upload(id, "keep", []byte("x"), nil)
	WantB2Error(t, c.Call("b2_delete_bucket", map[string]any{"accountId": c.AccountID, "bucketId": id}), 400, "bad_request")
	c.Must("b2_delete_file_version", map[string]any{"fileId": f["fileId"], "fileName": "keep"})
	deleted := c.Must("b2_delete_bucket", map[string]any{"accountId": c.AccountID, "bucketId": id})
	if deleted["bucketId"] != id {
		t.Fatalf("delete returns the bucket: %v", deleted)
	}
	WantB2Error(t, c.Call("b2_delete_bucket", map[string]any{"accountId": c.AccountID, "bucketId": id}), 400, "bad_bucket_id")
}
