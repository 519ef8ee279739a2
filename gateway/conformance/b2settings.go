package conformance

import (
	"testing"
)

// A valid native CORS rule (cors.md §1.1).
var b2CorsRule = map[string]any{
	"corsRuleName":      "downloadFromAnyOrigin",
	"allowedOrigins":    []string{"https"},
	"allowedOperations": []string{"b2_download_file_by_name", "b2_download_file_by_id"},
	"allowedHeaders":    []string{"range"},
	"exposeHeaders":     []string{"x-bz-content-sha1"},
	"maxAgeSeconds":     3600,
}

func testB2BucketSettings(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 3)
	b := c.CreateBucket("b2settings", "allPrivate", map[string]any{
		"corsRules":      []any{b2CorsRule},
		"lifecycleRules": []any{map[string]any{"fileNamePrefix": "logs/", "daysFromUploadingToHiding": 30, "daysFromHidingToDeleting": 1}},
	})
	id := b["bucketId"].(string)
	rules := b["corsRules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["corsRuleName"] != "downloadFromAnyOrigin" ||
		rules[0].(map[string]any)["maxAgeSeconds"].(float64) != 3600 {
		t.Fatalf("corsRules: %v", b["corsRules"])
	}
	lc := b["lifecycleRules"].([]any)
	if len(lc) != 1 || lc[0].(map[string]any)["fileNamePrefix"] != "logs/" || lc[0].(map[string]any)["daysFromUploadingToHiding"].(float64) != 30 {
		t.Fatalf("lifecycleRules: %v", b["lifecycleRules"])
	}
	rev := b["revision"].(float64)
	update := func(extra map[string]any) *B2Response {
		req := map[string]any{"accountId": c.AccountID, "bucketId": id}
		for k, v := range extra {
			req[k] = v
		}
		return c.Call("b2_update_bucket", req)
	}

	// Each present field replaces the stored one; revision counts updates.
	resp := update(map[string]any{"bucketType": "allPublic", "bucketInfo": map[string]string{"cache-control": "max-age=600"}, "ifRevisionIs": rev})
	if resp.Status != 200 {
		t.Fatalf("update: %d %s", resp.Status, resp.Body)
	}
	u := resp.JSON(t)
	if u["bucketType"] != "allPublic" || u["bucketInfo"].(map[string]any)["cache-control"] != "max-age=600" || u["revision"].(float64) <= rev {
		t.Fatalf("updated bucket: %v", u)
	}
	if len(u["corsRules"].([]any)) != 1 || len(u["lifecycleRules"].([]any)) != 1 {
		t.Fatalf("fields absent from the update must stay: %v", u)
	}
	// ifRevisionIs is optimistic locking: a stale revision is 409 conflict.
	WantB2Error(t, update(map[string]any{"bucketType": "allPrivate", "ifRevisionIs": rev}), 409, "conflict")
	// Empty arrays clear.
	u = update(map[string]any{"corsRules": []any{}, "lifecycleRules": []any{}}).JSON(t)
	if len(u["corsRules"].([]any)) != 0 || len(u["lifecycleRules"].([]any)) != 0 {
		t.Fatalf("clear: %v", u)
	}
	rev = u["revision"].(float64)
	u = update(map[string]any{"corsRules": []any{b2CorsRule}, "bucketType": "allPrivate", "ifRevisionIs": rev}).JSON(t)
	if len(u["corsRules"].([]any)) != 1 || u["bucketType"] != "allPrivate" {
		t.Fatalf("cors and type together: %v", u)
	}

	// Invalid settings are refused and change nothing.
	bad := []map[string]any{
		{"corsRules": []any{map[string]any{"corsRuleName": "b2-reserved", "allowedOrigins": []string{"*"}, "allowedOperations": []string{"s3_get"}}}},
		{"corsRules": []any{map[string]any{"corsRuleName": "wildcards", "allowedOrigins": []string{"*", "https://a.com"}, "allowedOperations": []string{"s3_get"}}}},
		{"corsRules": []any{map[string]any{"corsRuleName": "badoperation", "allowedOrigins": []string{"*"}, "allowedOperations": []string{"S3_GET"}}}},
		{"lifecycleRules": []any{map[string]any{"fileNamePrefix": "a/", "daysFromHidingToDeleting": 1}, map[string]any{"fileNamePrefix": "a/b/", "daysFromHidingToDeleting": 1}}},
		{"lifecycleRules": []any{map[string]any{"fileNamePrefix": "", "daysFromHidingToDeleting": 0}}},
		{"lifecycleRules": []any{map[string]any{"daysFromHidingToDeleting": 3}}},
		{"bucketInfo": map[string]string{"b2-reserved": "x"}},
		{"bucketInfo": map[string]string{"bad key": "x"}},
		{"bucketType": "restrictedish"},
		{"defaultServerSideEncryption": map[string]any{"mode": "SSE-C", "algorithm": "AES256"}},
		{},
	}
	for _, extra := range bad {
		WantB2Error(t, update(extra), 400, "bad_request")
	}
	after := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketId": id})["buckets"].([]any)[0].(map[string]any)
	if after["revision"] != u["revision"] || len(after["corsRules"].([]any)) != 1 {
		t.Fatalf("a refused update changed the bucket: %v", after)
	}
	// A create with invalid CORS rules creates nothing.
	name := BucketName("b2badcors")
	WantB2Error(t, c.Call("b2_create_bucket", map[string]any{"accountId": c.AccountID, "bucketName": name, "bucketType": "allPrivate",
		"corsRules": bad[0]["corsRules"]}), 400, "bad_request")
	if got := bucketNames(t, c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketName": name})); len(got) != 0 {
		t.Fatalf("refused create left %v", got)
	}

	// File lock: enabled once, never disabled; a default retention needs it.
	WantB2Error(t, update(map[string]any{"defaultRetention": map[string]any{"mode": "governance", "period": map[string]any{"duration": 1, "unit": "days"}}}), 400, "file_lock_conflict")
	u = update(map[string]any{"fileLockEnabled": true, "defaultRetention": map[string]any{"mode": "governance", "period": map[string]any{"duration": 2, "unit": "days"}}}).JSON(t)
	fl := u["fileLockConfiguration"].(map[string]any)
	if fl["isClientAuthorizedToRead"] != true {
		t.Fatalf("fileLockConfiguration: %v", fl)
	}
	v := fl["value"].(map[string]any)
	dr := v["defaultRetention"].(map[string]any)
	if v["isFileLockEnabled"] != true || dr["mode"] != "governance" || dr["period"].(map[string]any)["duration"].(float64) != 2 {
		t.Fatalf("file lock value: %v", v)
	}
	WantB2Error(t, update(map[string]any{"fileLockEnabled": false}), 400, "file_lock_conflict")
	// Replication is not offered; asking for it is an explicit refusal.
	WantB2Error(t, update(map[string]any{"replicationConfiguration": map[string]any{"asReplicationSource": map[string]any{}}}), 400, "bad_request")
	// A bucket of another account cannot be updated.
	WantB2Error(t, c.Call("b2_update_bucket", map[string]any{"accountId": "000000000000", "bucketId": id, "bucketType": "allPrivate"}), 401, "unauthorized")
	WantB2Error(t, c.Call("b2_update_bucket", map[string]any{"accountId": c.AccountID, "bucketId": "000000000000000000000000", "bucketType": "allPrivate"}), 400, "bad_bucket_id")
}
