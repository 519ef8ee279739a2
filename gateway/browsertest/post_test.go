package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/chromedp"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/clustertest"
)

// formScript builds a FormData of fields and a file in the page and sends
// it to url with fetch or, with xhr, an XMLHttpRequest that has an upload
// progress listener and an X-Requested-With header (so the browser must
// preflight it); it reports what the script could observe, as Fetch does.
func formScript(url string, fields []conformance.FormField, fileName, content string, xhr bool) string {
	pairs := make([][2]string, len(fields))
	for i, f := range fields {
		pairs[i] = [2]string{f.Name, f.Value}
	}
	fj, _ := json.Marshal(pairs)
	build := fmt.Sprintf(`const fd = new FormData();
  for (const [n, v] of %s) fd.append(n, v);
  fd.append("file", new Blob([%q], {type: "text/plain"}), %q);`, fj, content, fileName)
	if xhr {
		return fmt.Sprintf(`new Promise((resolve) => {
  %s
  const x = new XMLHttpRequest();
  x.open("POST", %q);
  x.setRequestHeader("X-Requested-With", "coffer");
  x.upload.onprogress = () => {};
  x.onload = () => resolve(JSON.stringify({ok: true, status: x.status, body: x.responseText, headers: {}}));
  x.onerror = () => resolve(JSON.stringify({ok: false, error: "Failed to fetch (XMLHttpRequest error)"}));
  x.send(fd);
})`, build, url)
	}
	return fmt.Sprintf(`(async () => {
  %s
  let r;
  try {
    r = await fetch(%q, {method: "POST", body: fd});
  } catch (e) {
    return JSON.stringify({ok: false, error: String(e)});
  }
  const h = {};
  for (const n of ["etag", "x-amz-version-id"]) { const v = r.headers.get(n); if (v !== null) h[n] = v; }
  return JSON.stringify({ok: true, status: r.status, body: await r.text(), headers: h});
})()`, build, url)
}

func (b *Browser) postForm(t *testing.T, page *Page, url string, fields []conformance.FormField, fileName, content string, xhr bool) Result {
	t.Helper()
	var res Result
	raw := b.Eval(t, page, formScript(url, fields, fileName, content, xhr))
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("browser result %q: %v", raw, err)
	}
	return res
}

