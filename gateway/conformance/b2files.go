package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func testB2Uploads(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	id := c.CreateBucket("b2uploads", "allPrivate", nil)["bucketId"].(string)
	body := []byte("hello, b2\n")

	// A name and info with characters that need percent-encoding.
	name := "dir/ünïcødé name+plus%percent.txt"
	f := c.Upload(id, name, body, map[string]string{"src_last_modified_millis": "1700000000000", "Author": "Zoë & co"})
	if f["action"] != "upload" || f["fileName"] != name || f["contentLength"].(float64) != float64(len(body)) ||
		f["contentSha1"] != SHA1Hex(body) || f["contentType"] != "text/plain" || f["bucketId"] != id || f["accountId"] != c.AccountID {
		t.Fatalf("file object: %v", f)
	}
	info := f["fileInfo"].(map[string]any)
	if info["src_last_modified_millis"] != "1700000000000" || info["author"] != "Zoë & co" {
		t.Fatalf("fileInfo (names lower-cased, values decoded): %v", info)
	}
	if f["contentMd5"] == nil || f["uploadTimestamp"].(float64) <= 0 || !strings.HasPrefix(f["fileId"].(string), "4_z") {
		t.Fatalf("file object: %v", f)
	}

	uu, tok := c.UploadURL(id)
	upload := func(h map[string]string, b []byte) *B2Response {
		base := map[string]string{"X-Bz-File-Name": "x", "Content-Type": "b2/x-auto", "X-Bz-Content-Sha1": SHA1Hex(b)}
		for k, v := range h {
			base[k] = v
		}
		return c.UploadRaw(uu, tok, b, base)
	}
	// hex_digits_at_end: the body ends with its own SHA-1, which is stripped.
	resp := upload(map[string]string{"X-Bz-File-Name": "atend.json", "X-Bz-Content-Sha1": "hex_digits_at_end"}, append(append([]byte{}, body...), SHA1Hex(body)...))
	if resp.Status != 200 {
		t.Fatalf("hex_digits_at_end: %d %s", resp.Status, resp.Body)
	}
	if g := resp.JSON(t); g["contentLength"].(float64) != float64(len(body)) || g["contentSha1"] != SHA1Hex(body) || g["contentType"] != "application/json" {
		t.Fatalf("hex_digits_at_end / b2/x-auto: %v", g)
	}
	WantB2Error(t, upload(map[string]string{"X-Bz-Content-Sha1": "hex_digits_at_end"}, append(append([]byte{}, body...), SHA1Hex([]byte("other"))...)), 400, "bad_request")
	// do_not_verify stores what arrives.
	if resp := upload(map[string]string{"X-Bz-File-Name": "unverified", "X-Bz-Content-Sha1": "do_not_verify"}, body); resp.Status != 200 {
		t.Fatalf("do_not_verify: %d %s", resp.Status, resp.Body)
	} else if got := resp.JSON(t)["contentSha1"]; got != "unverified:"+SHA1Hex(body) {
		t.Fatalf("do_not_verify: contentSha1 %v, want unverified:<sha1>", got)
	}
	// A wrong SHA-1 stores nothing.
	WantB2Error(t, upload(map[string]string{"X-Bz-File-Name": "corrupt", "X-Bz-Content-Sha1": SHA1Hex([]byte("not it"))}, body), 400, "bad_request")
	if l := c.Must("b2_list_file_versions", map[string]any{"bucketId": id, "prefix": "corrupt"}); len(l["files"].([]any)) != 0 {
		t.Fatalf("a refused upload left a version: %v", l)
	}
	// Bad headers.
	for _, h := range []map[string]string{
		{"X-Bz-File-Name": ""},
		{"X-Bz-File-Name": "bad%ZZescape"},
		{"X-Bz-File-Name": "ctl%01char"},
		{"X-Bz-File-Name": strings.Repeat("a", 1025)},
		{"X-Bz-Content-Sha1": "not-a-sha1"},
		{"X-Bz-Content-Sha1": ""},
		{"X-Bz-Info-b2-reserved": "x"},
		{"X-Bz-Info-b2-expires": "not a date"},
		{"X-Bz-Info-src_last_modified_millis": "yesterday"},
	} {
		WantB2Error(t, upload(h, body), 400, "bad_request")
	}
	many := map[string]string{}
	for i := 0; i < 11; i++ {
		many[fmt.Sprintf("X-Bz-Info-k%d", i)] = "v"
	}
	WantB2Error(t, upload(many, body), 400, "bad_request")
	WantB2Error(t, upload(map[string]string{"X-Bz-Info-big": strings.Repeat("v", 7000)}, body), 400, "bad_request")

	// Upload tokens work only at their URL; account tokens never do.
	other := c.CreateBucket("b2uploads", "allPrivate", nil)["bucketId"].(string)
	otherURL, _ := c.UploadURL(other)
	WantB2Error(t, c.UploadRaw(otherURL, tok, body, map[string]string{"X-Bz-File-Name": "x", "X-Bz-Content-Sha1": SHA1Hex(body)}), 401, "bad_auth_token")
	WantB2Error(t, c.UploadRaw(uu, c.Token, body, map[string]string{"X-Bz-File-Name": "x", "X-Bz-Content-Sha1": SHA1Hex(body)}), 401, "bad_auth_token")
	WantB2Error(t, c.UploadRaw(uu, "", body, map[string]string{"X-Bz-File-Name": "x", "X-Bz-Content-Sha1": SHA1Hex(body)}), 401, "bad_auth_token")
	WantB2Error(t, c.Call("b2_get_upload_url", map[string]any{"bucketId": "000000000000000000000000"}), 400, "bad_bucket_id")

	// One upload at a time per token: a second concurrent upload with the
	// same token is auth_token_limit (clients then get a new URL).
	testB2TokenLimit(t, c, id)
}

