package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/debpkg"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Chromium, installing Debian's package when it is
// missing; a test must never skip for want of a browser.
func chromiumPath(t testing.TB) string {
	t.Helper()
	find := func() string {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if err := debpkg.Ensure(func() bool { return find() != "" }, true, "chromium"); err != nil {
		t.Fatalf("Chromium is not installed and could not be: %v", err)
	}
	return find()
}

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// NewBrowser starts Chromium; it stops with the test.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		acancel()
		t.Fatalf("start Chromium: %v", err)
	}
	b := &Browser{ctx: ctx, cancel: func() { cancel(); acancel() }}
	t.Cleanup(b.cancel)
	return b
}

// Tab opens a new tab with its own session storage; it closes with the
// test. Run chromedp actions on the returned context.
func (b *Browser) Tab(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	t.Cleanup(cancel)
	return ctx
}

// Page serves a blank HTML page at its own origin (a loopback port of its
// own, so it is cross-origin to the gateway).
type Page struct {
	Origin string
	srv    *http.Server
}

// NewPage starts the page server on host ("127.0.0.1" or "localhost").
func NewPage(t testing.TB, host string) *Page {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	p := &Page{Origin: fmt.Sprintf("http://%s:%s", host, port)}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>coffer cors test</title><p>page</p>")
	})}
	go p.srv.Serve(lis)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// Result is what a script's fetch saw: OK false means the browser refused
// it (a CORS failure surfaces as a TypeError, with no status visible).
// Blocked reports exactly that.
type Result struct {
	OK      bool              `json:"ok"`
	Status  int               `json:"status"`
	Body    string            `json:"body"`
	Headers map[string]string `json:"headers"`
	Error   string            `json:"error"`
}

// Blocked reports whether the browser refused the request: fetch rejected
// with its network TypeError (a CORS refusal looks like a network error to
// the page, on purpose).
func (r Result) Blocked() bool {
	return !r.OK && strings.Contains(r.Error, "Failed to fetch")
}

// Fetch loads page and, from it, runs fetch(url, init) with the given
// init object (JSON) and returns what the script could observe, including
// the response headers named in readHeaders (null when not exposed).
func (b *Browser) Fetch(t testing.TB, page *Page, url, initJSON string, readHeaders ...string) Result {
	t.Helper()
	if initJSON == "" {
		initJSON = "{}"
	}
	if readHeaders == nil {
		readHeaders = []string{}
	}
	names, _ := json.Marshal(readHeaders)
	// Only fetch itself may fail into the verdict: a mistake anywhere else
	// in the script throws, and Evaluate reports it as an error, so a
	// broken script can never pass for a blocked request.
	script := fmt.Sprintf(`(async () => {
  let r;
  try {
    r = await fetch(%q, %s);
  } catch (e) {
    return JSON.stringify({ok: false, error: String(e)});
  }
  const h = {};
  for (const n of %s) { const v = r.headers.get(n); if (v !== null) h[n] = v; }
  return JSON.stringify({ok: true, status: r.status, body: await r.text(), headers: h});
})()`, url, initJSON, names)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(page.Origin+"/")); err != nil {
		t.Fatalf("browser: open %s: %v", page.Origin, err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser fetch %s: %v", url, err)
	}
	var res Result
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("browser result %q: %v", raw, err)
	}
	return res
}

// Eval loads page and runs script there, an expression whose value (a
// promise is awaited) must be a string; it returns that string. A script
// that throws fails the test, so only what the script itself catches can
// count as a browser's refusal.
func (b *Browser) Eval(t testing.TB, page *Page, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(page.Origin+"/")); err != nil {
		t.Fatalf("browser: open %s: %v", page.Origin, err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser script: %v", err)
	}
	return out
}

// Do runs chromedp steps in the browser's tab (after whatever the test
// loaded last), bounded in time.
func (b *Browser) Do(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// Location is the address of the page the tab shows now.
func (b *Browser) Location(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("browser location: %v", err)
	}
	return loc
}