// TestBrowserPostForm uploads with presigned POST forms from pages in
// Chromium, cross-origin: fetch with FormData (a simple request: the
// browser reads the answer only if the bucket's CORS rules allow the
// page), a preflighted XMLHttpRequest (a refused preflight means the form
// is never sent), and a real HTML form submitted by the browser, which
// success_action_redirect sends back to the page.
func TestBrowserPostForm(t *testing.T) {
	browser := NewBrowser(t)
	c := clustertest.Start(t)
	page := NewPage(t, "127.0.0.1")
	stranger := NewPage(t, "localhost")
	ctx := context.Background()
	tg := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	s3c := tg.AWS(t)
	b := conformance.BucketName("browserpost")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conformance.EmptyBucket(context.Background(), t, s3c, b) })
	if _, err := s3c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
		AllowedOrigins: []string{page.Origin}, AllowedMethods: []string{"POST"}, AllowedHeaders: []string{"x-requested-with"},
		ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(5),
	}}}}); err != nil {
		t.Fatal(err)
	}
	bucketURL := c.Endpoint + "/" + b
	form := func(extra ...conformance.FormField) []conformance.FormField {
		return append(tg.SignedForm(b, extra, []any{"starts-with", "$key", "browser/"}), conformance.FormField{Name: "key", Value: "browser/${filename}"})
	}
	stored := func(key string) (string, bool) {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String(key)})
		if err != nil {
			conformance.WantError(t, err, "NoSuchKey", 404)
			return "", false
		}
		defer out.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := out.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return sb.String(), true
	}

	t.Run("FetchAllowed", func(t *testing.T) {
		r := browser.postForm(t, page, bucketURL, form(conformance.FormField{Name: "success_action_status", Value: "201"}), "fetch.txt", "sent with fetch", false)
		if !r.OK || r.Status != 201 || !strings.Contains(r.Body, "<Key>browser/fetch.txt</Key>") || r.Headers["etag"] == "" {
			t.Fatalf("the page's form upload: %+v", r)
		}
		if _, ok := r.Headers["x-amz-version-id"]; ok {
			t.Fatal("a header the rule does not expose was readable")
		}
		if got, ok := stored("browser/fetch.txt"); !ok || got != "sent with fetch" {
			t.Fatalf("stored %q (%v)", got, ok)
		}
	})
	t.Run("FetchOtherOriginBlocked", func(t *testing.T) {
		// A simple request: the browser sends it and hides the answer. As
		// on S3, CORS decides what a page may read, not whether a form
		// with a valid policy is accepted — the policy guards the write.
		r := browser.postForm(t, stranger, bucketURL, form(), "stranger.txt", "from elsewhere", false)
		if !r.Blocked() {
			t.Fatalf("an origin no rule allows read the answer: %+v", r)
		}
	})
	t.Run("PreflightedAllowed", func(t *testing.T) {
		r := browser.postForm(t, page, bucketURL, form(), "xhr.txt", "sent with XMLHttpRequest", true)
		if !r.OK || r.Status != 204 {
			t.Fatalf("preflighted upload: %+v", r)
		}
		if got, ok := stored("browser/xhr.txt"); !ok || got != "sent with XMLHttpRequest" {
			t.Fatalf("stored %q (%v)", got, ok)
		}
	})
	t.Run("PreflightDenied", func(t *testing.T) {
		r := browser.postForm(t, stranger, bucketURL, form(), "denied.txt", "never sent", true)
		if !r.Blocked() {
			t.Fatalf("a preflight no rule allows went through: %+v", r)
		}
		if _, ok := stored("browser/denied.txt"); ok {
			t.Fatal("the form was sent although its preflight was refused")
		}
	})
	t.Run("PolicyRefusalReadable", func(t *testing.T) {
		// An error answer carries the CORS headers too, so the page can read why.
		fields := form()
		for i := range fields {
			if fields[i].Name == "key" {
				fields[i].Value = "elsewhere/${filename}"
			}
		}
		r := browser.postForm(t, page, bucketURL, fields, "x.txt", "x", false)
		if !r.OK || r.Status != 403 || !strings.Contains(r.Body, "Invalid according to Policy") {
			t.Fatalf("refused form: %+v", r)
		}
	})
	t.Run("HTMLForm", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "from a form.txt")
		if err := os.WriteFile(file, []byte("chosen in a file input"), 0o600); err != nil {
			t.Fatal(err)
		}
		fields := form(conformance.FormField{Name: "success_action_redirect", Value: page.Origin + "/done"})
		pairs := make([][2]string, len(fields))
		for i, f := range fields {
			pairs[i] = [2]string{f.Name, f.Value}
		}
		fj, _ := json.Marshal(pairs)
		browser.Eval(t, page, fmt.Sprintf(`(() => {
  const f = document.createElement("form");
  f.id = "f"; f.method = "POST"; f.action = %q; f.enctype = "multipart/form-data";
  for (const [n, v] of %s) { const i = document.createElement("input"); i.type = "hidden"; i.name = n; i.value = v; f.appendChild(i); }
  const file = document.createElement("input"); file.type = "file"; file.name = "file"; file.id = "file"; f.appendChild(file);
  document.body.appendChild(f);
  return "ready";
})()`, bucketURL, fj))
		browser.Do(t, chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}), chromedp.Submit(chromedp.ID("f")))
		var loc string
		deadline := time.Now().Add(20 * time.Second)
		for {
			if loc = browser.Location(t); strings.HasPrefix(loc, page.Origin+"/done") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the browser did not come back to the page: at %s", loc)
			}
			time.Sleep(100 * time.Millisecond)
		}
		u, err := url.Parse(loc)
		if err != nil || u.Query().Get("bucket") != b || u.Query().Get("key") != "browser/from a form.txt" ||
			u.Query().Get("etag") != `"`+conformance.MD5Hex([]byte("chosen in a file input"))+`"` {
			t.Fatalf("redirected to %s", loc)
		}
		if got, ok := stored("browser/from a form.txt"); !ok || got != "chosen in a file input" {
			t.Fatalf("stored %q (%v)", got, ok)
		}
	})
}