// testB2TokenLimit holds one upload open (its body trickles in) and sends
// another with the same token: exactly one of two overlapping uploads may
// use a token. Which one wins depends on which the gateway takes in first,
// so a round where the held upload is the one refused starts over with a
// fresh token.
func testB2TokenLimit(t *testing.T, c *B2, bucketID string) {
	data := bytes.Repeat([]byte("z"), 1<<20)
	const head = 256 << 10 // enough to flush the client's buffers
	for round := 0; round < 5; round++ {
		uu, tok := c.UploadURL(bucketID)
		pr, pw := io.Pipe()
		first := make(chan *B2Response, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, uu, pr)
			req.ContentLength = int64(len(data))
			req.Header.Set("Authorization", tok)
			req.Header.Set("X-Bz-File-Name", "slow")
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("X-Bz-Content-Sha1", SHA1Hex(data))
			first <- c.Do(req)
		}()
		if _, err := pw.Write(data[:head]); err != nil {
			t.Fatal(err)
		}
		var second, held *B2Response
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && second == nil && held == nil; time.Sleep(20 * time.Millisecond) {
			select {
			case held = <-first:
				continue
			default:
			}
			r := c.UploadRaw(uu, tok, []byte("y"), map[string]string{"X-Bz-File-Name": "second", "X-Bz-Content-Sha1": SHA1Hex([]byte("y"))})
			if r.Status != 200 {
				second = r
			}
		}
		if held != nil {
			// The held upload arrived while a second one had the token.
			pw.CloseWithError(io.ErrClosedPipe)
			WantB2Error(t, held, 400, "auth_token_limit")
			continue
		}
		if second == nil {
			t.Fatal("the held upload never took its token")
		}
		WantB2Error(t, second, 400, "auth_token_limit")
		if !strings.Contains(string(second.Body), "more than one upload using auth token") {
			t.Fatalf("auth_token_limit message (clients match it): %s", second.Body)
		}
		if _, err := pw.Write(data[head:]); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		if r := <-first; r.Status != 200 {
			t.Fatalf("held upload: %d %s", r.Status, r.Body)
		}
		// Once it finished, the token is free again.
		if r := c.UploadRaw(uu, tok, []byte("y"), map[string]string{"X-Bz-File-Name": "third", "X-Bz-Content-Sha1": SHA1Hex([]byte("y"))}); r.Status != 200 {
			t.Fatalf("token after the upload: %d %s", r.Status, r.Body)
		}
		return
	}
	t.Fatal("no round held a token long enough")
}

type listedFile struct {
	Action        string  `json:"action"`
	FileID        *string `json:"fileId"`
	FileName      string  `json:"fileName"`
	ContentLength int64   `json:"contentLength"`
}

type listPage struct {
	Files        []listedFile `json:"files"`
	NextFileName *string      `json:"nextFileName"`
	NextFileID   *string      `json:"nextFileId"`
}

func names(files []listedFile) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.FileName
	}
	return out
}

