package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// readOnly is what the console's Read Only gives a key restricted to a bucket.
var readOnly = []string{"listBuckets", "readBuckets", "listFiles", "readFiles", "shareFiles", "readBucketEncryption",
	"readBucketRetentions", "readFileRetentions", "readFileLegalHolds"}

// testRestricted: a key restricted to one bucket, read-only, sees only what
// it may do, and the server's refusals read as sentences.
func testRestricted(t *testing.T, e *env) {
	mine := e.createBucket("mine", "allPrivate", nil)
	id, name := mine["bucketId"].(string), mine["bucketName"].(string)
	other := e.createBucket("theirs", "allPrivate", nil)["bucketName"].(string)
	e.b2.Upload(id, "doc.txt", []byte("readable"), nil)
	k := e.b2.Must("b2_create_key", map[string]any{"accountId": e.b2.AccountID, "keyName": "read-one-bucket",
		"capabilities": readOnly, "bucketIds": []string{id}})
	keyID, secret := k["applicationKeyId"].(string), k["applicationKey"].(string)

	p := e.open(t)
	p.signIn(keyID, secret)
	p.waitText("main h1", "Buckets")
	p.find("css", bucketCard(name))
	nav := strings.Join(eval[[]string](p, `[...document.querySelectorAll('nav#nav a')].map((a) => a.textContent)`), ", ")
	if nav != "Buckets, Browse Files" {
		p.fail("navigation %q", nav)
	}
	if p.has("css", bucketCard(other)) {
		p.fail("a bucket of another restriction is listed")
	}
	for _, b := range []string{"Create a Bucket", "Bucket Settings", "Lifecycle Settings", "CORS Rules", "Delete Bucket"} {
		if p.has("button", b) {
			p.fail("a read-only key is offered %s", b)
		}
	}
	// Pages it may not use are not there at all.
	eval[bool](p, `(location.hash = '#/keys', true)`)
	p.waitText("main h1", "Buckets")
	p.clickIn(bucketCard(name), "Upload/Download")
	p.find("css", row("doc.txt"))
	for _, b := range []string{"Upload", "New Folder", "Hide", "Delete"} {
		if p.has("button", b) {
			p.fail("a read-only key is offered %s", b)
		}
	}
	p.find("button", "Download")
	p.click("doc.txt")
	p.dialogOpen("File Details")
	p.find("button", "Share")
	p.click("Close")
	// A bucket it may not see: a sentence, not a blank page.
	eval[bool](p, fmt.Sprintf(`(location.hash = '#/browse/%s', true)`, other))
	p.waitText("main .error", "no bucket named "+other+" that this key may see")
	// The cluster status refuses its token.
	tok := eval[string](p, `JSON.parse(sessionStorage.getItem('coffer.session')).token`)
	req, _ := http.NewRequest(http.MethodGet, e.c.Console+"/api/cluster", nil)
	req.Header.Set("Authorization", tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		p.fail("cluster status for a restricted key: %v %v", resp, err)
	}

	t.Run("Refusal", func(t *testing.T) {
		// With listAllBucketNames the key sees every bucket's name, so the
		// console offers to browse them; the server refuses the listing of
		// another bucket, and the page says so in a sentence.
		k := e.b2.Must("b2_create_key", map[string]any{"accountId": e.b2.AccountID, "keyName": "read-one-see-all",
			"capabilities": append([]string{"listAllBucketNames"}, readOnly...), "bucketIds": []string{id}})
		p := e.open(t)
		p.signIn(k["applicationKeyId"].(string), k["applicationKey"].(string))
		p.clickIn(bucketCard(other), "Upload/Download")
		// The server's refusal (401 unauthorized), as a sentence.
		p.waitText("main .error", "Not allowed: ")
		if msg := p.text("main .error"); len(msg) < len("Not allowed: ")+10 {
			p.fail("the refusal reads %q", msg)
		}
		if p.rows() != 0 {
			p.fail("rows shown for a refused listing")
		}
	})
}
