package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// testServing checks what the console origin answers before any script
// runs: the page's security headers, the assets, the cluster endpoint's
// refusal without a token, and that the B2 API there is the gateway's.
func testServing(t *testing.T, e *env) {
	get := func(path string, hdr ...string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, e.c.Console+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page := get("/")
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", resp.Header)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") || strings.Contains(page, "<style") {
		t.Errorf("the page has inline script or style:\n%s", page)
	}
	// Every asset the page names is served, cacheable for good; nothing
	// comes from another host.
	refs := regexp.MustCompile(`(?:href|src)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 5 {
		t.Fatalf("the page names %d assets:\n%s", len(refs), page)
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], "/assets/") {
			t.Errorf("asset from elsewhere: %s", m[1])
			continue
		}
		r, body := get(m[1])
		if r.StatusCode != 200 || body == "" || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d %q", m[1], r.StatusCode, r.Header.Get("Cache-Control"))
		}
	}
	if r, _ := get("/nothing-here"); r.StatusCode != 404 {
		t.Errorf("unknown path: %d", r.StatusCode)
	}
	// The cluster status wants an account token.
	r, body := get("/api/cluster")
	var ae struct {
		Status int
		Code   string
	}
	_ = json.Unmarshal([]byte(body), &ae)
	if r.StatusCode != 401 || ae.Code != "bad_auth_token" {
		t.Errorf("cluster without a token: %d %s", r.StatusCode, body)
	}
	// The B2 API on the console origin is the gateway's: the same account,
	// apiUrl pointing back at the console (the browser stays same-origin),
	// downloads and S3 at the gateway.
	r, body = get("/b2api/v4/b2_authorize_account", "Authorization", "Basic "+basic(e.masterKeyID(), masterSecret))
	if r.StatusCode != 200 {
		t.Fatalf("authorize on the console origin: %d %s", r.StatusCode, body)
	}
	var auth struct {
		AccountID string `json:"accountId"`
		APIInfo   struct {
			StorageAPI struct {
				APIURL, DownloadURL, S3APIURL string
				RecommendedPartSize           int64
			} `json:"storageApi"`
		} `json:"apiInfo"`
	}
	_ = json.Unmarshal([]byte(body), &auth)
	st := auth.APIInfo.StorageAPI
	if auth.AccountID != e.b2.AccountID || st.APIURL != e.c.Console || st.DownloadURL != e.c.Endpoint || st.S3APIURL != e.c.Endpoint || st.RecommendedPartSize != partSize {
		t.Errorf("authorize on the console origin: %s", body)
	}
}

// testSignIn is item 1: sign in (with the keyboard alone), the token in
// sessionStorage only, sign out, a wrong key, an expired session.
func testSignIn(t *testing.T, e *env) {
	p := e.open(t)
	// First render, timed by the page's own mark.
	ms := eval[float64](p, `performance.getEntriesByName('console-ready')[0].startTime`)
	t.Logf("first page rendered %.0f ms after navigation started", ms)
	// The aim is 300 ms on the all-in-one server (about 200 ms measured);
	// the bound only catches a page that no longer renders by itself on a
	// busy test machine (TestImportsResolve guards the preloads).
	if ms > 5000 {
		p.fail("the first page took %.0f ms", ms)
	}

	t.Run("WrongKey", func(t *testing.T) {
		p := e.open(t)
		p.fill("applicationKeyId (keyID)", e.masterKeyID())
		p.fill("applicationKey", "not-the-secret")
		p.click("Sign in")
		p.waitText("form.signin .error", "not valid")
		if eval[string](p, `sessionStorage.length + ''`) != "0" {
			p.fail("a failed sign-in stored something")
		}
	})

	// The sign-in form has the focus: type, Tab, type, Enter.
	p.do(chromedp.KeyEvent(e.masterKeyID()), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(masterSecret), chromedp.KeyEvent(kb.Enter))
	p.find("css", "nav#nav")
	p.waitText("main h1", "Buckets")
	stored := eval[string](p, `sessionStorage.getItem('coffer.session') || ''`)
	if !strings.Contains(stored, `"token"`) {
		p.fail("no token in sessionStorage: %q", stored)
	}
	var s struct{ Token string }
	_ = json.Unmarshal([]byte(stored), &s)
	if eval[float64](p, `localStorage.length`) != 0 || strings.Contains(eval[string](p, `location.href`), s.Token) {
		p.fail("the token leaked into localStorage or the URL")
	}
	for _, nav := range []string{"Buckets", "Browse Files", "Application Keys", "Cluster"} {
		p.find("button", nav)
	}
	p.click("Sign out")
	p.waitText("form.signin .notice", "signed out")
	if eval[float64](p, `sessionStorage.length`) != 0 {
		p.fail("sign out left the session behind")
	}

	t.Run("Expired", func(t *testing.T) {
		// A short-lived key: its session ends while the console is open,
		// and the next call brings the sign-in page back. The tab opens
		// before the key exists, and the key lives long enough to sign in
		// on a loaded machine (with 3 seconds it had expired before the
		// sign-in form was sent); the test then waits for its expiry.
		p := e.open(t)
		k := e.b2.Must("b2_create_key", map[string]any{"accountId": e.b2.AccountID, "keyName": "short-lived",
			"capabilities": []string{"listBuckets", "listFiles", "readFiles"}, "validDurationInSeconds": 10})
		p.signIn(k["applicationKeyId"].(string), k["applicationKey"].(string))
		p.waitText("main h1", "Buckets")
		time.Sleep(time.Until(time.UnixMilli(int64(k["expirationTimestamp"].(float64))).Add(500 * time.Millisecond)))
		p.click("Browse Files")
		p.waitText("form.signin .notice", "expired")
		if eval[float64](p, `sessionStorage.length`) != 0 {
			p.fail("the expired session was kept")
		}
	})
}