func testB2Listing(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	id := c.CreateBucket("b2listing", "allPrivate", nil)["bucketId"].(string)
	all := []string{"a", "b/1", "b/2", "b/c/3", "d", "e"}
	for _, n := range all {
		c.Upload(id, n, []byte(n), nil)
	}
	c.Upload(id, "a", []byte("a2"), nil) // a second version of "a"
	c.Must("b2_hide_file", map[string]any{"bucketId": id, "fileName": "e"})

	var p listPage
	c.Call("b2_list_file_names", map[string]any{"bucketId": id}).Into(t, &p)
	if got := strings.Join(names(p.Files), ","); got != "a,b/1,b/2,b/c/3,d" || p.NextFileName != nil {
		t.Fatalf("names (newest visible only, hidden e left out): %s next=%v", got, p.NextFileName)
	}
	// Paging: nextFileName continues exactly where the page stopped.
	var seen []string
	start := ""
	for i := 0; i < 10; i++ {
		var pg listPage
		c.Call("b2_list_file_names", map[string]any{"bucketId": id, "maxFileCount": 2, "startFileName": start}).Into(t, &pg)
		seen = append(seen, names(pg.Files)...)
		if pg.NextFileName == nil {
			break
		}
		start = *pg.NextFileName
	}
	if got := strings.Join(seen, ","); got != "a,b/1,b/2,b/c/3,d" {
		t.Fatalf("paged names: %s", got)
	}
	// Delimiter: folder rows; prefix narrows.
	c.Call("b2_list_file_names", map[string]any{"bucketId": id, "delimiter": "/"}).Into(t, &p)
	if got := strings.Join(names(p.Files), ","); got != "a,b/,d" || p.Files[1].Action != "folder" || p.Files[1].FileID != nil {
		t.Fatalf("folders: %s %+v", got, p.Files)
	}
	c.Call("b2_list_file_names", map[string]any{"bucketId": id, "delimiter": "/", "prefix": "b/"}).Into(t, &p)
	if got := strings.Join(names(p.Files), ","); got != "b/1,b/2,b/c/" {
		t.Fatalf("folders under b/: %s", got)
	}
	c.Call("b2_list_file_names", map[string]any{"bucketId": id, "delimiter": "/", "maxFileCount": 1, "startFileName": "b/"}).Into(t, &p)
	if got := strings.Join(names(p.Files), ","); got != "b/" || p.NextFileName == nil || *p.NextFileName != "d" {
		t.Fatalf("a folder row as start: %s %v", got, p.NextFileName)
	}

	// Versions: every version, hide markers too, newest first per name.
	var v listPage
	c.Call("b2_list_file_versions", map[string]any{"bucketId": id}).Into(t, &v)
	var actions []string
	for _, f := range v.Files {
		actions = append(actions, f.FileName+":"+f.Action)
	}
	if got := strings.Join(actions, ","); got != "a:upload,a:upload,b/1:upload,b/2:upload,b/c/3:upload,d:upload,e:hide,e:upload" {
		t.Fatalf("versions: %s", got)
	}
	// Paging versions by (nextFileName, nextFileId), inclusively.
	var paged []string
	startName, startID := "", ""
	for i := 0; i < 20; i++ {
		req := map[string]any{"bucketId": id, "maxFileCount": 3}
		if startName != "" {
			req["startFileName"] = startName
		}
		if startID != "" {
			req["startFileId"] = startID
		}
		var pg listPage
		c.Call("b2_list_file_versions", req).Into(t, &pg)
		for _, f := range pg.Files {
			paged = append(paged, *f.FileID)
		}
		if pg.NextFileName == nil {
			break
		}
		startName, startID = *pg.NextFileName, ""
		if pg.NextFileID != nil {
			startID = *pg.NextFileID
		}
	}
	if len(paged) != len(v.Files) {
		t.Fatalf("paged versions: %d, want %d", len(paged), len(v.Files))
	}
	for i, f := range v.Files {
		if *f.FileID != paged[i] {
			t.Fatalf("paged versions differ at %d", i)
		}
	}
	// Errors.
	WantB2Error(t, c.Call("b2_list_file_names", map[string]any{"bucketId": id, "maxFileCount": -1}), 400, "out_of_range")
	WantB2Error(t, c.Call("b2_list_file_names", map[string]any{"bucketId": id, "maxFileCount": 10001}), 400, "out_of_range")
	WantB2Error(t, c.Call("b2_list_file_names", map[string]any{"bucketId": "000000000000000000000000"}), 400, "invalid_bucket_id")
	WantB2Error(t, c.Call("b2_list_file_versions", map[string]any{"bucketId": "000000000000000000000000"}), 400, "invalid_bucket_id")
	WantB2Error(t, c.Call("b2_list_file_versions", map[string]any{"bucketId": id, "startFileName": "a", "startFileId": "garbage"}), 400, "invalid_file_id")
	WantB2Error(t, c.Call("b2_list_file_versions", map[string]any{"bucketId": id, "startFileId": *v.Files[0].FileID}), 400, "bad_request")
	WantB2Error(t, c.Call("b2_list_file_names", map[string]any{}), 400, "bad_request")
}
