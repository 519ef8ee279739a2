package console_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// detail is the value the File Details dialog shows for a term.
func (p *tab) detail(term string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(() => {
  const dt = [...document.querySelectorAll('dialog[open] dl.details dt')].find((d) => d.textContent.trim() === %q);
  return dt ? dt.nextElementSibling.textContent.replace(/\s+/g, ' ').trim() : '';
})()`, term))
}

// isLink reports whether the term's value is a link to its own text.
func (p *tab) isLink(term string) bool {
	p.t.Helper()
	return eval[bool](p, fmt.Sprintf(`(() => {
  const dt = [...document.querySelectorAll('dialog[open] dl.details dt')].find((d) => d.textContent.trim() === %q);
  const a = dt && dt.nextElementSibling.querySelector('a');
  return !!a && a.href === a.textContent;
})()`, term))
}

func httpGet(t testing.TB, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// testFileDetails is item 8: the seed's fields; the three URLs as links
// that work for a public bucket; Share for a private one; retention and
// legal hold where set.
func testFileDetails(t *testing.T, e *env) {
	body := []byte("\x89PNG not really, but the bytes of the picture")
	pub := e.createBucket("details-pub", "allPublic", nil)
	pubID, pubName := pub["bucketId"].(string), pub["bucketName"].(string)
	f := e.uploadAs(pubID, "img/pic.png", "image/png", body, map[string]string{"src_last_modified_millis": "1671113040000", "color": "blue"})
	fileID := f["fileId"].(string)

	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.clickIn(bucketCard(pubName), "Upload/Download")
	p.click("img/")
	p.click("pic.png")
	p.dialogOpen("File Details")
	p.waitFor("the fresh file info", `!!document.querySelector('dialog[open] dl.details dd')`)
	friendly := e.c.Endpoint + "/file/" + pubName + "/img/pic.png"
	s3url := e.c.Endpoint + "/" + pubName + "/img/pic.png"
	native := e.c.Endpoint + "/b2api/v1/b2_download_file_by_id?fileId=" + fileID
	for term, want := range map[string]string{
		"Name": "img/pic.png", "Bucket Name": pubName, "Bucket Type": "Public",
		"Friendly URL": friendly, "S3 URL": s3url, "Native URL": native,
		"Kind": "image/png", "Size": fmt.Sprintf("%d bytes", len(body)), "Fguid": fileID, "Sha1": sha1Hex(body),
		"Encryption": "None", "Uploaded": fmt.Sprint(time.Now().Year()),
	} {
		if got := p.detail(term); !strings.Contains(got, want) {
			p.fail("%s shows %q, want %q", term, got, want)
		}
	}
	p.checkPage("File Details")
	if info := p.detail("File Info"); !strings.Contains(info, "src_last_modified_millis: 1671113040000 (") || !strings.Contains(info, "color: blue") {
		p.fail("File Info shows %q", info)
	}
	for _, term := range []string{"Friendly URL", "S3 URL", "Native URL"} {
		if !p.isLink(term) {
			p.fail("%s is not a link in a public bucket", term)
		}
	}
	// Each URL gives the file to anyone.
	for _, u := range []string{friendly, s3url, native} {
		if code, got := httpGet(t, u); code != 200 || !bytes.Equal(got, body) {
			p.fail("GET %s: %d %q", u, code, got)
		}
	}
	if p.has("button", "Share") {
		p.fail("Share offered for a public bucket")
	}
	p.click("Close")
	p.dialogClosed()

	// A private bucket: no links, and Share makes one that works.
	priv := e.createBucket("details-priv", "allPrivate", nil)
	privID, privName := priv["bucketId"].(string), priv["bucketName"].(string)
	e.b2.Upload(privID, "secret report.txt", []byte("for your eyes"), nil)
	p.click("Buckets")
	p.clickIn(bucketCard(privName), "Upload/Download")
	p.click("secret report.txt")
	p.dialogOpen("File Details")
	if p.isLink("Friendly URL") {
		p.fail("a private bucket's URL is a link")
	}
	if code, _ := httpGet(t, e.c.Endpoint+"/file/"+privName+"/secret%20report.txt"); code != 401 {
		p.fail("the private file downloads without authorization: %d", code)
	}
	p.click("Share")
	p.click("Create Link")
	p.waitFor("the link", `!!document.querySelector('dialog[open] .share-out input')`)
	link := eval[string](p, `document.querySelector('dialog[open] .share-out input').value`)
	if !strings.HasPrefix(link, e.c.Endpoint+"/file/"+privName+"/secret%20report.txt?Authorization=") {
		p.fail("share link %q", link)
	}
	if code, got := httpGet(t, link); code != 200 || string(got) != "for your eyes" {
		p.fail("GET the share link: %d %q", code, got)
	}
	// A download authorization covers a name prefix (B2's semantics): the
	// console asks for the file's exact name, the narrowest prefix there is.
	p.click("Close")
	p.dialogClosed()

	// Retention and legal hold, where set.
	lockB := e.createBucket("details-lock", "allPrivate", map[string]any{"fileLockEnabled": true})
	lockID, lockName := lockB["bucketId"].(string), lockB["bucketName"].(string)
	lf := e.b2.Upload(lockID, "held.txt", []byte("held"), nil)
	until := time.Now().Add(48 * time.Hour).UnixMilli()
	e.b2.Must("b2_update_file_retention", map[string]any{"fileId": lf["fileId"], "fileName": "held.txt",
		"fileRetention": map[string]any{"mode": "governance", "retainUntilTimestamp": until}})
	e.b2.Must("b2_update_file_legal_hold", map[string]any{"fileId": lf["fileId"], "fileName": "held.txt", "legalHold": "on"})
	p.click("Buckets")
	p.clickIn(bucketCard(lockName), "Upload/Download")
	p.click("held.txt")
	p.dialogOpen("File Details")
	p.waitFor("the retention", `[...document.querySelectorAll('dialog[open] dt')].some((d) => d.textContent === 'Retention')`)
	if r := p.detail("Retention"); !strings.Contains(r, "governance until") {
		p.fail("Retention shows %q", r)
	}
	if h := p.detail("Legal Hold"); h != "on" {
		p.fail("Legal Hold shows %q", h)
	}
}
