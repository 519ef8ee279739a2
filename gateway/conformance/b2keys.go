package conformance

import (
	"net/http"
	"testing"
	"time"
)

func testB2Keys(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2keys", "allPrivate", nil)
	id, bname := b["bucketId"].(string), b["bucketName"].(string)
	other := c.CreateBucket("b2keys", "allPrivate", nil)["bucketId"].(string)
	c.Upload(id, "pub/a", []byte("a"), nil)
	c.Upload(id, "secret/b", []byte("b"), nil)

	// A key restricted to one bucket and a name prefix (v1–v3: bucketId).
	k := c.Must("b2_create_key", map[string]any{"accountId": c.AccountID, "keyName": "restricted-key",
		"capabilities": []string{"listBuckets", "listFiles", "readFiles", "writeFiles"}, "bucketId": id, "namePrefix": "pub/",
		"validDurationInSeconds": 3600})
	if k["applicationKey"] == nil || k["bucketId"] != id || k["namePrefix"] != "pub/" || k["expirationTimestamp"] == nil || k["keyName"] != "restricted-key" {
		t.Fatalf("created key: %v", k)
	}
	if _, ok := k["bucketIds"]; ok {
		t.Fatalf("v2 keys carry bucketId, not bucketIds: %v", k)
	}
	rk := NewB2WithKey(t, tg.Endpoint, k["applicationKeyId"].(string), k["applicationKey"].(string), 2)
	allowed := rk.Auth["allowed"].(map[string]any)
	if allowed["bucketId"] != id || allowed["bucketName"] != bname || allowed["namePrefix"] != "pub/" {
		t.Fatalf("restricted authorize: %v", allowed)
	}
	// Inside its scope it works; outside, 401 unauthorized.
	if r := rk.DownloadByName(http.MethodGet, bname, "pub/a", rk.Token, nil); r.Status != 200 {
		t.Fatalf("restricted read: %d %s", r.Status, r.Body)
	}
	WantB2Error(t, rk.DownloadByName(http.MethodGet, bname, "secret/b", rk.Token, nil), 401, "unauthorized")
	WantB2Error(t, rk.Call("b2_list_file_names", map[string]any{"bucketId": id, "prefix": "secret/"}), 401, "unauthorized")
	if r := rk.Call("b2_list_file_names", map[string]any{"bucketId": id, "prefix": "pub/"}); r.Status != 200 {
		t.Fatalf("restricted list: %d %s", r.Status, r.Body)
	}
	WantB2Error(t, rk.Call("b2_list_file_names", map[string]any{"bucketId": other}), 401, "unauthorized")
	WantB2Error(t, rk.Call("b2_get_upload_url", map[string]any{"bucketId": other}), 401, "unauthorized")
	WantB2Error(t, rk.Call("b2_create_bucket", map[string]any{"accountId": c.AccountID, "bucketName": BucketName("nope"), "bucketType": "allPrivate"}), 401, "unauthorized")
	WantB2Error(t, rk.Call("b2_list_keys", map[string]any{"accountId": c.AccountID}), 401, "unauthorized")
	// It sees only its bucket.
	if got := bucketNames(t, rk.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID})); len(got) != 1 || got[0] != bname {
		t.Fatalf("restricted list_buckets: %v", got)
	}
	// Uploads outside the prefix are refused at the upload URL.
	uu, tok := rk.UploadURL(id)
	WantB2Error(t, rk.UploadRaw(uu, tok, []byte("x"), map[string]string{"X-Bz-File-Name": "secret/x", "X-Bz-Content-Sha1": SHA1Hex([]byte("x"))}), 401, "unauthorized")
	if r := rk.UploadRaw(uu, tok, []byte("x"), map[string]string{"X-Bz-File-Name": "pub/x", "X-Bz-Content-Sha1": SHA1Hex([]byte("x"))}); r.Status != 200 {
		t.Fatalf("restricted upload: %d %s", r.Status, r.Body)
	}

	// Invalid keys.
	for _, req := range []map[string]any{
		{"accountId": c.AccountID, "keyName": "k", "capabilities": []string{"noSuchCapability"}},
		{"accountId": c.AccountID, "keyName": "k", "capabilities": []string{}},
		{"accountId": c.AccountID, "keyName": "bad name!", "capabilities": []string{"listFiles"}},
		{"accountId": c.AccountID, "keyName": "k", "capabilities": []string{"listFiles"}, "validDurationInSeconds": 0},
		{"accountId": c.AccountID, "keyName": "k", "capabilities": []string{"writeKeys"}, "bucketId": id},
		{"accountId": c.AccountID, "keyName": "k", "capabilities": []string{"listFiles"}, "bucketId": "000000000000000000000000"},
		// Duplicate JSON keys are refused (a checker and a user could read different values).
		{"raw": `{"accountId":"` + c.AccountID + `","keyName":"k","capabilities":["listFiles"],"capabilities":["writeKeys"]}`},
	} {
		var resp *B2Response
		if raw, ok := req["raw"]; ok {
			resp = c.Call("b2_create_key", raw.(string))
		} else {
			resp = c.Call("b2_create_key", req)
		}
		if resp.Status == 200 {
			t.Fatalf("create_key %v succeeded", req)
		}
		if resp.Status != 400 {
			WantB2Error(t, resp, 400, "")
		}
	}

	// List (paged) and delete; a deleted key's tokens stop working.
	var listed []string
	start := ""
	for i := 0; i < 1000; i++ {
		req := map[string]any{"accountId": c.AccountID, "maxKeyCount": 1}
		if start != "" {
			req["startApplicationKeyId"] = start
		}
		page := c.Must("b2_list_keys", req)
		for _, x := range page["keys"].([]any) {
			key := x.(map[string]any)
			if _, secret := key["applicationKey"]; secret {
				t.Fatalf("list_keys shows a secret")
			}
			listed = append(listed, key["applicationKeyId"].(string))
		}
		next, _ := page["nextApplicationKeyId"].(string)
		if next == "" {
			break
		}
		start = next
	}
	found := false
	for _, x := range listed {
		found = found || x == k["applicationKeyId"]
	}
	if !found {
		t.Fatalf("list_keys lacks the new key: %v", listed)
	}
	WantB2Error(t, c.Call("b2_list_keys", map[string]any{"accountId": c.AccountID, "maxKeyCount": 10001}), 400, "out_of_range")
	del := c.Must("b2_delete_key", map[string]any{"applicationKeyId": k["applicationKeyId"]})
	if del["applicationKeyId"] != k["applicationKeyId"] {
		t.Fatalf("delete_key answer: %v", del)
	}
	// Gateways learn of the deletion through metadata's watch stream:
	// within moments, not necessarily before the next request.
	var after *B2Response
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if after = rk.Call("b2_list_file_names", map[string]any{"bucketId": id, "prefix": "pub/"}); after.Status != 200 {
			break
		}
	}
	WantB2Error(t, after, 401, "bad_auth_token")
	WantB2Error(t, c.Call("b2_delete_key", map[string]any{"applicationKeyId": k["applicationKeyId"]}), 400, "bad_request")

	// v4 keys name a list of buckets.
	c4 := NewB2(t, tg, 4)
	k4 := c4.Must("b2_create_key", map[string]any{"accountId": c.AccountID, "keyName": "multi-bucket",
		"capabilities": []string{"listFiles", "readFiles"}, "bucketIds": []string{id, other}})
	defer c4.Must("b2_delete_key", map[string]any{"applicationKeyId": k4["applicationKeyId"]})
	if ids, _ := k4["bucketIds"].([]any); len(ids) != 2 {
		t.Fatalf("v4 key: %v", k4)
	}
	if _, ok := k4["bucketId"]; ok {
		t.Fatalf("v4 keys carry bucketIds, not bucketId: %v", k4)
	}
	mk := NewB2WithKey(t, tg.Endpoint, k4["applicationKeyId"].(string), k4["applicationKey"].(string), 4)
	bs := mk.Auth["apiInfo"].(map[string]any)["storageApi"].(map[string]any)["allowed"].(map[string]any)["buckets"].([]any)
	if len(bs) != 2 {
		t.Fatalf("v4 allowed.buckets: %v", bs)
	}
	// Such a key cannot be described by v1–v3: authorizing there is refused.
	for _, ver := range []int{1, 2, 3} {
		v := &B2{t: t, Version: ver, HTTP: mk.HTTP}
		WantB2Error(t, v.Authorize(tg.Endpoint, k4["applicationKeyId"].(string), k4["applicationKey"].(string), http.MethodGet), 401, "unsupported")
	}
}

