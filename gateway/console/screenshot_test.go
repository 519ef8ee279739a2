package console_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestConsoleScreenshots saves the console's pages as PNGs under
// $COFFER_CONSOLE_SCREENSHOTS (docs/console.png comes from here: `make
// screenshots`). Without the variable it does nothing.
func TestConsoleScreenshots(t *testing.T) {
	dir := os.Getenv("COFFER_CONSOLE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set COFFER_CONSOLE_SCREENSHOTS to a directory to take the screenshots")
	}
	e := newEnv(t)
	for _, n := range []string{"photos-2024", "backups-prod"} {
		b := e.b2.CreateBucket(n, "allPrivate", nil)
		_ = b
	}
	pub := e.b2.Must("b2_create_bucket", map[string]any{"accountId": e.b2.AccountID, "bucketName": "website-assets", "bucketType": "allPublic",
		"defaultServerSideEncryption": map[string]any{"mode": "SSE-B2", "algorithm": "AES256"}})
	id := pub["bucketId"].(string)
	for _, n := range []string{"index.html", "css/site.css", "img/logo.png", "img/hero.jpg", "docs/guide.pdf"} {
		e.b2.Upload(id, n, []byte("content of "+n), map[string]string{"src_last_modified_millis": "1700000000000"})
	}
	for _, size := range [][2]int64{{1280, 800}, {390, 844}} {
		p := e.open(t, size[0], size[1])
		p.signIn(e.masterKeyID(), masterSecret)
		suffix := ""
		if size[0] < 1000 {
			suffix = "-phone"
		}
		p.waitText("main", "website-assets")
		p.screenshot(filepath.Join(dir, "buckets"+suffix+".png"))
		p.do()
		p.click("Upload/Download")
		_ = id
	}
}
