package console_test

import (
	"encoding/json"
	"reflect"
	"testing"
)

// rulesOf reads a bucket setting back through the API as plain JSON values.
func (e *env) rulesOf(name, field string) any {
	b := e.bucket(name)
	return b[field]
}

// jsonOf turns a Go literal into what the API's JSON decodes to.
func jsonOf(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// testLifecycle is item 3: B2's four choices, written as lifecycleRules.
func testLifecycle(t *testing.T, e *env) {
	name := e.createBucket("lifecycle", "allPrivate", nil)["bucketName"].(string)
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	card := bucketCard(name)
	p.waitText(card, "Keep all versions of the file")
	set := func(choice string, fill func()) {
		t.Helper()
		p.clickIn(card, "Lifecycle Settings")
		p.dialogOpen("Lifecycle Settings: " + name)
		p.choose(choice)
		if fill != nil {
			fill()
		}
		p.click("Update Bucket")
		p.dialogClosed()
	}
	want := func(rules any) {
		t.Helper()
		if got := e.rulesOf(name, "lifecycleRules"); !reflect.DeepEqual(got, jsonOf(rules)) {
			p.fail("lifecycleRules = %v, want %v", got, jsonOf(rules))
		}
	}
	type rule = map[string]any
	set("Keep only the last version of the file", nil)
	want([]rule{{"fileNamePrefix": "", "daysFromUploadingToHiding": nil, "daysFromHidingToDeleting": 1, "daysFromStartingToCancelingUnfinishedLargeFiles": nil}})
	p.waitText(card, "Keep only the last version")

	set("Keep prior versions for this number of days", func() { p.fill("Number of days to keep prior versions", "30") })
	want([]rule{{"fileNamePrefix": "", "daysFromUploadingToHiding": nil, "daysFromHidingToDeleting": 30, "daysFromStartingToCancelingUnfinishedLargeFiles": nil}})
	p.waitText(card, "Keep prior versions for 30 days")

	// Custom rules: a prefix hidden after 7 days and deleted 1 day later,
	// and a second rule. A bad value is refused in the page first.
	p.clickIn(card, "Lifecycle Settings")
	p.dialogOpen("Lifecycle Settings: " + name)
	p.choose("Use custom lifecycle rules")
	p.fill("File name prefix", "logs/")
	p.fill("Days from uploading to hiding", "7")
	p.fill("Days from hiding to deleting", "0")
	p.click("Update Bucket")
	p.waitText("dialog[open] .error", "whole number of days")
	p.fill("Days from hiding to deleting", "1")
	p.click("Add a rule")
	p.checkPage("Lifecycle Settings, custom rules")
	p.fillIn(".rule-row:nth-of-type(2)", "File name prefix", "tmp/")
	p.fillIn(".rule-row:nth-of-type(2)", "Days from hiding to deleting", "2")
	p.click("Update Bucket")
	p.dialogClosed()
	want([]rule{
		{"fileNamePrefix": "logs/", "daysFromUploadingToHiding": 7, "daysFromHidingToDeleting": 1, "daysFromStartingToCancelingUnfinishedLargeFiles": nil},
		{"fileNamePrefix": "tmp/", "daysFromUploadingToHiding": nil, "daysFromHidingToDeleting": 2, "daysFromStartingToCancelingUnfinishedLargeFiles": nil},
	})
	p.waitText(card, "Custom lifecycle rules (2 rules)")
	// The dialog reads custom rules back.
	p.clickIn(card, "Lifecycle Settings")
	p.dialogOpen("Lifecycle Settings: " + name)
	if n := eval[float64](p, `document.querySelectorAll('dialog[open] .rule-row').length`); n != 2 {
		p.fail("the dialog shows %v rules", n)
	}
	p.choose("Keep all versions of the file (default)")
	p.click("Update Bucket")
	p.dialogClosed()
	want([]rule{})
}

// testCORS is item 4: share with every origin, with some, or none; for the
// native API, S3 or both; and the advanced editor, whose server-side
// validation error shows next to it.
func testCORS(t *testing.T, e *env) {
	name := e.createBucket("cors", "allPublic", nil)["bucketName"].(string)
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	card := bucketCard(name)
	p.waitText(card, "Not shared with other origins")
	open := func() {
		t.Helper()
		p.clickIn(card, "CORS Rules")
		p.dialogOpen("CORS Rules: " + name)
	}
	want := func(rules any) {
		t.Helper()
		if got := e.rulesOf(name, "corsRules"); !reflect.DeepEqual(got, jsonOf(rules)) {
			p.fail("corsRules = %v, want %v", got, jsonOf(rules))
		}
	}
	type rule = map[string]any
	open()
	p.choose("Share everything in this bucket with every origin")
	p.choose("Both")
	p.click("Update CORS Rules")
	p.dialogClosed()
	want([]rule{{"corsRuleName": "downloadFromAnyOrigin", "allowedOrigins": []string{"*"},
		"allowedOperations": []string{"b2_download_file_by_id", "b2_download_file_by_name", "s3_get", "s3_head"},
		"allowedHeaders":    []string{"*"}, "exposeHeaders": []string{}, "maxAgeSeconds": 3600}})
	p.waitText(card, "Shared with every origin (B2 Native and S3 Compatible APIs)")

	open()
	p.choose("Share everything in this bucket with specific origins")
	p.fill("Origins", "www.example.com")
	p.choose("S3 Compatible API")
	p.click("Update CORS Rules")
	p.waitText("dialog[open] .field-error", "is not an origin")
	p.fill("Origins", "https://www.example.com\nhttps://app.example.com")
	p.click("Update CORS Rules")
	p.dialogClosed()
	want([]rule{{"corsRuleName": "downloadFromOrigins", "allowedOrigins": []string{"https://www.example.com", "https://app.example.com"},
		"allowedOperations": []string{"s3_get", "s3_head"}, "allowedHeaders": []string{"*"}, "exposeHeaders": []string{}, "maxAgeSeconds": 3600}})

	// The advanced editor: the server's refusal next to the field, then a
	// valid list.
	open()
	p.choose("Custom CORS rules (advanced)")
	bad := `[{"corsRuleName":"custom-rule","allowedOrigins":["https://a.example"],"allowedOperations":["b2_list_buckets"]}]`
	p.checkPage("CORS Rules, advanced")
	p.fill("CORS rules (JSON list of rules)", "[")
	p.click("Update CORS Rules")
	p.waitText("dialog[open] .field-error", "not valid JSON")
	p.fill("CORS rules (JSON list of rules)", bad)
	p.click("Update CORS Rules")
	// The server's own words (corsd's validation), next to the editor.
	p.waitText("dialog[open] .field-error", "b2_list_buckets")
	if eval[string](p, `document.querySelector('dialog[open] textarea.code').getAttribute('aria-invalid')`) != "true" {
		p.fail("the editor is not marked invalid")
	}
	good := `[{"corsRuleName":"custom-rule","allowedOrigins":["https://a.example"],"allowedOperations":["b2_upload_file","b2_upload_part"],"allowedHeaders":["authorization","content-type","x-bz-file-name","x-bz-content-sha1"],"exposeHeaders":["x-bz-content-sha1"],"maxAgeSeconds":60}]`
	p.fill("CORS rules (JSON list of rules)", good)
	p.click("Update CORS Rules")
	p.dialogClosed()
	var g any
	_ = json.Unmarshal([]byte(good), &g)
	want(g)
	p.waitText(card, "Custom CORS rules (1 rule)")

	open()
	p.choose("Do not share everything in this bucket")
	p.click("Update CORS Rules")
	p.dialogClosed()
	want([]rule{})
}

// testObjectLock is item 5: the default retention of a bucket with Object
// Lock.
func testObjectLock(t *testing.T, e *env) {
	name := e.createBucket("locked", "allPrivate", map[string]any{"fileLockEnabled": true})["bucketName"].(string)
	plain := e.createBucket("unlocked", "allPrivate", nil)["bucketName"].(string)
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	card := bucketCard(name)
	p.waitText(card, "Enabled")
	if p.hasIn(bucketCard(plain), "button", "Object Lock") {
		p.fail("a bucket without Object Lock offers its settings")
	}
	p.clickIn(card, "Object Lock")
	p.dialogOpen("Object Lock: " + name)
	p.choose("Governance")
	p.checkPage("Object Lock")
	p.fill("Retention period", "7")
	p.click("Update Bucket")
	p.dialogClosed()
	lock := e.bucket(name)["fileLockConfiguration"].(map[string]any)["value"].(map[string]any)
	if !reflect.DeepEqual(lock["defaultRetention"], jsonOf(map[string]any{"mode": "governance", "period": map[string]any{"duration": 7, "unit": "days"}})) {
		p.fail("default retention: %v", lock)
	}
	p.waitText(card, "default retention governance, 7 days")
	p.clickIn(card, "Object Lock")
	p.dialogOpen("Object Lock: " + name)
	p.choose("Compliance")
	p.fill("Retention period", "1")
	p.do(chromedpSelect(p, "dialog[open] select", "years"))
	p.click("Update Bucket")
	p.dialogClosed()
	lock = e.bucket(name)["fileLockConfiguration"].(map[string]any)["value"].(map[string]any)
	if !reflect.DeepEqual(lock["defaultRetention"], jsonOf(map[string]any{"mode": "compliance", "period": map[string]any{"duration": 1, "unit": "years"}})) {
		p.fail("default retention: %v", lock)
	}
}
