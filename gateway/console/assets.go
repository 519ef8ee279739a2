package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
)

// web holds the console's files, served as they are: no build step.
//
//go:embed web
var web embed.FS

// The page's policy: everything from this origin, nothing inline (no
// script, no style attribute), no plugins, no framing.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assets are the embedded files under versioned URLs: /assets/<version>/…
// where the version is a digest of every file, so they may be cached for
// good and a new binary's files are new URLs. index.html is served at /
// and revalidated on every load.
type assets struct {
	version string
	index   asset
	files   map[string]asset // by path under web/, e.g. "js/api.js"
}

// assetsPrefix is where the embedded files are served.
const assetsPrefix = "/assets/"

func loadAssets() *assets {
	a := &assets{files: map[string]asset{}}
	var names []string
	sum := sha256.New()
	err := fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := web.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "web/")
		names = append(names, name)
		sum.Write([]byte(name))
		sum.Write(body)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.files[name] = asset{body: body, contentType: ct}
		return nil
	})
	if err != nil {
		panic("console: embedded files: " + err.Error()) // the binary is broken
	}
	a.version = hex.EncodeToString(sum.Sum(nil))[:12]
	// index.html names its files with %ASSETS%, and %PRELOAD% becomes a
	// modulepreload link per module, so the browser fetches every module
	// at once instead of discovering the imports one level at a time.
	sort.Strings(names)
	base := assetsPrefix + a.version + "/"
	var preload strings.Builder
	for _, n := range names {
		if strings.HasPrefix(n, "js/") && strings.HasSuffix(n, ".js") {
			preload.WriteString(`<link rel="modulepreload" href="` + base + n + `">` + "\n")
		}
	}
	page := a.files["index.html"].body
	page = bytes.ReplaceAll(page, []byte("%PRELOAD%\n"), []byte(preload.String()))
	page = bytes.ReplaceAll(page, []byte("%ASSETS%/"), []byte(base))
	a.index = asset{body: page, contentType: "text/html; charset=utf-8"}
	delete(a.files, "index.html")
	h := sha256.Sum256(page)
	a.index.etag = `"` + hex.EncodeToString(h[:8]) + `"`
	return a
}

// serve answers GET and HEAD for / and the assets, 404 for anything else.
func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	p := r.URL.Path
	if p == "/" || p == "/index.html" {
		hd.Set("Content-Security-Policy", pageCSP)
		hd.Set("Cache-Control", "no-cache")
		hd.Set("ETag", a.index.etag)
		if r.Header.Get("If-None-Match") == a.index.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		write(w, r, a.index)
		return
	}
	rest, ok := strings.CutPrefix(p, assetsPrefix)
	version, name, ok2 := strings.Cut(rest, "/")
	f, found := a.files[name]
	if !ok || !ok2 || !found {
		hd.Set("Content-Security-Policy", pageCSP)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if version == a.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// A page of an older binary still open: today's file, not cached.
		hd.Set("Cache-Control", "no-store")
	}
	write(w, r, f)
}

func write(w http.ResponseWriter, r *http.Request, f asset) {
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Length", itoa(len(f.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(f.body)
	}
}
