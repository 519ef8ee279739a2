package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// bucketCard is the CSS scope of a bucket's card on the Buckets page.
func bucketCard(name string) string { return fmt.Sprintf(`section[data-bucket=%q]`, name) }

// bucket reads a bucket through the B2 API (nil when there is none).
func (e *env) bucket(name string) map[string]any {
	r := e.b2.Must("b2_list_buckets", map[string]any{"accountId": e.b2.AccountID, "bucketName": name})
	bs := r["buckets"].([]any)
	if len(bs) == 0 {
		return nil
	}
	return bs[0].(map[string]any)
}

// createBucket creates a bucket through the API; the server goes with the
// test, so nothing needs removing.
func (e *env) createBucket(prefix, typ string, extra map[string]any) map[string]any {
	req := map[string]any{"accountId": e.b2.AccountID, "bucketName": uniqueName(prefix), "bucketType": typ}
	for k, v := range extra {
		req[k] = v
	}
	return e.b2.Must("b2_create_bucket", req)
}

// uniqueName is a bucket name no other test uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

// testBuckets is item 2: the list, Create a Bucket (names checked as typed,
// "already in use" from the server, the Endpoint to copy), the privacy
// setting, Delete Bucket (empty, and not).
func testBuckets(t *testing.T, e *env) {
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.waitText("main h1", "Buckets")

	p.click("Create a Bucket")
	p.dialogOpen("Create a Bucket")
	for _, c := range []struct{ typed, says string }{
		{"abc", "at least 6"},
		{"My-Bucket1", "lower case"},
		{"bucket_one", "only letters, digits"},
		{"b2-bucket", "must not start with b2-"},
		{"bucket-", "start and end"},
	} {
		p.fill("Bucket Unique Name", c.typed)
		p.waitText("dialog[open] .field-error", c.says)
	}
	name := uniqueName("quickstart")
	p.fill("Bucket Unique Name", name)
	p.waitFor("the name to be accepted", `!document.querySelector('dialog[open] .field-error').textContent`)
	p.choose("Files in Bucket are / Public")
	p.choose("Default Encryption / Enable")
	p.choose("Object Lock / Enable")
	p.click("Create a Bucket")
	// After creation: the Endpoint, with a copy button.
	p.waitText("dialog[open] .notice", "created")
	if got := eval[string](p, `document.querySelector('dialog[open] .copy-field input').value`); got != e.c.Endpoint {
		p.fail("Endpoint shows %q, want %q", got, e.c.Endpoint)
	}
	p.click("Copy Endpoint")
	p.waitText("dialog[open] .copied", "Copied")
	b := e.bucket(name)
	if b == nil {
		p.fail("the bucket %s was not created", name)
	}
	enc := b["defaultServerSideEncryption"].(map[string]any)["value"].(map[string]any)
	lock := b["fileLockConfiguration"].(map[string]any)["value"].(map[string]any)
	if b["bucketType"] != "allPublic" || enc["mode"] != "SSE-B2" || lock["isFileLockEnabled"] != true {
		p.fail("bucket settings: %v", b)
	}
	p.click("Done")
	p.dialogClosed()
	card := bucketCard(name)
	p.waitText(card, "Public")
	for _, want := range []string{"Enabled (SSE-B2", "Object Lock", "Enabled", e.c.Endpoint, e.c.Endpoint + "/file/" + name + "/", "Keep all versions"} {
		p.waitText(card, want)
	}
	if created := p.text(card + " dl > div:nth-child(3) dd"); !strings.Contains(created, fmt.Sprint(time.Now().Year())) {
		p.fail("Created shows %q", created)
	}

	// The same name again: the server says it is in use, next to the field.
	p.click("Create a Bucket")
	p.dialogOpen("Create a Bucket")
	p.fill("Bucket Unique Name", name)
	p.click("Create a Bucket")
	p.waitText("dialog[open] .field-error", "already in use")
	p.click("Cancel")
	p.dialogClosed()

	// Privacy, changed later.
	p.clickIn(card, "Bucket Settings")
	p.dialogOpen("Bucket Settings: " + name)
	p.choose("Private")
	p.click("Update Bucket")
	p.dialogClosed()
	p.waitText(card, "Private")
	if got := e.bucket(name)["bucketType"]; got != "allPrivate" {
		p.fail("after Private the bucket is %v", got)
	}

	// A bucket with a file is not deleted, and the user is told why.
	full := e.createBucket("full", "allPrivate", nil)
	fullName := full["bucketName"].(string)
	e.b2.Upload(full["bucketId"].(string), "keep.txt", []byte("keep"), nil)
	emptyName := e.createBucket("empty", "allPrivate", nil)["bucketName"].(string)
	p.click("Buckets") // reload the list
	p.clickIn(bucketCard(fullName), "Delete Bucket")
	p.dialogOpen("Delete Bucket " + fullName + "?")
	p.click("Delete Bucket")
	p.dialogOpen("The bucket was not deleted")
	p.waitText("dialog[open] p", "is not empty")
	p.click("OK")
	if e.bucket(fullName) == nil {
		p.fail("the non-empty bucket is gone")
	}
	// An empty one goes after the confirmation.
	p.clickIn(bucketCard(emptyName), "Delete Bucket")
	p.dialogOpen("Delete Bucket " + emptyName + "?")
	p.click("Delete Bucket")
	p.waitFor("the card to go", fmt.Sprintf(`!document.querySelector(%q)`, bucketCard(emptyName)))
	if e.bucket(emptyName) != nil {
		p.fail("the empty bucket was not deleted")
	}
}
