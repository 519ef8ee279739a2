package console_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/coffer-project/coffer/gateway/conformance"
)

// localFile is a file on disk for the file picker.
type localFile struct {
	path  string
	name  string
	data  []byte
	mtime time.Time
}

// writeFile makes a file of random bytes with a known modification time.
func writeFile(t testing.TB, dir, name string, size int, mtime time.Time) localFile {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return localFile{path: path, name: name, data: data, mtime: mtime}
}

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// fileByName reads the newest version of a file through the B2 API.
func (e *env) fileByName(bucketID, name string) map[string]any {
	r := e.b2.Must("b2_list_file_names", map[string]any{"bucketId": bucketID, "startFileName": name, "maxFileCount": 1})
	fs := r["files"].([]any)
	if len(fs) == 0 || fs[0].(map[string]any)["fileName"] != name {
		return nil
	}
	return fs[0].(map[string]any)
}

// checkUploaded checks a file the console uploaded: bytes, SHA-1 (the
// server's own for small files; large files have none, their parts each
// had one), and src_last_modified_millis from the file's mtime.
func (e *env) checkUploaded(p *tab, bucketID, bucketName, name string, f localFile) {
	p.t.Helper()
	got := e.fileByName(bucketID, name)
	if got == nil {
		p.fail("%s was not uploaded", name)
	}
	large := len(f.data) > partSize
	sha := got["contentSha1"].(string)
	switch {
	case large && sha != "none":
		p.fail("%s: a large file with contentSha1 %s", name, sha)
	case !large && sha != sha1Hex(f.data):
		p.fail("%s: contentSha1 %s, want %s", name, sha, sha1Hex(f.data))
	}
	if got["contentLength"].(float64) != float64(len(f.data)) {
		p.fail("%s: %v bytes, want %d", name, got["contentLength"], len(f.data))
	}
	info := got["fileInfo"].(map[string]any)
	if info["src_last_modified_millis"] != strconv.FormatInt(f.mtime.UnixMilli(), 10) {
		p.fail("%s: src_last_modified_millis %v, want %d", name, info["src_last_modified_millis"], f.mtime.UnixMilli())
	}
	d := e.b2.DownloadByName("GET", bucketName, name, e.b2.Token, nil)
	if d.Status != 200 || !bytes.Equal(d.Body, f.data) {
		p.fail("%s: download %d, %d bytes (want %d, equal: %v)", name, d.Status, len(d.Body), len(f.data), bytes.Equal(d.Body, f.data))
	}
}

// interceptor pauses the answers to the tab's requests to URLs matching
// pattern and lets decide settle each: true lets it through, false fails it
// as a dropped connection would, and nil holds it until release. It pauses
// answers, not requests: Chromium does not pause requests whose bodies are
// large Blobs (the parts), and a lost answer is the harder case anyway —
// the server got the part, the client must not trust it.
type interceptor struct {
	p      *tab
	mu     sync.Mutex
	seen   int
	failed int
	held   []fetch.RequestID
}

func (p *tab) intercept(pattern string, decide func(n int) *bool) *interceptor {
	p.t.Helper()
	ic := &interceptor{p: p}
	ctx, cancel := context.WithCancel(p.ctx)
	p.t.Cleanup(cancel)
	ready := make(chan struct{})
	go func() {
		_, _ = chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			// The raw events: the typed decoder refuses the binary
			// bodies Chromium puts in postData (lone surrogates), and only
			// the request's id and URL matter here.
			events, unsubscribe := t.Subscribe(fetch.RequestPaused.Method)
			defer unsubscribe()
			_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern, RequestStage: fetch.RequestStageResponse}}})
			close(ready)
			if err != nil {
				return chromedp.Void{}, err
			}
			for {
				var raw []byte
				select {
				case <-ctx.Done():
					return chromedp.Void{}, ctx.Err()
				case v, ok := <-events:
					if !ok {
						return chromedp.Void{}, nil
					}
					raw = v
				}
				var ev struct {
					RequestID fetch.RequestID `json:"requestId"`
				}
				if err := json.Unmarshal(raw, &ev); err != nil {
					return chromedp.Void{}, err
				}
				ic.mu.Lock()
				ic.seen++
				verdict := decide(ic.seen)
				switch {
				case verdict == nil:
					ic.held = append(ic.held, ev.RequestID)
				case !*verdict:
					ic.failed++
				}
				ic.mu.Unlock()
				switch {
				case verdict == nil:
				case *verdict:
					_, _ = cdp.Call(ctx, t, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				default:
					_, _ = cdp.Call(ctx, t, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionFailed})
				}
			}
		})
	}()
	<-ready
	return ic
}

// release fails every held request.
func (ic *interceptor) release() {
	ic.mu.Lock()
	held := ic.held
	ic.held = nil
	ic.mu.Unlock()
	for _, id := range held {
		_, _ = chromedp.Call(ic.p.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: network.ErrorReasonAborted})
	}
}

func (ic *interceptor) counts() (seen, failed, held int) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	return ic.seen, ic.failed, len(ic.held)
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// uploadRow is the CSS of a file's row in the Uploads panel.
func uploadRow(name string) string { return fmt.Sprintf(`li.upload[data-name=%q]`, name) }

// pick opens Upload and chooses files with the file picker.
func (p *tab) pick(files ...localFile) {
	p.t.Helper()
	p.click("Upload")
	p.dialogOpen("Upload")
	p.checkPage("Upload")
	var paths []string
	for _, f := range files {
		paths = append(paths, f.path)
	}
	p.do(chromedp.SetUploadFiles(p.find("css", "#upload-input"), paths))
	p.dialogClosed()
}

