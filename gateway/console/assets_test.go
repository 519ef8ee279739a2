package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// TestNoHTMLFromData fails the build if a module could turn data into
// markup or code: the console builds its page with dom.js only.
func TestNoHTMLFromData(t *testing.T) {
	forbidden := regexp.MustCompile(`\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write|\beval\s*\(|new Function\b|\.setAttribute\(\s*['"]on|javascript:`)
	err := fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		body, _ := web.ReadFile(p)
		for i, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := forbidden.FindString(line); m != "" {
				t.Errorf("%s:%d uses %s", p, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImportsResolve checks that every module import names an embedded
// file, and that the page preloads every module.
func TestImportsResolve(t *testing.T) {
	a := loadAssets()
	imports := regexp.MustCompile(`(?m)^\s*import\b[^'"]*['"]([^'"]+)['"]`)
	for name, f := range a.files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range imports.FindAllStringSubmatch(string(f.body), -1) {
			target := path.Clean(path.Join(path.Dir(name), m[1]))
			if _, ok := a.files[target]; !ok {
				t.Errorf("%s imports %s: no such file", name, m[1])
			}
		}
		if !strings.Contains(string(a.index.body), `<link rel="modulepreload" href="/assets/`+a.version+"/"+name+`">`) {
			t.Errorf("the page does not preload %s", name)
		}
	}
	if strings.Contains(string(a.index.body), "%") {
		t.Errorf("a placeholder is left in the page:\n%s", a.index.body)
	}
}

// TestAssetCaching: today's files are cached for good, an old version's
// are served but not cached, the page is revalidated.
func TestAssetCaching(t *testing.T) {
	a := loadAssets()
	get := func(p string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, p, nil)
		if len(hdr) == 2 {
			r.Header.Set(hdr[0], hdr[1])
		}
		w := httptest.NewRecorder()
		a.serve(w, r)
		return w
	}
	if w := get("/assets/" + a.version + "/js/main.js"); w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") ||
		!strings.Contains(w.Header().Get("Content-Type"), "javascript") {
		t.Errorf("current asset: %d %v", w.Code, w.Header())
	}
	if w := get("/assets/000000000000/js/main.js"); w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("old asset: %d %v", w.Code, w.Header())
	}
	w := get("/")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("ETag") == "" {
		t.Fatalf("page: %d %v", w.Code, w.Header())
	}
	if w := get("/", "If-None-Match", w.Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d", w.Code)
	}
	for _, p := range []string{"/assets/" + a.version + "/nope.js", "/index.htm", "/assets/", "/assets/x"} {
		if w := get(p); w.Code != 404 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
}

// TestGatewayURL: the URLs the console shows point at the gateway as the
// user reaches it.
func TestGatewayURL(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		host string
		want string
	}{
		{Config{GatewayPort: "9000"}, "127.0.0.1:9001", "http://127.0.0.1:9000"},
		{Config{GatewayPort: "9000"}, "console.example:8443", "http://console.example:9000"},
		{Config{GatewayPort: "9000"}, "[::1]:9001", "http://[::1]:9000"},
		{Config{PublicURL: "https://s3.example.com/", GatewayPort: "9000"}, "127.0.0.1:9001", "https://s3.example.com"},
	} {
		h := New(c.cfg, Deps{})
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = c.host
		if got := h.gatewayURL(r); got != c.want {
			t.Errorf("%+v at %s: %s, want %s", c.cfg, c.host, got, c.want)
		}
	}
}