func testB2DownloadAuthorization(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2dlauth", "allPrivate", nil)
	id, bname := b["bucketId"].(string), b["bucketName"].(string)
	other := c.CreateBucket("b2dlauth", "allPrivate", nil)
	f := c.Upload(id, "shared/a", []byte("a"), nil)
	c.Upload(id, "private/b", []byte("b"), nil)
	c.Upload(other["bucketId"].(string), "shared/a", []byte("a"), nil)

	d := c.Must("b2_get_download_authorization", map[string]any{"bucketId": id, "fileNamePrefix": "shared/", "validDurationInSeconds": 600})
	tok := d["authorizationToken"].(string)
	if d["bucketId"] != id || d["fileNamePrefix"] != "shared/" || tok == "" {
		t.Fatalf("download authorization: %v", d)
	}
	if r := c.DownloadByName(http.MethodGet, bname, "shared/a", tok, nil); r.Status != 200 || string(r.Body) != "a" {
		t.Fatalf("by name with the token: %d %s", r.Status, r.Body)
	}
	// As a query parameter, as browsers use it.
	req, _ := http.NewRequest(http.MethodGet, c.DownloadURL+"/file/"+bname+"/shared/a?Authorization="+tok, nil)
	if r := c.Do(req); r.Status != 200 {
		t.Fatalf("query token: %d %s", r.Status, r.Body)
	}
	// Only by name, only under the prefix, only in its bucket, never for the API.
	WantB2Error(t, c.DownloadByName(http.MethodGet, bname, "private/b", tok, nil), 401, "unauthorized")
	WantB2Error(t, c.DownloadByName(http.MethodGet, other["bucketName"].(string), "shared/a", tok, nil), 401, "unauthorized")
	WantB2Error(t, c.DownloadByID(http.MethodGet, f["fileId"].(string), tok, nil), 401, "bad_auth_token")
	WantB2Error(t, c.CallWith(tok, "b2_list_file_names", map[string]any{"bucketId": id}), 401, "bad_auth_token")
	// Parameters.
	WantB2Error(t, c.Call("b2_get_download_authorization", map[string]any{"bucketId": id, "fileNamePrefix": "", "validDurationInSeconds": 604801}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_get_download_authorization", map[string]any{"bucketId": id, "validDurationInSeconds": 60}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_get_download_authorization", map[string]any{"bucketId": "000000000000000000000000", "fileNamePrefix": "", "validDurationInSeconds": 60}), 400, "bad_bucket_id")
}
