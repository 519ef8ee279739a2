package conformance

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
)

func testB2Downloads(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	priv := c.CreateBucket("b2dl", "allPrivate", map[string]any{"bucketInfo": map[string]string{"cache-control": "max-age=60"}})
	pub := c.CreateBucket("b2dl", "allPublic", nil)
	privName, pubName := priv["bucketName"].(string), pub["bucketName"].(string)
	data := NewData(7, 300_000).Bytes(0, 300_000)
	name := "docs/ä b+c.bin"
	f := c.Upload(priv["bucketId"].(string), name, data, map[string]string{"color": "grün", "b2-content-disposition": "attachment; filename=\"x.bin\""})
	fileID := f["fileId"].(string)
	pf := c.Upload(pub["bucketId"].(string), "public.txt", []byte("public"), nil)

	check := func(what string, resp *B2Response, status int, want []byte) {
		t.Helper()
		if resp.Status != status || (want != nil && !bytes.Equal(resp.Body, want)) {
			t.Fatalf("%s: %d (%d bytes), want %d (%d bytes): %.200s", what, resp.Status, len(resp.Body), status, len(want), resp.Body)
		}
	}
	// By name and by id, with B2's headers.
	resp := c.DownloadByName(http.MethodGet, privName, name, c.Token, nil)
	check("by name", resp, 200, data)
	h := resp.Header
	if h.Get("X-Bz-File-Id") != fileID || h.Get("X-Bz-Content-Sha1") != SHA1Hex(data) || h.Get("X-Bz-File-Name") != "docs/%C3%A4%20b%2Bc.bin" ||
		h.Get("X-Bz-Info-color") != "gr%C3%BCn" || h.Get("Content-Disposition") != `attachment; filename="x.bin"` ||
		h.Get("Cache-Control") != "max-age=60" || h.Get("X-Bz-Upload-Timestamp") == "" || h.Get("Content-Type") != "text/plain" ||
		h.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("download headers: %v", h)
	}
	check("by id", c.DownloadByID(http.MethodGet, fileID, c.Token, nil), 200, data)
	// POST with a JSON body works for by-id too.
	req, _ := http.NewRequest(http.MethodPost, c.DownloadURL+"/b2api/v2/b2_download_file_by_id", bytes.NewReader([]byte(`{"fileId":"`+fileID+`"}`)))
	req.Header.Set("Authorization", c.Token)
	check("by id (POST)", c.Do(req), 200, data)
	// HEAD: headers, no body.
	head := c.DownloadByName(http.MethodHead, privName, name, c.Token, nil)
	if head.Status != 200 || len(head.Body) != 0 || head.Header.Get("Content-Length") != "300000" {
		t.Fatalf("HEAD: %d %v", head.Status, head.Header)
	}
	// Ranges.
	r := c.DownloadByName(http.MethodGet, privName, name, c.Token, map[string]string{"Range": "bytes=1000-1999"})
	check("range", r, 206, data[1000:2000])
	if r.Header.Get("Content-Range") != "bytes 1000-1999/300000" {
		t.Fatalf("Content-Range %q", r.Header.Get("Content-Range"))
	}
	check("suffix range", c.DownloadByID(http.MethodGet, fileID, c.Token, map[string]string{"Range": "bytes=-10"}), 206, data[len(data)-10:])
	check("open range", c.DownloadByID(http.MethodGet, fileID, c.Token, map[string]string{"Range": "bytes=299990-"}), 206, data[299990:])
	un := c.DownloadByName(http.MethodGet, privName, name, c.Token, map[string]string{"Range": "bytes=300000-"})
	WantB2Error(t, un, 416, "range_not_satisfiable")
	if un.Header.Get("Content-Range") != "bytes */300000" {
		t.Fatalf("416 Content-Range %q", un.Header.Get("Content-Range"))
	}
	// Response header overrides and the token as a query parameter.
	q := url.Values{"b2ContentDisposition": {"inline"}, "b2ContentType": {"application/x-test"}, "b2CacheControl": {"no-store"}, "Authorization": {c.Token}}
	req, _ = http.NewRequest(http.MethodGet, c.DownloadURL+"/file/"+privName+"/"+EncodeB2Name(name)+"?"+q.Encode(), nil)
	o := c.Do(req)
	check("overrides", o, 200, data)
	if o.Header.Get("Content-Disposition") != "inline" || o.Header.Get("Content-Type") != "application/x-test" || o.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("overrides: %v", o.Header)
	}
	// Private needs a token; public does not.
	WantB2Error(t, c.DownloadByName(http.MethodGet, privName, name, "", nil), 401, "unauthorized")
	WantB2Error(t, c.DownloadByID(http.MethodGet, fileID, "", nil), 401, "unauthorized")
	WantB2Error(t, c.DownloadByName(http.MethodGet, privName, name, "c1_forged", nil), 401, "bad_auth_token")
	check("public by name", c.DownloadByName(http.MethodGet, pubName, "public.txt", "", nil), 200, []byte("public"))
	check("public by id", c.DownloadByID(http.MethodGet, pf["fileId"].(string), "", nil), 200, []byte("public"))
	// Missing files and buckets are 404 not_found.
	WantB2Error(t, c.DownloadByName(http.MethodGet, privName, "nope", c.Token, nil), 404, "not_found")
	WantB2Error(t, c.DownloadByName(http.MethodGet, "no-such-bucket-x", "nope", c.Token, nil), 404, "not_found")
	WantB2Error(t, c.DownloadByID(http.MethodGet, fileID[:len(fileID)-3]+"999", c.Token, nil), 404, "not_found")
	if r := c.DownloadByName(http.MethodHead, privName, "nope", c.Token, nil); r.Status != 404 || len(r.Body) != 0 {
		t.Fatalf("HEAD of a missing file: %d %q", r.Status, r.Body)
	}
}