// testUpload is item 6 (with item 7's New Folder): many files at once into
// the folder being browsed, one of them through the large-file API, with
// progress per file and overall; SHA-1 and src_last_modified_millis on
// every upload; a failed part retried; Cancel cancels the large file; drag
// and drop.
func testUpload(t *testing.T, e *env) {
	b := e.createBucket("uploads", "allPrivate", nil)
	id, name := b["bucketId"].(string), b["bucketName"].(string)
	dir := t.TempDir()
	when := time.Date(2022, 12, 15, 14, 4, 0, 0, time.UTC)
	files := []localFile{
		writeFile(t, dir, "hello.txt", 13, when),
		writeFile(t, dir, "photo.png", 300_000, when.Add(time.Hour)),
		writeFile(t, dir, "notes ümlaut & spaces.txt", 4096, when.Add(2*time.Hour)),
		writeFile(t, dir, "big.bin", 2*partSize+345_678, when.Add(3*time.Hour)),
	}
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.clickIn(bucketCard(name), "Upload/Download")
	p.waitText("main .breadcrumbs", name)

	// New Folder, then into it.
	p.click("New Folder")
	p.dialogOpen("New Folder")
	p.fill("Folder name", "a/b")
	p.click("Create Folder")
	p.waitText("dialog[open] .field-error", "cannot contain '/'")
	p.fill("Folder name", "docs")
	p.click("Create Folder")
	p.dialogClosed()
	p.click("docs/")
	p.waitText("main .breadcrumbs", "docs")
	if e.fileByName(id, "docs/.bzEmpty") == nil {
		p.fail("New Folder made no docs/.bzEmpty")
	}

	p.pick(files...)
	p.waitFor("four uploads to finish", `document.querySelectorAll('li.upload[data-state=done]').length === 4`)
	// Every bar full, the overall one too.
	if !eval[bool](p, `[...document.querySelectorAll('section.uploads progress')].every((b) => b.value === b.max && b.max > 0)`) {
		p.fail("progress bars are not full")
	}
	if got := eval[float64](p, `document.querySelector('section.uploads header progress').max`); got != float64(13+300_000+4096+2*partSize+345_678) {
		p.fail("overall progress counts %v bytes", got)
	}
	for _, f := range files {
		e.checkUploaded(p, id, name, "docs/"+f.name, f)
	}
	// They show in the folder.
	for _, f := range files {
		p.waitText("table.files", f.name)
	}

	t.Run("RetryPart", func(t *testing.T) {
		p := e.open(t)
		p.signIn(e.masterKeyID(), masterSecret)
		p.clickIn(bucketCard(name), "Upload/Download")
		// The first part upload fails as a dropped connection does.
		ic := p.intercept("*b2_upload_part*", func(n int) *bool {
			if n == 1 {
				return no()
			}
			return yes()
		})
		f := writeFile(t, dir, "retry.bin", 2*partSize+1, when)
		p.pick(f)
		p.waitFor("the upload to finish", fmt.Sprintf(`!!document.querySelector('%s[data-state=done]')`, uploadRow(f.name)))
		seen, failed, _ := ic.counts()
		if failed != 1 || seen != 4 {
			p.fail("part requests: %d, failed %d; want 3 parts plus one retry", seen, failed)
		}
		e.checkUploaded(p, id, name, f.name, f)
	})

	t.Run("Cancel", func(t *testing.T) {
		p := e.open(t)
		p.signIn(e.masterKeyID(), masterSecret)
		p.clickIn(bucketCard(name), "Upload/Download")
		ic := p.intercept("*b2_upload_part*", func(int) *bool { return nil }) // hold every part
		f := writeFile(t, dir, "cancel.bin", 3*partSize, when)
		p.pick(f)
		p.waitFor("parts in flight", `[...document.querySelectorAll('li.upload .status')].some((s) => s.textContent.includes('parts'))`)
		// Parts are hashed in the page first: slow on a busy machine.
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, _, held := ic.counts(); held > 0 {
				break
			}
			if time.Now().After(deadline) {
				p.fail("no part upload started")
			}
		}
		unfinished := e.b2.Must("b2_list_unfinished_large_files", map[string]any{"bucketId": id})["files"].([]any)
		if len(unfinished) != 1 {
			p.fail("%d unfinished large files while uploading", len(unfinished))
		}
		p.click("Cancel " + f.name)
		p.waitFor("the upload to be cancelled", fmt.Sprintf(`!!document.querySelector('%s[data-state=cancelled]')`, uploadRow(f.name)))
		ic.release()
		unfinished = e.b2.Must("b2_list_unfinished_large_files", map[string]any{"bucketId": id})["files"].([]any)
		if len(unfinished) != 0 || e.fileByName(id, f.name) != nil {
			p.fail("after Cancel: %d unfinished large files, file listed: %v", len(unfinished), e.fileByName(id, f.name) != nil)
		}
	})

	t.Run("DragAndDrop", func(t *testing.T) {
		p := e.open(t)
		p.signIn(e.masterKeyID(), masterSecret)
		p.clickIn(bucketCard(name), "Upload/Download")
		p.click("docs/")
		p.waitText("main .breadcrumbs", "docs")
		f := writeFile(t, dir, "dropped.txt", 1000, when)
		box := eval[[]float64](p, `(() => { const r = document.querySelector('main .browse').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
		data := &input.DragData{Items: []*input.DragDataItem{}, Files: []string{f.path}, DragOperationsMask: 1}
		for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
			call(p, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: box[0], Y: box[1], Data: data})
		}
		p.waitFor("the dropped file to upload", fmt.Sprintf(`!!document.querySelector('%s[data-state=done]')`, uploadRow("docs/"+f.name)))
		e.checkUploaded(p, id, name, "docs/"+f.name, f)
	})
	_ = conformance.SHA1Hex
}
