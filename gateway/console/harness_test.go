package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/coffer-project/coffer/gateway/browsertest"
	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/clustertest"
)

// The browser tests drive Debian's Chromium through the console as a user
// does — typing, clicking, choosing files — and check every result through
// the B2 API. One server and one browser serve a whole test; each subtest
// opens its own tab (its own sessionStorage). On a failure the page is
// saved as a PNG and the path printed.

// masterSecret is the master application key's secret in these tests.
const masterSecret = "K000consolemastersecret0000000001"

// partSize is the recommended part size the test server advertises: files
// above it take the large-file path with a few megabytes, not gigabytes.
const partSize = 5_000_000

// env is a server, its admin B2 client and a browser.
type env struct {
	t       *testing.T
	c       *clustertest.Cluster
	b2      *conformance.B2
	browser *browsertest.Browser
}

func newEnv(t *testing.T, args ...string) *env {
	t.Helper()
	browser := browsertest.NewBrowser(t)
	if len(args) == 0 {
		args = []string{fmt.Sprintf("--b2-recommended-part-size=%d", partSize)}
	}
	c := clustertest.Start(t, append(args, "--authd.master-secret="+masterSecret)...)
	if c.Console == "" {
		t.Fatal("the server runs no console")
	}
	b2 := conformance.NewB2WithKey(t, c.Endpoint, clustertest.AccessKeyID, clustertest.SecretKey, 4)
	return &env{t: t, c: c, b2: b2, browser: browser}
}

// masterKeyID is the account's master key id (B2: the account id padded).
func (e *env) masterKeyID() string { return "000" + e.b2.AccountID + "0000000000" }

// tab is one browser tab on the console.
type tab struct {
	t   testing.TB
	ctx context.Context
	env *env
	// problems are uncaught exceptions and CSP violations the page reported.
	mu       sync.Mutex
	problems []string
}

// open opens a tab at the console's sign-in page, at 1280×800 unless a size is given.
func (e *env) open(t testing.TB, size ...int64) *tab {
	t.Helper()
	p := &tab{t: t, ctx: e.browser.Tab(t), env: e}
	w, h := int64(1280), int64(800)
	if len(size) == 2 {
		w, h = size[0], size[1]
	}
	// Everything the page says on its console: exceptions and CSP
	// refusals are failures (a 4xx the console expects is not).
	msgs := chromedp.Console(p.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			s := m.String()
			if m.IsException() || strings.Contains(s, "Content Security Policy") || strings.Contains(s, "Refused to") {
				p.mu.Lock()
				p.problems = append(p.problems, s)
				p.mu.Unlock()
			}
		}
	}()
	p.do(chromedp.EmulateViewport(w, h), chromedp.Navigate(e.c.Console+"/"))
	p.find("control", "applicationKeyId (keyID)")
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.problems) > 0 && !t.Failed() {
			t.Errorf("the page reported problems:\n%s", strings.Join(p.problems, "\n"))
		}
	})
	return p
}

// fail saves a screenshot and fails the test with its path. The file is
// kept after the test (t.TempDir would be removed with it).
func (p *tab) fail(format string, args ...any) {
	p.t.Helper()
	msg := fmt.Sprintf(format, args...)
	dir := filepath.Join(os.TempDir(), "coffer-console-failures")
	_ = os.MkdirAll(dir, 0o755)
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(p.t.Name(), "_")
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.png", name, time.Now().Format("150405.000")))
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil && os.WriteFile(path, png, 0o644) == nil {
		msg += "\nscreenshot: " + path
	} else {
		msg += fmt.Sprintf("\n(no screenshot: %v)", err)
	}
	p.t.Fatal(msg)
}

// do runs actions with a time limit, failing the test on error.
func (p *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail("browser: %v", err)
	}
}

// eval evaluates a script in the page.
func eval[T any](p *tab, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluate %s: %v", js, err)
	}
	return v
}

// finder locates an element the way a user names it, in the topmost open
// dialog if there is one, marks it, and returns a CSS selector for it:
// kind "button" (a button or link by its text or accessible name),
// "control" (a field by its label), "choice" (a radio or checkbox by its
// label), "css".
const finder = `(kind, text, scope) => {
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const dialogs = [...document.querySelectorAll('dialog[open]')];
  let root = dialogs.length ? dialogs[dialogs.length - 1] : document;
  if (scope) root = root.querySelector(scope);
  if (!root) return '';
  // "Legend / Label" picks a choice inside the fieldset with that legend.
  if (kind === 'choice' && text.includes(' / ')) {
    const [legend, label] = text.split(' / ');
    root = [...root.querySelectorAll('fieldset')].find((f) => norm((f.querySelector('legend') || {}).textContent) === legend);
    if (!root) return '';
    text = label;
  }
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  let found = null;
  if (kind === 'button' || kind === 'clickable') {
    // A clickable one is enabled: a user waits for a busy button to come back.
    found = [...root.querySelectorAll('button, a, label.button')].find((e) => visible(e) &&
      (kind === 'button' || !e.disabled) && (norm(e.textContent) === text || e.getAttribute('aria-label') === text));
  } else if (kind === 'control') {
    const l = [...root.querySelectorAll('label[for]')].find((l) => norm(l.textContent) === text);
    found = l ? document.getElementById(l.htmlFor) : root.querySelector('[aria-label="' + CSS.escape(text) + '"]');
  } else if (kind === 'choice') {
    const l = [...root.querySelectorAll('label.radio, label.check')].find((l) => {
      const s = l.querySelector('span');
      return s && s.firstChild && norm(s.firstChild.textContent) === text;
    });
    found = l && l.querySelector('input');
  } else {
    found = root.querySelector(text);
  }
  if (!found) return '';
  if (!found.dataset.t) {
    window.__t = (window.__t || 0) + 1;
    found.dataset.t = String(window.__t);
  }
  return '[data-t="' + found.dataset.t + '"]';
}`

