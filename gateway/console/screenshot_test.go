package console_test

import (
	"os"
	"testing"
	"time"
)

// TestConsoleScreenshot takes the README's picture of the console
// (docs/console.png, `make screenshot`): a bucket's files in Browse Files
// after an upload, at 1280×800. It runs only when
// COFFER_CONSOLE_SCREENSHOT names the PNG to write.
func TestConsoleScreenshot(t *testing.T) {
	out := os.Getenv("COFFER_CONSOLE_SCREENSHOT")
	if out == "" {
		t.Skip("set COFFER_CONSOLE_SCREENSHOT to the PNG to write")
	}
	e := newEnv(t)
	for _, n := range []string{"backups-2024", "photos-family"} {
		e.b2.Must("b2_create_bucket", map[string]any{"accountId": e.b2.AccountID, "bucketName": n, "bucketType": "allPrivate"})
	}
	b := e.b2.Must("b2_create_bucket", map[string]any{"accountId": e.b2.AccountID, "bucketName": "website-assets", "bucketType": "allPublic",
		"defaultServerSideEncryption": map[string]any{"mode": "SSE-B2", "algorithm": "AES256"}})
	id := b["bucketId"].(string)
	files := map[string]string{
		"index.html": "text/html", "robots.txt": "text/plain", "favicon.ico": "image/x-icon",
		"css/site.css": "text/css", "img/logo.png": "image/png", "docs/guide.pdf": "application/pdf",
	}
	for n, ct := range files {
		e.uploadAs(id, n, ct, make([]byte, 1000+len(n)*731), map[string]string{"src_last_modified_millis": "1700000000000"})
	}
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.clickIn(bucketCard("website-assets"), "Upload/Download")
	dir := t.TempDir()
	now := time.Now()
	p.pick(writeFile(t, dir, "hero-banner.jpg", 2_400_000, now), writeFile(t, dir, "launch-video.mp4", 3*partSize+123_456, now))
	p.waitFor("the uploads", `document.querySelectorAll('li.upload[data-state=done]').length === 2`)
	p.waitFor("the listing", `!!document.querySelector('table.files tr[data-name="launch-video.mp4"]')`)
	p.do()
	p.screenshot(out)
	t.Logf("wrote %s", out)
}