func testB2HideDelete(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2hide", "allPrivate", nil)
	id, bname := b["bucketId"].(string), b["bucketName"].(string)
	f1 := c.Upload(id, "doc", []byte("one"), nil)
	f2 := c.Upload(id, "doc", []byte("two"), nil)

	// get_file_info works for any version.
	info := c.Must("b2_get_file_info", map[string]any{"fileId": f1["fileId"]})
	if info["fileName"] != "doc" || info["contentSha1"] != SHA1Hex([]byte("one")) {
		t.Fatalf("get_file_info: %v", info)
	}
	WantB2Error(t, c.Call("b2_get_file_info", map[string]any{"fileId": f1["fileId"].(string)[:40] + "_nope"}), 404, "not_found")
	WantB2Error(t, c.Call("b2_get_file_info", map[string]any{"fileId": "garbage"}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_get_file_info", map[string]any{}), 400, "bad_request")

	// Hiding makes the name invisible; the versions stay.
	h := c.Must("b2_hide_file", map[string]any{"bucketId": id, "fileName": "doc"})
	if h["action"] != "hide" || h["contentType"] != "application/x-bz-hide-marker" || h["contentSha1"] != "none" {
		t.Fatalf("hide marker: %v", h)
	}
	WantB2Error(t, c.DownloadByName(http.MethodGet, bname, "doc", c.Token, nil), 404, "not_found")
	WantB2Error(t, c.Call("b2_hide_file", map[string]any{"bucketId": id, "fileName": "doc"}), 400, "already_hidden")
	WantB2Error(t, c.Call("b2_hide_file", map[string]any{"bucketId": id, "fileName": "never-was"}), 400, "no_such_file")
	if r := c.DownloadByID(http.MethodGet, f2["fileId"].(string), c.Token, nil); r.Status != 200 || string(r.Body) != "two" {
		t.Fatalf("hidden versions stay readable by id: %d %s", r.Status, r.Body)
	}
	// Deleting the hide marker brings the name back.
	c.Must("b2_delete_file_version", map[string]any{"fileId": h["fileId"], "fileName": "doc"})
	if r := c.DownloadByName(http.MethodGet, bname, "doc", c.Token, nil); r.Status != 200 || string(r.Body) != "two" {
		t.Fatalf("after unhiding: %d %s", r.Status, r.Body)
	}
	// Deleting a version; a second time, or with another name, is file_not_present.
	d := c.Must("b2_delete_file_version", map[string]any{"fileId": f2["fileId"], "fileName": "doc"})
	if d["fileId"] != f2["fileId"] || d["fileName"] != "doc" {
		t.Fatalf("delete answer: %v", d)
	}
	WantB2Error(t, c.Call("b2_delete_file_version", map[string]any{"fileId": f2["fileId"], "fileName": "doc"}), 400, "file_not_present")
	WantB2Error(t, c.Call("b2_delete_file_version", map[string]any{"fileId": f1["fileId"], "fileName": "other"}), 400, "file_not_present")
	WantB2Error(t, c.Call("b2_delete_file_version", map[string]any{"fileId": "garbage", "fileName": "doc"}), 400, "file_not_present")
	if r := c.DownloadByName(http.MethodGet, bname, "doc", c.Token, nil); r.Status != 200 || string(r.Body) != "one" {
		t.Fatalf("older version becomes current: %d %s", r.Status, r.Body)
	}
}
