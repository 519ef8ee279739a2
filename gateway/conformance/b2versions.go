package conformance

import (
	"fmt"
	"strings"
	"testing"
)

// testB2Versions checks the shapes that differ between API versions
// (spec/b2-native.md §2.2, §11): what b2sdk 1.17 (v2), the CLI 1.3.0 (v1),
// blazer (v3) and current SDKs (v4) index without checking.
func testB2Versions(t *testing.T, tg B2Target) {
	has := func(m map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("missing %q in %v", k, m)
			}
		}
	}
	hasNot := func(m map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := m[k]; ok {
				t.Fatalf("unexpected %q in %v", k, m)
			}
		}
	}
	urls := []string{"apiUrl", "downloadUrl", "s3ApiUrl", "recommendedPartSize", "absoluteMinimumPartSize"}

	v1 := NewB2(t, tg, 1)
	has(v1.Auth, append(urls, "accountId", "authorizationToken", "allowed", "minimumPartSize")...)
	hasNot(v1.Auth, "apiInfo")
	a1 := v1.Auth["allowed"].(map[string]any)
	has(a1, "capabilities", "bucketId", "namePrefix")
	hasNot(a1, "bucketName")
	if v1.Auth["minimumPartSize"].(float64) != v1.Auth["recommendedPartSize"].(float64) {
		t.Fatalf("v1 minimumPartSize: %v", v1.Auth)
	}

	v2 := NewB2(t, tg, 2)
	has(v2.Auth, append(urls, "accountId", "authorizationToken", "allowed")...)
	hasNot(v2.Auth, "apiInfo")
	a2 := v2.Auth["allowed"].(map[string]any)
	has(a2, "capabilities", "bucketId", "bucketName", "namePrefix")
	if a2["bucketId"] != nil || a2["bucketName"] != nil || a2["namePrefix"] != nil {
		t.Fatalf("unrestricted v2 allowed: %v", a2)
	}

	v3 := NewB2(t, tg, 3)
	has(v3.Auth, "accountId", "authorizationToken", "apiInfo", "applicationKeyExpirationTimestamp")
	hasNot(v3.Auth, "apiUrl", "allowed")
	s3 := v3.Auth["apiInfo"].(map[string]any)["storageApi"].(map[string]any)
	has(s3, append(urls, "infoType", "capabilities", "bucketId", "bucketName", "namePrefix")...)
	hasNot(s3, "allowed")
	if s3["infoType"] != "storageApi" {
		t.Fatalf("v3 infoType: %v", s3)
	}

	v4 := NewB2(t, tg, 4)
	has(v4.Auth, "accountId", "authorizationToken", "apiInfo")
	s4 := v4.Auth["apiInfo"].(map[string]any)["storageApi"].(map[string]any)
	has(s4, append(urls, "allowed")...)
	hasNot(s4, "infoType", "bucketId", "bucketName", "capabilities")
	a4 := s4["allowed"].(map[string]any)
	has(a4, "capabilities", "buckets", "namePrefix")
	if a4["buckets"] != nil {
		t.Fatalf("unrestricted v4 allowed.buckets is null: %v", a4)
	}

	// A key restricted to one bucket, as each version names it.
	b := v4.CreateBucket("b2versions", "allPrivate", nil)
	id, name := b["bucketId"].(string), b["bucketName"].(string)
	k := v4.Must("b2_create_key", map[string]any{"accountId": v4.AccountID, "keyName": "one-bucket",
		"capabilities": []string{"listFiles", "readFiles", "writeFiles", "listBuckets"}, "bucketIds": []string{id}})
	defer v4.Must("b2_delete_key", map[string]any{"applicationKeyId": k["applicationKeyId"]})
	kid, secret := k["applicationKeyId"].(string), k["applicationKey"].(string)
	r1 := NewB2WithKey(t, tg.Endpoint, kid, secret, 1).Auth["allowed"].(map[string]any)
	r2 := NewB2WithKey(t, tg.Endpoint, kid, secret, 2).Auth["allowed"].(map[string]any)
	r3 := NewB2WithKey(t, tg.Endpoint, kid, secret, 3).Auth["apiInfo"].(map[string]any)["storageApi"].(map[string]any)
	r4 := NewB2WithKey(t, tg.Endpoint, kid, secret, 4).Auth["apiInfo"].(map[string]any)["storageApi"].(map[string]any)["allowed"].(map[string]any)
	if r1["bucketId"] != id || r2["bucketId"] != id || r2["bucketName"] != name || r3["bucketId"] != id || r3["bucketName"] != name {
		t.Fatalf("restricted scopes: v1 %v v2 %v v3 %v", r1, r2, r3)
	}
	if bs := r4["buckets"].([]any); len(bs) != 1 || bs[0].(map[string]any)["id"] != id || bs[0].(map[string]any)["name"] != name {
		t.Fatalf("restricted v4 buckets: %v", r4)
	}

	// File objects: v1 also says "size"; others only contentLength.
	v4.Upload(id, "f", []byte("12345"), nil)
	for ver, c := range map[int]*B2{1: v1, 2: v2, 3: v3, 4: v4} {
		files := c.Must("b2_list_file_names", map[string]any{"bucketId": id})["files"].([]any)
		f := files[0].(map[string]any)
		has(f, "accountId", "action", "bucketId", "contentLength", "contentSha1", "contentMd5", "contentType", "fileId",
			"fileInfo", "fileName", "fileRetention", "legalHold", "serverSideEncryption", "uploadTimestamp")
		if ver == 1 {
			if f["size"].(float64) != 5 {
				t.Fatalf("v1 size: %v", f)
			}
		} else {
			hasNot(f, "size")
		}
		// Upload URLs stay on the caller's version.
		u := c.Must("b2_get_upload_url", map[string]any{"bucketId": id})
		if !strings.Contains(u["uploadUrl"].(string), fmt.Sprintf("/b2api/v%d/b2_upload_file/%s/", ver, id)) {
			t.Fatalf("v%d upload URL: %v", ver, u["uploadUrl"])
		}
		// Keys: bucketId up to v3, bucketIds on v4.
		keys := c.Must("b2_list_keys", map[string]any{"accountId": c.AccountID, "maxKeyCount": 1000})["keys"].([]any)
		for _, x := range keys {
			key := x.(map[string]any)
			if key["applicationKeyId"] != kid {
				continue
			}
			if ver == 4 {
				has(key, "bucketIds")
				hasNot(key, "bucketId")
			} else {
				has(key, "bucketId")
				hasNot(key, "bucketIds")
			}
		}
	}
}
