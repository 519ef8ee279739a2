package conformance

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func testB2Errors(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	list := func(body any) *B2Response { return c.Call("b2_list_buckets", body) }
	WantB2Error(t, list(`{"accountId":`), 400, "bad_json")
	WantB2Error(t, list(`{"accountId":"x"} trailing`), 400, "bad_json")
	WantB2Error(t, list(`[1,2]`), 400, "bad_request")
	WantB2Error(t, list(`{"accountId":42}`), 400, "bad_request")
	WantB2Error(t, list(`{"accountId":"`+c.AccountID+`","accountId":"`+c.AccountID+`"}`), 400, "bad_request")
	WantB2Error(t, list(`{"accountId":"`+c.AccountID+`","bucketTypes":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`), 400, "bad_request")
	WantB2Error(t, list(append([]byte(`{"accountId":"`+c.AccountID+`","x":"`), append(bytes.Repeat([]byte("a"), 2<<20), `"}`...)...)), 400, "bad_request")
	WantB2Error(t, c.Call("b2_list_file_names", `{"bucketId":"x","maxFileCount":1e400}`), 400, "")
	WantB2Error(t, c.Call("b2_list_file_names", `{"bucketId":"x","maxFileCount":"ten"}`), 400, "bad_request")
	// Unknown fields are ignored.
	if r := list(`{"accountId":"` + c.AccountID + `","someFutureField":{"a":[1,2,3]}}`); r.Status != 200 {
		t.Fatalf("unknown field: %d %s", r.Status, r.Body)
	}
	// Unknown calls and URLs are 404; wrong methods 405.
	WantB2Error(t, c.Call("b2_no_such_call", `{}`), 404, "not_found")
	req, _ := http.NewRequest(http.MethodGet, c.APIURL+"/b2api/v9/b2_list_buckets", nil)
	WantB2Error(t, c.Do(req), 404, "not_found")
	req, _ = http.NewRequest(http.MethodPut, c.APIURL+"/b2api/v2/b2_list_buckets", strings.NewReader("{}"))
	req.Header.Set("Authorization", c.Token)
	WantB2Error(t, c.Do(req), 405, "method_not_allowed")
	req, _ = http.NewRequest(http.MethodGet, c.APIURL+"/b2api/v2/b2_upload_file/x/y", nil)
	WantB2Error(t, c.Do(req), 405, "method_not_allowed")
	// Bytes that are not UTF-8, wherever they come in, are a clean 4xx,
	// never a 5xx (nothing invalid reaches a protobuf string).
	raw := func(method, path string, h map[string]string) *B2Response {
		req, err := http.NewRequest(method, c.APIURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range h {
			req.Header[k] = []string{v}
		}
		return c.Do(req)
	}
	b := c.CreateBucket("b2badbytes", "allPrivate", nil)
	uu, tok := c.UploadURL(b["bucketId"].(string))
	for _, r := range []*B2Response{
		raw(http.MethodGet, "/b2api/v2/b2_list_buckets?accountId="+c.AccountID, map[string]string{"Authorization": "\xff\xfe"}),
		raw(http.MethodGet, "/b2api/v2/b2_authorize_account", map[string]string{"Authorization": "Basic /zr/"}),
		raw(http.MethodGet, "/file/"+b["bucketName"].(string)+"/%FF%FE", map[string]string{"Authorization": c.Token}),
		raw(http.MethodGet, "/file/%FF/x", map[string]string{"Authorization": c.Token}),
		raw(http.MethodPost, "/b2api/v2/b2_upload_file/%FF/x", map[string]string{"Authorization": tok}),
		raw(http.MethodGet, "/b2api/v2/b2_list_file_names?bucketId="+b["bucketId"].(string)+"&prefix=%FF", map[string]string{"Authorization": c.Token}),
		c.UploadRaw(uu, tok, []byte("x"), map[string]string{"X-Bz-File-Name": "x", "X-Bz-Content-Sha1": SHA1Hex([]byte("x")), "X-Bz-Info-k": "%FF"}),
		c.UploadRaw(uu, tok, []byte("x"), map[string]string{"X-Bz-File-Name": "%FF", "X-Bz-Content-Sha1": SHA1Hex([]byte("x"))}),
	} {
		if r.Status < 400 || r.Status >= 500 {
			t.Fatalf("invalid bytes: %d %s", r.Status, r.Body)
		}
	}
	// Optional calls we do not offer say so plainly.
	WantB2Error(t, c.Call("b2_get_bucket_notification_rules", `{"bucketId":"x"}`), 400, "bad_request")
}

func testB2TestMode(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	b := c.CreateBucket("b2testmode", "allPrivate", nil)
	id := b["bucketId"].(string)
	c.Upload(id, "t", []byte("t"), nil)
	// statuses sends six requests with the test mode and returns the
	// answers, keyed by status.
	statuses := func(m string, do func(h map[string]string) *B2Response) map[int]*B2Response {
		out := map[int]*B2Response{}
		for i := 0; i < 6; i++ {
			r := do(map[string]string{"X-Bz-Test-Mode": m})
			out[r.Status] = r
		}
		return out
	}
	upload := func(h map[string]string) *B2Response {
		uu, tok := c.UploadURL(id)
		h["X-Bz-File-Name"], h["X-Bz-Content-Sha1"] = "t", SHA1Hex([]byte("t"))
		return c.UploadRaw(uu, tok, []byte("t"), h)
	}
	call := func(h map[string]string) *B2Response {
		req, _ := http.NewRequest(http.MethodPost, c.APIURL+"/b2api/v2/b2_list_file_names", strings.NewReader(`{"bucketId":"`+id+`"}`))
		req.Header.Set("Authorization", c.Token)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		return c.Do(req)
	}
	// Some uploads fail with 503 and Retry-After, the rest succeed.
	got := statuses("fail_some_uploads", upload)
	if got[200] == nil || got[503] == nil || len(got) != 2 || got[503].Header.Get("Retry-After") == "" {
		t.Fatalf("fail_some_uploads: %v", got)
	}
	WantB2Error(t, got[503], 503, "service_unavailable")
	// Some calls find their account token expired.
	got = statuses("expire_some_account_authorization_tokens", call)
	if got[200] == nil || got[401] == nil || len(got) != 2 {
		t.Fatalf("expire_some_account_authorization_tokens: %v", got)
	}
	WantB2Error(t, got[401], 401, "expired_auth_token")
	// Caps: every request is over its cap.
	capped := map[string]string{"X-Bz-Test-Mode": "force_cap_exceeded"}
	WantB2Error(t, upload(map[string]string{"X-Bz-Test-Mode": "force_cap_exceeded"}), 403, "storage_cap_exceeded")
	WantB2Error(t, call(capped), 403, "transaction_cap_exceeded")
	WantB2Error(t, c.DownloadByName(http.MethodGet, b["bucketName"].(string), "t", c.Token, capped), 403, "download_cap_exceeded")
}
