package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHarnessSeesTheBrowsersVerdict checks the harness itself against a
// plain server: a response that allows the page's origin is readable, one
// that does not is blocked by the browser, and a header is visible only
// when exposed. Without this, a CORS test could pass because the harness
// never reports success (or never reports a block).
func TestHarnessSeesTheBrowsersVerdict(t *testing.T) {
	b := NewBrowser(t)
	page := NewPage(t, "127.0.0.1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/allowed":
			w.Header().Set("Access-Control-Allow-Origin", page.Origin)
			w.Header().Set("Access-Control-Expose-Headers", "X-Shown")
		case "/wrong-origin":
			w.Header().Set("Access-Control-Allow-Origin", "http://elsewhere.test")
		}
		w.Header().Set("X-Shown", "yes")
		w.Header().Set("X-Hidden", "yes")
		fmt.Fprint(w, "hello")
	}))
	defer srv.Close()

	r := b.Fetch(t, page, srv.URL+"/allowed", "", "x-shown", "x-hidden")
	if !r.OK || r.Status != 200 || r.Body != "hello" || r.Headers["x-shown"] != "yes" || r.Headers["x-hidden"] != "" {
		t.Fatalf("allowed: %+v", r)
	}
	for _, path := range []string{"/none", "/wrong-origin"} {
		if r := b.Fetch(t, page, srv.URL+path, ""); !r.Blocked() {
			t.Fatalf("%s: the browser should have blocked it: %+v", path, r)
		}
	}
}
