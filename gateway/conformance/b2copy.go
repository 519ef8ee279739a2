package conformance

import (
	"bytes"
	"net/http"
	"testing"
)

func testB2Copy(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2copy", "allPrivate", nil)
	id, bname := b["bucketId"].(string), b["bucketName"].(string)
	other := c.CreateBucket("b2copy", "allPrivate", nil)
	body := []byte("0123456789abcdef")
	src := c.Upload(id, "src.txt", body, map[string]string{"color": "blue"})
	sid := src["fileId"].(string)

	// COPY keeps the content type and info.
	cp := c.Must("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "copy.txt"})
	if cp["action"] != "upload" || cp["fileName"] != "copy.txt" || cp["contentType"] != "text/plain" ||
		cp["fileInfo"].(map[string]any)["color"] != "blue" || cp["contentSha1"] != SHA1Hex(body) || cp["fileId"] == sid {
		t.Fatalf("copy: %v", cp)
	}
	if r := c.DownloadByName(http.MethodGet, bname, "copy.txt", c.Token, nil); !bytes.Equal(r.Body, body) {
		t.Fatalf("copied bytes: %q", r.Body)
	}
	// A range into another bucket, REPLACE with new metadata.
	rp := c.Must("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "part.txt", "destinationBucketId": other["bucketId"],
		"range": "bytes=2-5", "metadataDirective": "REPLACE", "contentType": "application/x-part", "fileInfo": map[string]string{"k": "v"}})
	if rp["bucketId"] != other["bucketId"] || rp["contentLength"].(float64) != 4 || rp["contentType"] != "application/x-part" ||
		rp["fileInfo"].(map[string]any)["k"] != "v" || rp["fileInfo"].(map[string]any)["color"] != nil {
		t.Fatalf("ranged REPLACE copy: %v", rp)
	}
	if r := c.DownloadByID(http.MethodGet, rp["fileId"].(string), c.Token, nil); string(r.Body) != "2345" {
		t.Fatalf("ranged copy bytes: %q", r.Body)
	}
	// Errors.
	WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "x", "contentType": "text/plain"}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "x", "metadataDirective": "REPLACE"}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "x", "metadataDirective": "MOVE"}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "x", "range": "bytes=100-200"}), 416, "range_not_satisfiable")
	WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "x", "range": "lines=1-2"}), 400, "bad_request")
	// A malformed range is refused, never read as "the whole file".
	for _, rng := range []string{"bytes=5-1", "bytes=3", "bytes= 1-2", "bytes=1-2,4-5", "bytes=x-"} {
		WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "x", "range": rng}), 400, "bad_request")
	}
	WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": sid[:len(sid)-3] + "999", "fileName": "x"}), 404, "not_found")
	WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": sid, "fileName": "x", "destinationBucketId": "000000000000000000000000"}), 400, "bad_bucket_id")

	// copy_part: a large file assembled from copied ranges.
	big := NewData(9, 5_000_000+100)
	whole := big.Bytes(0, big.Size)
	uu, tok := c.UploadURL(id)
	if r := c.UploadRaw(uu, tok, whole, map[string]string{"X-Bz-File-Name": "big", "X-Bz-Content-Sha1": SHA1Hex(whole)}); r.Status != 200 {
		t.Fatalf("upload big: %d %s", r.Status, r.Body)
	}
	bigID := c.Must("b2_list_file_names", map[string]any{"bucketId": id, "prefix": "big"})["files"].([]any)[0].(map[string]any)["fileId"].(string)
	lf := c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "assembled", "contentType": "application/octet-stream"})
	p1 := c.Must("b2_copy_part", map[string]any{"sourceFileId": bigID, "largeFileId": lf["fileId"], "partNumber": 1, "range": "bytes=0-4999999"})
	p2 := c.Must("b2_copy_part", map[string]any{"sourceFileId": sid, "largeFileId": lf["fileId"], "partNumber": 2})
	if p1["contentLength"].(float64) != 5_000_000 || p1["contentSha1"] != SHA1Hex(whole[:5_000_000]) || p2["contentSha1"] != SHA1Hex(body) {
		t.Fatalf("copied parts: %v %v", p1, p2)
	}
	WantB2Error(t, c.Call("b2_copy_part", map[string]any{"sourceFileId": sid, "largeFileId": lf["fileId"], "partNumber": 0}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_copy_part", map[string]any{"sourceFileId": sid, "largeFileId": "garbage", "partNumber": 1}), 400, "bad_request")
	c.Must("b2_finish_large_file", map[string]any{"fileId": lf["fileId"], "partSha1Array": []string{SHA1Hex(whole[:5_000_000]), SHA1Hex(body)}})
	got := c.DownloadByName(http.MethodGet, bname, "assembled", c.Token, nil)
	if want := append(append([]byte{}, whole[:5_000_000]...), body...); !bytes.Equal(got.Body, want) {
		t.Fatalf("assembled from copies: %d bytes", len(got.Body))
	}
}
