package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// unnamed lists the visible controls without an accessible name.
const unnamed = `(() => {
  const name = (e) => {
    if (e.getAttribute('aria-label')) return e.getAttribute('aria-label');
    const by = e.getAttribute('aria-labelledby');
    if (by) return by.split(' ').map((id) => (document.getElementById(id) || {}).textContent || '').join(' ');
    if (e.labels && e.labels.length) return [...e.labels].map((l) => l.textContent).join(' ');
    if (e.closest('label')) return e.closest('label').textContent;
    return e.textContent || e.title || '';
  };
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  return [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea')]
    .filter((e) => visible(e) && !name(e).trim())
    .map((e) => e.outerHTML.slice(0, 120));
})()`

// checkPage checks the page as it is: every control named, nothing wider
// than the window.
func (p *tab) checkPage(where string) {
	p.t.Helper()
	if bad := eval[[]string](p, unnamed); len(bad) > 0 {
		p.fail("%s: controls without a name: %v", where, bad)
	}
	if w := eval[[]float64](p, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		p.fail("%s: the page is %v px wide in a %v px window", where, w[0], w[1])
	}
}

// testQuality: names rendered as text (the XSS-looking file name), every
// control labelled, the keyboard, and the phone-sized window.
func testQuality(t *testing.T, e *env) {
	b := e.createBucket("quality", "allPrivate", nil)
	id, name := b["bucketId"].(string), b["bucketName"].(string)
	evil := `<img src=x onerror=alert(1)>`
	evil2 := `<img src=x onerror="window.__xss=1">.txt`
	e.uploadAs(id, evil2, "text/html", []byte("<script>window.__xss=2</script>"), map[string]string{"note": `<script>window.__xss=3</script>`})

	t.Run("XSS", func(t *testing.T) {
		p := e.open(t)
		dialogs := chromedp.Events(p.ctx, page.JavascriptDialogOpening)
		p.signIn(e.masterKeyID(), masterSecret)
		p.clickIn(bucketCard(name), "Upload/Download")
		// The name, uploaded through the file picker.
		dir := t.TempDir()
		f := writeFile(t, dir, evil, 10, time.Now())
		p.pick(f)
		p.waitFor("the upload", fmt.Sprintf(`!!document.querySelector('%s[data-state=done]')`, uploadRow(evil)))
		p.find("css", row(evil))
		got := eval[[]string](p, `[...document.querySelectorAll('table.files td.name button')].map((b) => b.textContent)`)
		if strings.Join(got, "|") != evil+"|"+evil2 && strings.Join(got, "|") != evil2+"|"+evil {
			p.fail("names shown: %q", got)
		}
		p.click(evil2)
		p.dialogOpen("File Details")
		p.waitText("dialog[open] .file-info", `note: <script>window.__xss=3</script>`)
		if n := eval[float64](p, `document.querySelectorAll('img:not([alt=""]), script:not([type=module]):not([src])').length`); n != 0 {
			p.fail("%v elements came from data", n)
		}
		if eval[bool](p, `typeof window.__xss !== 'undefined'`) {
			p.fail("a name ran as code")
		}
		e.checkUploaded(p, id, name, evil, f)
		select {
		case ev := <-firstEvent(dialogs):
			p.fail("a JavaScript dialog opened: %+v", ev)
		default:
		}
	})

	t.Run("Keyboard", func(t *testing.T) {
		p := e.open(t)
		p.signIn(e.masterKeyID(), masterSecret)
		p.waitText("main h1", "Buckets")
		p.checkPage("Buckets")
		// Create a Bucket opens with the focus in its first field; Escape
		// closes it and the focus returns to the button.
		p.do(chromedp.Focus(p.find("button", "Create a Bucket")), chromedp.KeyEvent(kb.Enter))
		p.dialogOpen("Create a Bucket")
		if got := eval[string](p, `document.activeElement.name || ''`); got != "bucketName" {
			p.fail("the focus is on %q", got)
		}
		p.checkPage("Create a Bucket")
		p.do(chromedp.KeyEvent(kb.Escape))
		p.dialogClosed()
		if got := eval[string](p, `document.activeElement.textContent`); got != "Create a Bucket" {
			p.fail("after Escape the focus is on %q", got)
		}
		for _, page := range []string{"Browse Files", "Application Keys", "Cluster"} {
			p.click(page)
			p.waitText("main h1", strings.TrimSuffix(page, " Files"))
			p.waitFor("the page to load", `!document.querySelector('main .loading')`)
			p.checkPage(page)
		}
	})

	t.Run("Phone", func(t *testing.T) {
		p := e.open(t, 390, 844)
		p.checkPage("sign-in")
		p.signIn(e.masterKeyID(), masterSecret)
		p.waitText("main h1", "Buckets")
		p.checkPage("Buckets")
		// The menu folds the navigation away.
		if eval[bool](p, `getComputedStyle(document.getElementById('nav')).display !== 'none'`) {
			p.fail("the navigation is open on a phone")
		}
		for _, page := range []string{"Browse Files", "Application Keys", "Cluster"} {
			p.click("Menu")
			p.click(page)
			p.waitText("main h1", strings.TrimSuffix(page, " Files"))
			p.waitFor("the page to load", `!document.querySelector('main .loading')`)
			p.checkPage(page)
		}
		p.click("Menu")
		p.click("Buckets")
		p.clickIn(bucketCard(name), "Upload/Download")
		p.find("css", row(evil2))
		p.checkPage("the file list")
	})
}

// firstEvent returns a channel that gets the first event, if any.
func firstEvent[E any](events func(func(E, error) bool)) <-chan E {
	ch := make(chan E, 1)
	go func() {
		for ev, err := range events {
			if err == nil {
				ch <- ev
			}
			return
		}
	}()
	return ch
}
