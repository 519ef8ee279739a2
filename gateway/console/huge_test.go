package console_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/chromedp"
)

// TestConsoleHugeUpload uploads a file of more than 5 GiB through the
// console with the server's default part size, and watches the page's
// JavaScript heap while it does: the file is read in slices, never held.
// It takes minutes and 5 GiB of disk, so it runs only when
// COFFER_CONSOLE_HUGE=1.
func TestConsoleHugeUpload(t *testing.T) {
	if os.Getenv("COFFER_CONSOLE_HUGE") == "" {
		t.Skip("set COFFER_CONSOLE_HUGE=1 to upload a 5 GiB file through the console")
	}
	e := newEnv(t, "--log-level=warn")
	b := e.createBucket("huge", "allPrivate", nil)
	id, name := b["bucketId"].(string), b["bucketName"].(string)
	const size = 5<<30 + 12345
	path := filepath.Join(t.TempDir(), "five-gib.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: zeros on read, nothing on disk.
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.clickIn(bucketCard(name), "Upload/Download")
	start := time.Now()
	p.pick(localFile{path: path, name: "five-gib.bin"})
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Second):
			}
			if h, err := heap(p); err == nil && h > peak.Load() {
				peak.Store(h)
			}
		}
	}()
	for deadline := time.Now().Add(40 * time.Minute); ; time.Sleep(2 * time.Second) {
		state := eval[string](p, `(document.querySelector('li.upload') || {dataset: {}}).dataset.state || ''`)
		if state == "done" {
			break
		}
		if state == "failed" || time.Now().After(deadline) {
			p.fail("upload %s: %s", state, p.text("li.upload .status"))
		}
	}
	close(done)
	took := time.Since(start)
	t.Logf("5 GiB uploaded in %v (%.0f MB/s); the page retained at most %d MiB", took.Round(time.Second), float64(size)/took.Seconds()/1e6, peak.Load()>>20)
	if peak.Load() > 256<<20 {
		t.Errorf("the page's heap reached %d MiB", peak.Load()>>20)
	}
	got := e.fileByName(id, "five-gib.bin")
	if got == nil || got["contentLength"].(float64) != size {
		t.Fatalf("stored: %v", got)
	}
	// The bytes, streamed back: zeros, and as many.
	req := e.b2.Token
	resp, err := httpGetAuth(e.c.Endpoint+"/file/"+name+"/five-gib.bin", req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha1.New()
	n, _ := io.Copy(h, resp.Body)
	z := sha1.New()
	_, _ = io.CopyN(z, zeros{}, size)
	if n != size || hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(z.Sum(nil)) {
		t.Fatalf("downloaded %d bytes, sha1 %x", n, h.Sum(nil))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// heap is what the page's JavaScript heap retains: Chromium's
// performance.memory right after a full collection (garbage that a lazy
// collector has not reclaimed yet is not held). It is called from a
// goroutine, so it reports errors instead of failing.
func heap(p *tab) (int64, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		return 0, err
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.memory ? performance.memory.usedJSHeapSize : 0`))
	return int64(v), err
}
