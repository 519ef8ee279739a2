package conformance

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// testB2CORS checks CORS on the native operations (spec/cors.md §1):
// preflights answered before authentication from the bucket's rules,
// headers on actual requests, the private-bucket token rule, and no CORS
// at all on the other calls.
func testB2CORS(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	const origin = "https://app.example.com"
	rule := map[string]any{
		"corsRuleName":      "webApp",
		"allowedOrigins":    []string{origin},
		"allowedOperations": []string{"b2_download_file_by_name", "b2_upload_file"},
		"allowedHeaders":    []string{"authorization", "content-type", "x-bz-file-name", "x-bz-content-sha1", "x-bz-info-*"},
		"exposeHeaders":     []string{"x-bz-content-sha1"},
		"maxAgeSeconds":     600,
	}
	pub := c.CreateBucket("b2corspub", "allPublic", map[string]any{"corsRules": []any{rule}})
	priv := c.CreateBucket("b2corspriv", "allPrivate", map[string]any{"corsRules": []any{rule}})
	c.Upload(pub["bucketId"].(string), "f.txt", []byte("public"), nil)
	pf := c.Upload(priv["bucketId"].(string), "docs/f.txt", []byte("private"), nil)

	preflight := func(u, method, headers, from string) *B2Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodOptions, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", from)
		req.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			req.Header.Set("Access-Control-Request-Headers", headers)
		}
		return c.Do(req)
	}
	pubURL := c.DownloadURL + "/file/" + pub["bucketName"].(string) + "/f.txt"
	// "range" is not among the rule's allowedHeaders.
	WantB2Error(t, preflight(pubURL, "GET", "range", origin), 403, "cors_not_allowed")
	r := preflight(pubURL, "GET", "", origin)
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != origin || r.Header.Get("Access-Control-Allow-Methods") != "GET, HEAD" ||
		r.Header.Get("Access-Control-Max-Age") != "600" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("download preflight: %d %v %s", r.Status, r.Header, r.Body)
	}
	WantB2Error(t, preflight(pubURL, "GET", "", "https://evil.example.com"), 403, "cors_not_allowed")
	WantB2Error(t, preflight(pubURL, "PUT", "", origin), 403, "cors_not_allowed")
	WantB2Error(t, preflight(c.DownloadURL+"/b2api/v2/b2_download_file_by_id?fileId="+url.QueryEscape(pf["fileId"].(string)), "GET", "", origin), 403, "cors_not_allowed")
	WantB2Error(t, preflight(c.APIURL+"/b2api/v2/b2_list_buckets", "POST", "", origin), 403, "cors_not_allowed")

	// Upload preflights are decided by the rules alone.
	uu, tok := c.UploadURL(pub["bucketId"].(string))
	r = preflight(uu, "POST", "authorization, content-type, x-bz-file-name, x-bz-content-sha1, x-bz-info-author", origin)
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Methods") != "POST" || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "x-bz-info-author") {
		t.Fatalf("upload preflight: %d %v %s", r.Status, r.Header, r.Body)
	}
	WantB2Error(t, preflight(uu, "POST", "x-custom", origin), 403, "cors_not_allowed")

	// Actual requests: headers when a rule matches, Vary always.
	dl := c.DownloadByName(http.MethodGet, pub["bucketName"].(string), "f.txt", "", map[string]string{"Origin": origin})
	if dl.Status != 200 || dl.Header.Get("Access-Control-Allow-Origin") != origin || dl.Header.Get("Access-Control-Expose-Headers") != "x-bz-content-sha1" ||
		!strings.Contains(dl.Header.Get("Vary"), "Origin") {
		t.Fatalf("actual download: %d %v", dl.Status, dl.Header)
	}
	dl = c.DownloadByName(http.MethodGet, pub["bucketName"].(string), "f.txt", "", map[string]string{"Origin": "https://evil.example.com"})
	if dl.Status != 200 || dl.Header.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(dl.Header.Get("Vary"), "Origin") {
		t.Fatalf("download from another origin: %d %v", dl.Status, dl.Header)
	}
	miss := c.DownloadByName(http.MethodGet, pub["bucketName"].(string), "missing", "", map[string]string{"Origin": origin})
	if miss.Status != 404 || miss.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("CORS headers belong on errors too: %d %v", miss.Status, miss.Header)
	}
	up := c.UploadRaw(uu, tok, []byte("x"), map[string]string{"Origin": origin, "X-Bz-File-Name": "cors-upload", "X-Bz-Content-Sha1": SHA1Hex([]byte("x"))})
	if up.Status != 200 || up.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("actual upload: %d %v", up.Status, up.Header)
	}
	list := c.Call("b2_list_buckets", map[string]any{"accountId": c.AccountID})
	if list.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS headers on a non-CORS call: %v", list.Header)
	}

	// Private buckets: a download preflight must carry a download
	// authorization for the name in its URL — not the account token.
	privURL := c.DownloadURL + "/file/" + priv["bucketName"].(string) + "/docs/f.txt"
	WantB2Error(t, preflight(privURL, "GET", "", origin), 403, "cors_not_allowed")
	WantB2Error(t, preflight(privURL+"?Authorization="+url.QueryEscape(c.Token), "GET", "", origin), 403, "cors_not_allowed")
	da := c.Must("b2_get_download_authorization", map[string]any{"bucketId": priv["bucketId"], "fileNamePrefix": "docs/", "validDurationInSeconds": 60})
	dtok := url.QueryEscape(da["authorizationToken"].(string))
	if r := preflight(privURL+"?Authorization="+dtok, "GET", "", origin); r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("private preflight with a download token: %d %v %s", r.Status, r.Header, r.Body)
	}
	other := c.DownloadURL + "/file/" + priv["bucketName"].(string) + "/other.txt"
	WantB2Error(t, preflight(other+"?Authorization="+dtok, "GET", "", origin), 403, "cors_not_allowed")
	req, _ := http.NewRequest(http.MethodGet, privURL+"?Authorization="+dtok, nil)
	req.Header.Set("Origin", origin)
	if r := c.Do(req); r.Status != 200 || string(r.Body) != "private" || r.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("private cross-origin download: %d %v", r.Status, r.Header)
	}

	// A rule change is seen by the very next request, on any gateway and
	// corsd replica: the decision above is cached under the old rules.
	c.Must("b2_update_bucket", map[string]any{"accountId": c.AccountID, "bucketId": pub["bucketId"], "corsRules": []any{}})
	WantB2Error(t, preflight(pubURL, "GET", "", origin), 403, "cors_not_allowed")
}
