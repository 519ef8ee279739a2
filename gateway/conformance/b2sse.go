package conformance

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"testing"
)

// sseC returns the headers and JSON object of an SSE-C key.
func sseC(key []byte) (map[string]string, map[string]any) {
	sum := md5.Sum(key)
	k, m := base64.StdEncoding.EncodeToString(key), base64.StdEncoding.EncodeToString(sum[:])
	return map[string]string{
			"X-Bz-Server-Side-Encryption-Customer-Algorithm": "AES256",
			"X-Bz-Server-Side-Encryption-Customer-Key":       k,
			"X-Bz-Server-Side-Encryption-Customer-Key-Md5":   m,
		}, map[string]any{
			"mode": "SSE-C", "algorithm": "AES256", "customerKey": k, "customerKeyMd5": m,
		}
}

func testB2Encryption(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2sse", "allPrivate", nil)
	id, bname := b["bucketId"].(string), b["bucketName"].(string)
	body := []byte("secret bytes")
	uu, tok := c.UploadURL(id)
	up := func(name string, extra map[string]string, data []byte) map[string]any {
		t.Helper()
		h := map[string]string{"X-Bz-File-Name": name, "X-Bz-Content-Sha1": SHA1Hex(data)}
		for k, v := range extra {
			h[k] = v
		}
		r := c.UploadRaw(uu, tok, data, h)
		if r.Status != 200 {
			t.Fatalf("upload %s: %d %s", name, r.Status, r.Body)
		}
		return r.JSON(t)
	}

	// SSE-B2 on request: shown in the file and on download.
	f := up("sse-b2", map[string]string{"X-Bz-Server-Side-Encryption": "AES256"}, body)
	if sse := f["serverSideEncryption"].(map[string]any); sse["mode"] != "SSE-B2" || sse["algorithm"] != "AES256" {
		t.Fatalf("SSE-B2 file: %v", f)
	}
	r := c.DownloadByName(http.MethodGet, bname, "sse-b2", c.Token, nil)
	if r.Status != 200 || !bytes.Equal(r.Body, body) || r.Header.Get("X-Bz-Server-Side-Encryption") != "AES256" {
		t.Fatalf("SSE-B2 download: %d %v", r.Status, r.Header)
	}

	// SSE-C: the key is needed to read, a wrong key is access_denied.
	key := bytes.Repeat([]byte{7}, 32)
	hk, jk := sseC(key)
	f = up("sse-c", hk, body)
	if sse := f["serverSideEncryption"].(map[string]any); sse["mode"] != "SSE-C" {
		t.Fatalf("SSE-C file: %v", f)
	}
	if r := c.DownloadByName(http.MethodGet, bname, "sse-c", c.Token, hk); r.Status != 200 || !bytes.Equal(r.Body, body) ||
		r.Header.Get("X-Bz-Server-Side-Encryption-Customer-Algorithm") != "AES256" {
		t.Fatalf("SSE-C download: %d %v", r.Status, r.Header)
	}
	WantB2Error(t, c.DownloadByName(http.MethodGet, bname, "sse-c", c.Token, nil), 400, "bad_request")
	wrong, _ := sseC(bytes.Repeat([]byte{8}, 32))
	WantB2Error(t, c.DownloadByName(http.MethodGet, bname, "sse-c", c.Token, wrong), 403, "access_denied")
	bad := map[string]string{"X-Bz-Server-Side-Encryption-Customer-Algorithm": "AES256", "X-Bz-Server-Side-Encryption-Customer-Key": "c2hvcnQ="}
	bad["X-Bz-File-Name"], bad["X-Bz-Content-Sha1"] = "bad-key", SHA1Hex(body)
	WantB2Error(t, c.UploadRaw(uu, tok, body, bad), 400, "bad_request")

	// Copy an SSE-C file into SSE-B2: the source key is needed.
	WantB2Error(t, c.Call("b2_copy_file", map[string]any{"sourceFileId": f["fileId"], "fileName": "decrypted"}), 400, "bad_request")
	cp := c.Must("b2_copy_file", map[string]any{"sourceFileId": f["fileId"], "fileName": "reencrypted",
		"sourceServerSideEncryption": jk, "destinationServerSideEncryption": map[string]any{"mode": "SSE-B2", "algorithm": "AES256"}})
	if cp["serverSideEncryption"].(map[string]any)["mode"] != "SSE-B2" {
		t.Fatalf("re-encrypted copy: %v", cp)
	}
	if r := c.DownloadByName(http.MethodGet, bname, "reencrypted", c.Token, nil); !bytes.Equal(r.Body, body) {
		t.Fatalf("re-encrypted copy bytes: %d %q", r.Status, r.Body)
	}

	// An SSE-C large file: the key on start and on every part.
	lf := c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "large-c", "contentType": "text/plain", "serverSideEncryption": jk})
	pu := c.Must("b2_get_upload_part_url", map[string]any{"fileId": lf["fileId"]})
	part := NewData(4, 5_000_000).Bytes(0, 5_000_000)
	h := map[string]string{"X-Bz-Part-Number": "1", "X-Bz-Content-Sha1": SHA1Hex(part)}
	WantB2Error(t, c.UploadRaw(pu["uploadUrl"].(string), pu["authorizationToken"].(string), part, h), 400, "bad_request")
	for k, v := range hk {
		h[k] = v
	}
	if r := c.UploadRaw(pu["uploadUrl"].(string), pu["authorizationToken"].(string), part, h); r.Status != 200 {
		t.Fatalf("SSE-C part: %d %s", r.Status, r.Body)
	}
	h["X-Bz-Part-Number"], h["X-Bz-Content-Sha1"] = "2", SHA1Hex(body)
	if r := c.UploadRaw(pu["uploadUrl"].(string), pu["authorizationToken"].(string), body, h); r.Status != 200 {
		t.Fatalf("SSE-C part 2: %d %s", r.Status, r.Body)
	}
	c.Must("b2_finish_large_file", map[string]any{"fileId": lf["fileId"], "partSha1Array": []string{SHA1Hex(part), SHA1Hex(body)}})
	if r := c.DownloadByID(http.MethodGet, lf["fileId"].(string), c.Token, hk); r.Status != 200 || !bytes.Equal(r.Body, append(append([]byte{}, part...), body...)) {
		t.Fatalf("SSE-C large file download: %d", r.Status)
	}

	// A bucket default of SSE-B2 applies to uploads that ask for nothing.
	d := c.Must("b2_update_bucket", map[string]any{"accountId": c.AccountID, "bucketId": id,
		"defaultServerSideEncryption": map[string]any{"mode": "SSE-B2", "algorithm": "AES256"}})
	if v := d["defaultServerSideEncryption"].(map[string]any)["value"].(map[string]any); v["mode"] != "SSE-B2" {
		t.Fatalf("bucket default: %v", d["defaultServerSideEncryption"])
	}
	f = up("by-default", nil, body)
	if f["serverSideEncryption"].(map[string]any)["mode"] != "SSE-B2" {
		t.Fatalf("default encryption not applied: %v", f)
	}
}
