package conformance

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func testB2FileLock(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2lock", "allPrivate", map[string]any{"fileLockEnabled": true})
	id, bname := b["bucketId"].(string), b["bucketName"].(string)
	if v := b["fileLockConfiguration"].(map[string]any)["value"].(map[string]any); v["isFileLockEnabled"] != true {
		t.Fatalf("file lock at create: %v", b["fileLockConfiguration"])
	}
	f := c.Upload(id, "held", []byte("keep me"), nil)
	fid := f["fileId"].(string)
	until := time.Now().Add(time.Hour).UnixMilli()

	// Governance retention: deletes are refused unless bypassed.
	r := c.Must("b2_update_file_retention", map[string]any{"fileName": "held", "fileId": fid,
		"fileRetention": map[string]any{"mode": "governance", "retainUntilTimestamp": until}})
	if ret := r["fileRetention"].(map[string]any); ret["mode"] != "governance" || ret["retainUntilTimestamp"].(float64) != float64(until) {
		t.Fatalf("update_file_retention: %v", r)
	}
	info := c.Must("b2_get_file_info", map[string]any{"fileId": fid})
	if v := info["fileRetention"].(map[string]any)["value"].(map[string]any); v["mode"] != "governance" {
		t.Fatalf("file info retention: %v", info["fileRetention"])
	}
	dl := c.DownloadByName(http.MethodGet, bname, "held", c.Token, nil)
	if dl.Header.Get("X-Bz-File-Retention-Mode") != "governance" || dl.Header.Get("X-Bz-File-Retention-Retain-Until-Timestamp") != fmt.Sprint(until) {
		t.Fatalf("download retention headers: %v", dl.Header)
	}
	WantB2Error(t, c.Call("b2_delete_file_version", map[string]any{"fileName": "held", "fileId": fid}), 403, "access_denied")
	// Hiding removes nothing, so it is allowed.
	c.Must("b2_hide_file", map[string]any{"bucketId": id, "fileName": "held"})
	// Shortening governance needs bypassGovernance.
	WantB2Error(t, c.Call("b2_update_file_retention", map[string]any{"fileName": "held", "fileId": fid,
		"fileRetention": map[string]any{"mode": nil, "retainUntilTimestamp": nil}}), 403, "access_denied")
	c.Must("b2_delete_file_version", map[string]any{"fileName": "held", "fileId": fid, "bypassGovernance": true})

	// Legal hold: deletes are refused while it is on, whatever the bypass.
	g := c.Upload(id, "legal", []byte("evidence"), nil)
	gid := g["fileId"].(string)
	lh := c.Must("b2_update_file_legal_hold", map[string]any{"fileName": "legal", "fileId": gid, "legalHold": "on"})
	if lh["legalHold"] != "on" {
		t.Fatalf("legal hold: %v", lh)
	}
	if h := c.DownloadByID(http.MethodHead, gid, c.Token, nil); h.Header.Get("X-Bz-File-Legal-Hold") != "on" {
		t.Fatalf("legal hold header: %v", h.Header)
	}
	WantB2Error(t, c.Call("b2_delete_file_version", map[string]any{"fileName": "legal", "fileId": gid, "bypassGovernance": true}), 403, "access_denied")
	c.Must("b2_update_file_legal_hold", map[string]any{"fileName": "legal", "fileId": gid, "legalHold": "off"})
	c.Must("b2_delete_file_version", map[string]any{"fileName": "legal", "fileId": gid})

	// Lock settings at upload need their capabilities: a key with only
	// writeFiles may not lock what it writes.
	k := c.Must("b2_create_key", map[string]any{"accountId": c.AccountID, "keyName": "writer-only",
		"capabilities": []string{"writeFiles"}, "bucketId": id})
	defer c.Must("b2_delete_key", map[string]any{"applicationKeyId": k["applicationKeyId"]})
	w := NewB2WithKey(t, tg.Endpoint, k["applicationKeyId"].(string), k["applicationKey"].(string), 2)
	uu, tok := w.UploadURL(id)
	for _, h := range []map[string]string{
		{"X-Bz-File-Legal-Hold": "on"},
		{"X-Bz-File-Retention-Mode": "governance", "X-Bz-File-Retention-Retain-Until-Timestamp": fmt.Sprint(until)},
	} {
		h["X-Bz-File-Name"], h["X-Bz-Content-Sha1"] = "with-headers", SHA1Hex([]byte("x"))
		WantB2Error(t, w.UploadRaw(uu, tok, []byte("x"), h), 401, "unauthorized")
	}
	// A key that may lock may lock what it uploads (the upload token keeps
	// the key's retention and legal-hold capabilities).
	cu, ctok := c.UploadURL(id)
	resp := c.UploadRaw(cu, ctok, []byte("x"), map[string]string{
		"X-Bz-File-Name": "held-at-upload", "X-Bz-Content-Sha1": SHA1Hex([]byte("x")), "X-Bz-File-Legal-Hold": "on"})
	if resp.Status != http.StatusOK {
		t.Fatalf("upload with a legal hold by a key that may set one: %d %s", resp.Status, resp.Body)
	}
	held := resp.JSON(t)
	fi := c.Must("b2_get_file_info", map[string]any{"fileId": held["fileId"]})
	if fi["legalHold"].(map[string]any)["value"] != "on" {
		t.Fatalf("legal hold at upload: %v", fi)
	}
	c.Must("b2_update_file_legal_hold", map[string]any{"fileName": "held-at-upload", "fileId": held["fileId"], "legalHold": "off"})
	c.Must("b2_delete_file_version", map[string]any{"fileName": "held-at-upload", "fileId": held["fileId"]})
	u := c.Upload(id, "plain", []byte("x"), nil)
	if u["legalHold"].(map[string]any)["value"] != nil {
		t.Fatalf("no legal hold by default: %v", u)
	}

	// Bad requests.
	WantB2Error(t, c.Call("b2_update_file_legal_hold", map[string]any{"fileName": "legal", "fileId": gid, "legalHold": "maybe"}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_update_file_retention", map[string]any{"fileName": "x", "fileId": u["fileId"],
		"fileRetention": map[string]any{"mode": "forever", "retainUntilTimestamp": until}}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_update_file_legal_hold", map[string]any{"fileName": "legal", "fileId": gid, "legalHold": "on"}), 400, "file_not_present")
	// Without file lock on the bucket, retention cannot be set.
	plain := c.CreateBucket("b2nolock", "allPrivate", nil)["bucketId"].(string)
	pf := c.Upload(plain, "f", []byte("f"), nil)
	WantB2Error(t, c.Call("b2_update_file_retention", map[string]any{"fileName": "f", "fileId": pf["fileId"],
		"fileRetention": map[string]any{"mode": "governance", "retainUntilTimestamp": until}}), 400, "")
}
