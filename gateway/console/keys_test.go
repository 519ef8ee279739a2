package console_test

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/coffer-project/coffer/gateway/conformance"
)

// key reads a key through the API (nil when there is none).
func (e *env) key(id string) map[string]any {
	r := e.b2.Must("b2_list_keys", map[string]any{"accountId": e.b2.AccountID, "maxKeyCount": 10000})
	for _, k := range r["keys"].([]any) {
		if m := k.(map[string]any); m["applicationKeyId"] == id {
			return m
		}
	}
	return nil
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	slices.Sort(out)
	return out
}

// testKeys is item 9: the list, Add a New Application Key with the seed's
// fields (the applicationKey shown once), Delete.
func testKeys(t *testing.T, e *env) {
	b := e.createBucket("keyed", "allPrivate", nil)
	id, name := b["bucketId"].(string), b["bucketName"].(string)
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.click("Application Keys")
	p.find("css", fmt.Sprintf(`tr[data-key=%q]`, "0012345678901234567890abc")) // the bootstrap key

	p.click("Add a New Application Key")
	p.dialogOpen("Add a New Application Key")
	p.fill("Name of Key", "bad name!")
	p.waitText("dialog[open] .field-error", "only letters, digits")
	p.fill("Name of Key", "console-test-key")
	// The bucket, chosen from the list with the keyboard.
	p.do(chromedp.Focus(p.find("control", "Allow access to Bucket(s)")), chromedp.KeyEvent(name))
	if got := eval[string](p, `(() => { const s = document.querySelector('dialog[open] select'); return s.options[s.selectedIndex].text; })()`); got != name {
		p.fail("the bucket list shows %q selected", got)
	}
	p.checkPage("Add a New Application Key")
	p.choose("Read Only")
	p.choose("Allow List All Bucket Names")
	p.fill("File name prefix (optional)", "photos/")
	p.fill("Duration (seconds, optional)", "86400000")
	p.click("Create New Key")
	p.waitText("dialog[open] .field-error", "less than 1000 days")
	p.fill("Duration (seconds, optional)", "3600")
	p.click("Create New Key")
	p.waitText("dialog[open] .warning", "will not be shown again")
	keyID := eval[string](p, `document.querySelectorAll('dialog[open] .copy-field input')[0].value`)
	secret := eval[string](p, `document.querySelectorAll('dialog[open] .copy-field input')[2].value`)
	p.find("button", "Copy applicationKey")

	k := e.key(keyID)
	if k == nil {
		p.fail("key %s was not created", keyID)
	}
	wantCaps := []string{"listAllBucketNames", "listBuckets", "listFiles", "readBucketEncryption",
		"readBucketRetentions", "readBuckets", "readFileLegalHolds", "readFileRetentions", "readFiles", "shareFiles"}
	if got := strs(k["capabilities"]); !reflect.DeepEqual(got, wantCaps) {
		p.fail("capabilities %v, want %v", got, wantCaps)
	}
	if !reflect.DeepEqual(k["bucketIds"], []any{id}) || k["namePrefix"] != "photos/" || k["keyName"] != "console-test-key" {
		p.fail("key restrictions: %v", k)
	}
	exp := time.UnixMilli(int64(k["expirationTimestamp"].(float64)))
	if d := time.Until(exp); math.Abs(d.Seconds()-3600) > 120 {
		p.fail("the key expires in %v, want an hour", d)
	}
	// The secret shown is the key's.
	c := conformance.NewB2WithKey(t, e.c.Endpoint, keyID, secret, 4)
	if c.AccountID != e.b2.AccountID {
		p.fail("the new key authorizes another account")
	}
	p.click("Done")
	p.dialogClosed()
	keyRow := fmt.Sprintf(`tr[data-key=%q]`, keyID)
	p.waitText(keyRow, "console-test-key")
	p.waitText(keyRow, name)
	p.waitText(keyRow, "photos/")
	if p.has("css", "dialog[open]") || eval[bool](p, fmt.Sprintf(`document.body.textContent.includes(%q)`, secret)) {
		p.fail("the applicationKey is still on the page")
	}

	// Read and Write on every bucket, no expiry.
	p.click("Add a New Application Key")
	p.dialogOpen("Add a New Application Key")
	p.fill("Name of Key", "all-buckets-rw")
	p.click("Create New Key")
	p.waitText("dialog[open] .warning", "will not be shown again")
	rwID := eval[string](p, `document.querySelectorAll('dialog[open] .copy-field input')[0].value`)
	p.click("Done")
	rw := e.key(rwID)
	if rw["bucketIds"] != nil || rw["expirationTimestamp"] != nil || !slices.Contains(strs(rw["capabilities"]), "writeBuckets") ||
		!slices.Contains(strs(rw["capabilities"]), "deleteFiles") || slices.Contains(strs(rw["capabilities"]), "writeKeys") {
		p.fail("Read and Write key: %v", rw)
	}

	// Delete, after a confirmation.
	p.click("Delete key console-test-key")
	p.dialogOpen("Delete key console-test-key?")
	p.click("Delete Key")
	p.waitFor("the row to go", fmt.Sprintf(`!document.querySelector(%q)`, keyRow))
	if e.key(keyID) != nil {
		p.fail("the key was not deleted")
	}
}