// find waits for an element (see finder) and returns its selector.
func (p *tab) find(kind, text string) chromedp.CSS {
	p.t.Helper()
	return p.findIn("", kind, text)
}

// findIn is find within the element matching scope (CSS), in the open
// dialog if there is one.
func (p *tab) findIn(scope, kind, text string) chromedp.CSS {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 45*time.Second)
	defer cancel()
	sel, err := chromedp.Run(ctx, chromedp.PollFunction[string](finder,
		chromedp.WithPollingArgs(kind, text, scope), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(40*time.Second)))
	if err != nil {
		p.fail("no %s %q on the page: %v", kind, text, err)
	}
	return chromedp.CSS(sel)
}

// has reports at once whether an element is on the page.
func (p *tab) has(kind, text string) bool {
	p.t.Helper()
	return p.hasIn("", kind, text)
}

// hasIn is has within scope.
func (p *tab) hasIn(scope, kind, text string) bool {
	p.t.Helper()
	args := fmt.Sprintf("(%s)(%q, %q, %q)", finder, kind, text, scope)
	return eval[string](p, args) != ""
}

// click clicks a button or link by its text.
func (p *tab) click(text string) {
	p.t.Helper()
	p.clickIn("", text)
}

// clickIn clicks a button or link by its text within scope.
func (p *tab) clickIn(scope, text string) {
	p.t.Helper()
	p.clickFound(scope, "clickable", text)
}

// clickFound finds an element and clicks it. The page may still be
// replacing the view the last click left (the old element found, then
// removed): a click that finds no node is tried again on a fresh find.
func (p *tab) clickFound(scope, kind, text string) {
	p.t.Helper()
	var err error
	for try := 0; try < 4; try++ {
		sel := p.findIn(scope, kind, text)
		ctx, cancel := context.WithTimeout(p.ctx, 8*time.Second)
		err = chromedp.Do(ctx, chromedp.Click(sel))
		cancel()
		if err == nil {
			return
		}
	}
	p.fail("click %s %q: %v", kind, text, err)
}

// fill types into the field labelled label, replacing what it holds.
func (p *tab) fill(label, value string) {
	p.t.Helper()
	p.fillIn("", label, value)
}

// fillIn is fill within scope.
func (p *tab) fillIn(scope, label, value string) {
	p.t.Helper()
	sel := p.findIn(scope, "control", label)
	// As a user does: select what is there, delete it, type.
	p.do(chromedp.Focus(sel), chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(kb.Delete))
	switch {
	case value == "":
	case len(value) > 40:
		// Long text arrives as a paste does: one insertion, not one key
		// event per character (hundreds of round trips on a busy machine).
		call(p, input.InsertText, input.InsertTextParams{Text: value})
	default:
		p.do(chromedp.SendKeys(sel, value))
	}
}

// choose clicks the radio button or checkbox labelled label.
func (p *tab) choose(label string) {
	p.t.Helper()
	p.clickFound("", "choice", label)
}

// waitFor waits until the script's value is truthy.
func (p *tab) waitFor(what, js string) {
	p.t.Helper()
	// Generous: uploads hash in the page, and test machines are busy.
	ctx, cancel := context.WithTimeout(p.ctx, 100*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		p.fail("waiting for %s: %v", what, err)
	}
}

// waitText waits until an element matching css holds text.
func (p *tab) waitText(css, text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%q in %s", text, css), fmt.Sprintf(
		`[...document.querySelectorAll(%q)].some((e) => e.textContent.replace(/\s+/g, ' ').includes(%q))`, css, text))
}

// text is the text of the first element matching css ("" if none).
func (p *tab) text(css string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent.replace(/\s+/g, ' ').trim() : ''; })()`, css))
}

// signIn signs in with a key through the form.
func (p *tab) signIn(keyID, secret string) {
	p.t.Helper()
	p.fill("applicationKeyId (keyID)", keyID)
	p.fill("applicationKey", secret)
	p.click("Sign in")
	p.find("css", "nav#nav")
}

// dialogOpen waits for a dialog titled title.
func (p *tab) dialogOpen(title string) {
	p.t.Helper()
	p.waitFor("dialog "+title, fmt.Sprintf(`[...document.querySelectorAll('dialog[open] h2')].some((e) => e.textContent.trim() === %q)`, title))
}

// dialogClosed waits until no dialog is open.
func (p *tab) dialogClosed() {
	p.t.Helper()
	p.waitFor("the dialog to close", `!document.querySelector('dialog[open]')`)
}

// screenshot saves the viewport as a PNG.
func (p *tab) screenshot(path string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.fail("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// call runs a CDP command on the tab.
func call[P, R any](p *tab, cmd cdp.Command[P, R], params P) R {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	r, err := chromedp.Call(ctx, cmd, params)
	if err != nil {
		p.fail("%s: %v", cmd.Method, err)
	}
	return r
}

var _ = page.CaptureScreenshot

// chromedpSelect picks an option of a select by its value, with the
// keyboard as a user can (focus, then type the option's first letters).
func chromedpSelect(p *tab, css, value string) chromedp.Action[chromedp.Void] {
	p.t.Helper()
	sel := p.find("css", css)
	return chromedp.Steps(chromedp.Focus(sel), chromedp.KeyEvent(value))
}
