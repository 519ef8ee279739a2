package console_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// rows is the number of rows the file table shows.
func (p *tab) rows() int {
	p.t.Helper()
	return int(eval[float64](p, `document.querySelectorAll('table.files tbody tr').length`))
}

// row is the CSS of a listing row by full name (and action, for versions).
func row(name string) string { return fmt.Sprintf(`table.files tr[data-name=%q]`, name) }

// selectRow ticks a row's checkbox (the first row with that name, or the
// one with that action).
func (p *tab) selectRow(name, action string) {
	p.t.Helper()
	css := row(name)
	if action != "" {
		css += fmt.Sprintf(`[data-action=%q]`, action)
	}
	p.do(chromedp.Click(p.find("css", css+" td.sel input")))
}

// versions lists every version of a bucket through the API, by name.
func (e *env) versions(bucketID, prefix string) map[string][]string {
	r := e.b2.Must("b2_list_file_versions", map[string]any{"bucketId": bucketID, "prefix": prefix, "maxFileCount": 10000})
	out := map[string][]string{}
	for _, f := range r["files"].([]any) {
		m := f.(map[string]any)
		out[m["fileName"].(string)] = append(out[m["fileName"].(string)], m["action"].(string))
	}
	return out
}

// testBrowse is item 7: folders and breadcrumbs, pages loaded as the user
// scrolls, hidden files and every version, selection to download, hide and
// delete (with a confirmation).
func testBrowse(t *testing.T, e *env) {
	b := e.createBucket("browse", "allPrivate", nil)
	id, name := b["bucketId"].(string), b["bucketName"].(string)
	put := func(n, body string) map[string]any { return e.b2.Upload(id, n, []byte(body), nil) }
	put("a/one.txt", "one")
	put("a/two.txt", "two")
	put("a/b/deep.txt", "deep")
	put("top.txt", "old top")
	put("top.txt", "new top")
	put("gone.txt", "gone")
	e.b2.Must("b2_hide_file", map[string]any{"bucketId": id, "fileName": "gone.txt"})
	const many = 120 // more than one page (100)
	for i := 0; i < many; i++ {
		put(fmt.Sprintf("many/f%04d.txt", i), fmt.Sprintf("file %d", i))
	}

	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.clickIn(bucketCard(name), "Upload/Download")
	p.waitText("main .count", "3 items")
	for _, n := range []string{"a/", "many/", "top.txt"} {
		p.find("css", row(n))
	}
	if p.has("css", row("gone.txt")) {
		p.fail("a hidden file is listed")
	}
	// Folders and breadcrumbs.
	p.click("a/")
	p.waitText("main .count", "3 items")
	p.waitText(".breadcrumbs [aria-current=page]", "a")
	p.click("b/")
	p.find("css", row("a/b/deep.txt"))
	p.clickIn(".breadcrumbs", "a")
	p.find("css", row("a/one.txt"))
	p.clickIn(".breadcrumbs", name)
	p.find("css", row("top.txt"))

	// Paging: the first page, then the rest as the user scrolls.
	p.click("many/")
	p.waitText("main .count", "100 items, more below")
	if n := p.rows(); n != 100 {
		p.fail("first page: %d rows", n)
	}
	p.do(chromedp.ScrollIntoView(p.find("button", "Load more")))
	p.waitText("main .count", fmt.Sprintf("%d items", many))
	if n := p.rows(); n != many {
		p.fail("after scrolling: %d rows", n)
	}

	// Download a selected file.
	dir := t.TempDir()
	yes := true
	// Sent on the tab's session, as chromedp's own test does.
	if _, err := chromedp.Call(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &yes}); err != nil {
		p.fail("download behaviour: %v", err)
	}
	p.selectRow("many/f0007.txt", "")
	p.click("Download")
	var got []byte
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, "f0007.txt")); err == nil && len(b) > 0 {
			got = b
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			p.fail("nothing downloaded (%v); page says %q; requests %s", entries, p.text("main .error"),
				eval[string](p, `JSON.stringify(performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('download')))`))
		}
	}
	if !bytes.Equal(got, []byte("file 7")) {
		p.fail("downloaded %q", got)
	}

	// Hidden files and every version.
	p.clickIn(".breadcrumbs", name)
	p.waitFor("the bucket's root", fmt.Sprintf(`(document.querySelector('.breadcrumbs [aria-current=page]') || {}).textContent === %q && !!document.querySelector(%q)`, name, row("top.txt")))
	p.choose("Show hidden files and all versions")
	p.find("css", row("gone.txt")+`[data-action="hide"]`)
	p.find("css", row("gone.txt")+`[data-action="upload"]`)
	p.waitFor("two versions of top.txt", fmt.Sprintf(`document.querySelectorAll(%q).length === 2`, row("top.txt")))
	p.waitText(row("gone.txt")+`[data-action="hide"]`, "hidden")
	// Delete one version: the older top.txt (the second row, newest first).
	p.do(chromedp.Click(p.find("css", fmt.Sprintf(`%s ~ tr[data-name="top.txt"] td.sel input`, row("top.txt")))))
	p.click("Delete")
	p.dialogOpen("Delete files?")
	p.waitText("dialog[open] p", "Delete 1 version?")
	p.click("Delete")
	p.dialogClosed()
	p.waitFor("one top.txt left", fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, row("top.txt")))
	vs := e.versions(id, "top.txt")
	if len(vs["top.txt"]) != 1 {
		p.fail("top.txt versions: %v", vs)
	}
	if d := e.b2.DownloadByName("GET", name, "top.txt", e.b2.Token, nil); string(d.Body) != "new top" {
		p.fail("the wrong version was deleted: top.txt is %q", d.Body)
	}
	p.choose("Show hidden files and all versions")
	p.waitText("main .count", "3 items")

	// Hide, after a confirmation (Cancel first: nothing happens).
	p.selectRow("top.txt", "")
	p.click("Hide")
	p.dialogOpen("Hide files?")
	p.click("Cancel")
	p.dialogClosed()
	if vs := e.versions(id, "top.txt"); len(vs["top.txt"]) != 1 {
		p.fail("Cancel hid the file: %v", vs)
	}
	p.click("Hide")
	p.dialogOpen("Hide files?")
	p.click("Hide")
	p.dialogClosed()
	p.waitFor("top.txt to go", fmt.Sprintf(`!document.querySelector(%q)`, row("top.txt")))
	if vs := e.versions(id, "top.txt"); len(vs["top.txt"]) != 2 || vs["top.txt"][0] != "hide" {
		p.fail("after Hide: %v", vs)
	}

	// Delete a folder: every version of every file in it.
	p.selectRow("a/", "")
	p.click("Delete")
	p.dialogOpen("Delete files?")
	p.waitText("dialog[open] p", "every file in the selected folders")
	p.click("Delete")
	p.dialogClosed()
	p.waitFor("a/ to go", fmt.Sprintf(`!document.querySelector(%q)`, row("a/")))
	if vs := e.versions(id, "a/"); len(vs) != 0 {
		p.fail("after deleting a/: %v", vs)
	}
	_ = context.Background
}
