package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// uploadPart POSTs one part to an upload-part URL.
func (c *B2) uploadPart(uploadURL, token string, n int, body []byte, sha1 string) *B2Response {
	c.t.Helper()
	return c.UploadRaw(uploadURL, token, body, map[string]string{"X-Bz-Part-Number": fmt.Sprint(n), "X-Bz-Content-Sha1": sha1})
}

func testB2LargeFiles(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2large", "allPrivate", nil)
	id, bname := b["bucketId"].(string), b["bucketName"].(string)
	data := NewData(11, 5_000_000+12345)
	p1, p2 := data.Bytes(0, 5_000_000), data.Bytes(5_000_000, 12345)
	whole := append(append([]byte{}, p1...), p2...)

	start := c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "big.bin", "contentType": "b2/x-auto",
		"fileInfo": map[string]string{"large_file_sha1": SHA1Hex(whole), "src_last_modified_millis": "1"}})
	fileID := start["fileId"].(string)
	if start["action"] != "start" || start["contentLength"].(float64) != 0 || start["fileName"] != "big.bin" {
		t.Fatalf("start: %v", start)
	}
	// An unfinished large file shows in versions and unfinished lists, not in names.
	var names listPage
	c.Call("b2_list_file_names", map[string]any{"bucketId": id}).Into(t, &names)
	var versions listPage
	c.Call("b2_list_file_versions", map[string]any{"bucketId": id}).Into(t, &versions)
	unfinished := c.Must("b2_list_unfinished_large_files", map[string]any{"bucketId": id})
	if len(names.Files) != 0 || len(versions.Files) != 1 || versions.Files[0].Action != "start" || len(unfinished["files"].([]any)) != 1 {
		t.Fatalf("listings of an unfinished file: names %v versions %v unfinished %v", names.Files, versions.Files, unfinished)
	}
	WantB2Error(t, c.DownloadByID(http.MethodGet, fileID, c.Token, nil), 404, "not_found")

	pu := c.Must("b2_get_upload_part_url", map[string]any{"fileId": fileID})
	uu, tok := pu["uploadUrl"].(string), pu["authorizationToken"].(string)
	if pu["fileId"] != fileID || !strings.Contains(uu, "/b2_upload_part/") {
		t.Fatalf("upload part url: %v", pu)
	}
	// Part numbers are 1..10000; a wrong SHA-1 stores nothing.
	WantB2Error(t, c.uploadPart(uu, tok, 0, p2, SHA1Hex(p2)), 400, "bad_request")
	WantB2Error(t, c.uploadPart(uu, tok, 10001, p2, SHA1Hex(p2)), 400, "bad_request")
	WantB2Error(t, c.uploadPart(uu, tok, 2, p2, SHA1Hex(p1[:10])), 400, "bad_request")
	// Part 2 first with other bytes, then replaced.
	if r := c.uploadPart(uu, tok, 2, []byte("replace me"), SHA1Hex([]byte("replace me"))); r.Status != 200 {
		t.Fatalf("part 2: %d %s", r.Status, r.Body)
	}
	r1 := c.uploadPart(uu, tok, 1, p1, SHA1Hex(p1))
	if r1.Status != 200 {
		t.Fatalf("part 1: %d %s", r1.Status, r1.Body)
	}
	part := r1.JSON(t)
	if part["fileId"] != fileID || part["partNumber"].(float64) != 1 || part["contentLength"].(float64) != 5_000_000 || part["contentSha1"] != SHA1Hex(p1) {
		t.Fatalf("part object: %v", part)
	}
	// hex_digits_at_end works for parts too.
	if r := c.uploadPart(uu, tok, 2, append(append([]byte{}, p2...), SHA1Hex(p2)...), "hex_digits_at_end"); r.Status != 200 {
		t.Fatalf("part 2 again: %d %s", r.Status, r.Body)
	}
	lp := c.Must("b2_list_parts", map[string]any{"fileId": fileID, "maxPartCount": 1})
	if ps := lp["parts"].([]any); len(ps) != 1 || lp["nextPartNumber"].(float64) != 2 {
		t.Fatalf("list_parts page: %v", lp)
	}
	lp = c.Must("b2_list_parts", map[string]any{"fileId": fileID, "startPartNumber": 2})
	if ps := lp["parts"].([]any); len(ps) != 1 || ps[0].(map[string]any)["contentSha1"] != SHA1Hex(p2) || lp["nextPartNumber"] != nil {
		t.Fatalf("list_parts from 2: %v", lp)
	}
	// Finishing checks the parts: one missing, one differing.
	WantB2Error(t, c.Call("b2_finish_large_file", map[string]any{"fileId": fileID, "partSha1Array": []string{SHA1Hex(p1), SHA1Hex(p2), SHA1Hex(p2)}}), 400, "missing_part")
	WantB2Error(t, c.Call("b2_finish_large_file", map[string]any{"fileId": fileID, "partSha1Array": []string{SHA1Hex(p1), SHA1Hex(p1)}}), 400, "part_sha1_mismatch")
	WantB2Error(t, c.Call("b2_finish_large_file", map[string]any{"fileId": fileID, "partSha1Array": []string{}}), 400, "bad_request")
	done := c.Must("b2_finish_large_file", map[string]any{"fileId": fileID, "partSha1Array": []string{SHA1Hex(p1), SHA1Hex(p2)}})
	if done["action"] != "upload" || done["fileId"] != fileID || done["contentLength"].(float64) != float64(len(whole)) ||
		done["contentType"] != "application/octet-stream" || done["fileInfo"].(map[string]any)["large_file_sha1"] != SHA1Hex(whole) {
		t.Fatalf("finished: %v", done)
	}
	if s := done["contentSha1"]; s != "none" && s != SHA1Hex(whole) {
		t.Fatalf("a large file's contentSha1 is none (or its large_file_sha1): %v", s)
	}
	// A retried finish gets the file again.
	if again := c.Must("b2_finish_large_file", map[string]any{"fileId": fileID, "partSha1Array": []string{SHA1Hex(p1), SHA1Hex(p2)}}); again["fileId"] != fileID {
		t.Fatalf("retried finish: %v", again)
	}
	got := c.DownloadByName(http.MethodGet, bname, "big.bin", c.Token, nil)
	if got.Status != 200 || !bytes.Equal(got.Body, whole) {
		t.Fatalf("download of the large file: %d, %d bytes", got.Status, len(got.Body))
	}
	if got.Header.Get("X-Bz-Content-Sha1") == "" {
		t.Fatalf("large file download lacks X-Bz-Content-Sha1")
	}
	across := c.DownloadByID(http.MethodGet, fileID, c.Token, map[string]string{"Range": "bytes=4999990-5000009"})
	if across.Status != 206 || !bytes.Equal(across.Body, whole[4999990:5000010]) {
		t.Fatalf("range across parts: %d", across.Status)
	}
	// The part URL is dead once the file is finished.
	WantB2Error(t, c.Call("b2_get_upload_part_url", map[string]any{"fileId": fileID}), 400, "bad_request")

	// Parts below the minimum (but the last) are refused at finish.
	small := c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "small", "contentType": "text/plain"})
	su := c.Must("b2_get_upload_part_url", map[string]any{"fileId": small["fileId"]})
	for n := 1; n <= 2; n++ {
		if r := c.uploadPart(su["uploadUrl"].(string), su["authorizationToken"].(string), n, []byte("tiny"), SHA1Hex([]byte("tiny"))); r.Status != 200 {
			t.Fatalf("small part: %d %s", r.Status, r.Body)
		}
	}
	WantB2Error(t, c.Call("b2_finish_large_file", map[string]any{"fileId": small["fileId"], "partSha1Array": []string{SHA1Hex([]byte("tiny")), SHA1Hex([]byte("tiny"))}}), 400, "bad_request")
	// A part token is bound to its file.
	WantB2Error(t, c.uploadPart(su["uploadUrl"].(string), tok, 1, []byte("x"), SHA1Hex([]byte("x"))), 401, "bad_auth_token")
	// Cancel: the parts go, the file is no longer listed.
	cancel := c.Must("b2_cancel_large_file", map[string]any{"fileId": small["fileId"]})
	if cancel["fileId"] != small["fileId"] || cancel["fileName"] != "small" || cancel["bucketId"] != id || cancel["accountId"] != c.AccountID {
		t.Fatalf("cancel: %v", cancel)
	}
	WantB2Error(t, c.Call("b2_cancel_large_file", map[string]any{"fileId": small["fileId"]}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_list_parts", map[string]any{"fileId": small["fileId"]}), 400, "bad_request")
	// delete_file_version of an unfinished large file cancels it too.
	third := c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "third", "contentType": "text/plain"})
	c.Must("b2_delete_file_version", map[string]any{"fileId": third["fileId"], "fileName": "third"})
	if u := c.Must("b2_list_unfinished_large_files", map[string]any{"bucketId": id}); len(u["files"].([]any)) != 0 {
		t.Fatalf("unfinished after cancel and delete: %v", u)
	}
	// Paging unfinished large files by startFileId.
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": fmt.Sprintf("u%d", i), "contentType": "text/plain"})["fileId"].(string))
	}
	p := c.Must("b2_list_unfinished_large_files", map[string]any{"bucketId": id, "maxFileCount": 2})
	if len(p["files"].([]any)) != 2 || p["nextFileId"] != ids[2] {
		t.Fatalf("unfinished page: %v", p)
	}
	p = c.Must("b2_list_unfinished_large_files", map[string]any{"bucketId": id, "startFileId": ids[2]})
	if fs := p["files"].([]any); len(fs) != 1 || fs[0].(map[string]any)["fileId"] != ids[2] || p["nextFileId"] != nil {
		t.Fatalf("unfinished from startFileId: %v", p)
	}
	WantB2Error(t, c.Call("b2_list_unfinished_large_files", map[string]any{"bucketId": id, "maxFileCount": 101}), 400, "out_of_range")
	WantB2Error(t, c.Call("b2_list_unfinished_large_files", map[string]any{"bucketId": "000000000000000000000000"}), 400, "invalid_bucket_id")
	WantB2Error(t, c.Call("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "x"}), 400, "bad_request")
}
