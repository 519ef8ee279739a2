package s3

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestPostPolicy: the policy document's grammar and its checks, with the
// S3 code and message of each refusal.
func TestPostPolicy(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	code := func(err error) string {
		if err == nil {
			return ""
		}
		ae, _ := toAPIError(err)
		return ae.Code + ": " + ae.Message
	}
	parse := []struct{ doc, want string }{
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[]}`, ""},
		{`{"expiration":"2026-01-02T04:00:00.000Z","conditions":[{"bucket":"b"},["StArTs-WiTh","$KeY",""],["content-length-range","1",10]]}`, ""},
		{``, "InvalidPolicyDocument: Invalid Policy: Expecting '{' but found End-of-Input"},
		{`[1]`, "InvalidPolicyDocument: Invalid Policy: Invalid JSON."},
		{`{"conditions":[]}`, "InvalidPolicyDocument: Invalid Policy: Policy missing expiration."},
		{`{"expiration":"2026-01-02T04:00:00Z"}`, "InvalidPolicyDocument: Invalid Policy: Policy missing conditions."},
		{`{"expiration":"tomorrow","conditions":[]}`, "InvalidPolicyDocument: Invalid Policy: Invalid 'expiration' value: 'tomorrow'"},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":{}}`, "InvalidPolicyDocument: Invalid Policy: Invalid 'conditions' value: must be a List."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[],"extra":1}`, `InvalidPolicyDocument: Invalid Policy: Unexpected: "extra"`},
		{`{"Expiration":"2026-01-02T04:00:00Z","conditions":[]}`, `InvalidPolicyDocument: Invalid Policy: Unexpected: "Expiration"`},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[{"a":"1","b":"2"}]}`, "InvalidPolicyDocument: Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[{"a":true}]}`, "InvalidPolicyDocument: Invalid Policy: Invalid Simple-Condition: value must be a string."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":["x"]}`, "InvalidPolicyDocument: Invalid Policy: Invalid condition test: must be a List or Object."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[[]]}`, "InvalidPolicyDocument: Invalid Policy: Invalid Condition: missing operation identifier."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[["eq","$a"]]}`, "InvalidPolicyDocument: Invalid Policy: Invalid eq: wrong number of arguments."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[["matches","$a","x"]]}`, "InvalidPolicyDocument: Invalid Policy: Invalid Condition: unknown operation 'matches'."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[["content-length-range",0]]}`, "InvalidPolicyDocument: Invalid Policy: Invalid content-length-range: wrong number of arguments."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[["content-length-range",-1,0]]}`, "InvalidPolicyDocument: Invalid Policy: Invalid content-length-range: the bounds must be non-negative integers."},
		{`{"expiration":"2026-01-02T04:00:00Z","conditions":[["eq","key","x"]]}`, `AccessDenied: Invalid according to Policy: Policy Condition failed: ["eq","key","x"]`},
	}
	for _, tc := range parse {
		_, err := parsePostPolicy(b64(tc.doc))
		if got := code(err); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.doc, got, tc.want)
		}
	}
	if _, err := parsePostPolicy("%%%"); code(err) != "InvalidPolicyDocument: Invalid Policy: invalid Base64 encoding." {
		t.Errorf("not base64: %v", err)
	}

	p, err := parsePostPolicy(b64(`{"expiration":"2026-01-02T04:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],
		{"Content-Type":"image/png"},["starts-with","$x-amz-meta-tag",""],["content-length-range",1,100]]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.sizeSet || p.minSize != 1 || p.maxSize != 100 {
		t.Fatalf("size range %+v", p)
	}
	ok := map[string]string{"key": "u/a", "content-type": "image/png", "x-amz-meta-tag": "", "policy": "p", "x-amz-signature": "s", "x-ignore-me": "1", "file": ""}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ok {
			m[a] = b
		}
		if v == "\x00" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	checks := []struct {
		name   string
		at     time.Time
		bucket string
		fields map[string]string
		want   string
	}{
		{"all met", now, "b", ok, ""},
		{"expired", now.Add(time.Hour), "b", ok, "AccessDenied: Invalid according to Policy: Policy expired."},
		{"another bucket", now, "c", ok, `AccessDenied: Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "b"]`},
		{"key outside", now, "b", with("key", "v/a"), `AccessDenied: Invalid according to Policy: Policy Condition failed: ["starts-with","$key","u/"]`},
		{"content type", now, "b", with("content-type", "image/gif"), `AccessDenied: Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]`},
		{"missing field", now, "b", with("x-amz-meta-tag", "\x00"), `AccessDenied: Invalid according to Policy: Policy Condition failed: ["starts-with","$x-amz-meta-tag",""]`},
		{"extra field", now, "b", with("acl", "private"), "AccessDenied: Invalid according to Policy: Extra input fields: acl"},
	}
	for _, tc := range checks {
		if got := code(p.check(tc.at, tc.bucket, tc.fields)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	noBucket, _ := parsePostPolicy(b64(`{"expiration":"2026-01-02T04:00:00Z","conditions":[{"key":"k"}]}`))
	if got := code(noBucket.check(now, "b", map[string]string{"key": "k"})); got != "AccessDenied: Invalid according to Policy: Extra input fields: bucket" {
		t.Errorf("no bucket condition: %q", got)
	}
	list, _ := parsePostPolicy(b64(`{"expiration":"2026-01-02T04:00:00Z","conditions":[{"bucket":"b"},["starts-with","$content-type","image/"]]}`))
	if err := list.check(now, "b", map[string]string{"content-type": "image/png, image/jpeg"}); err != nil {
		t.Errorf("a Content-Type list of images: %v", err)
	}
	if err := list.check(now, "b", map[string]string{"content-type": "image/png,text/html"}); err == nil {
		t.Error("a Content-Type list with a non-image passed")
	}
}

// FuzzPostPolicy: any policy document parses or is refused with a 400 or
// 403, and a parsed one checks any fields without a panic.
func FuzzPostPolicy(f *testing.F) {
	f.Add(`{"expiration":"2100-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key",""],["content-length-range",0,9]]}`, "key", "v")
	f.Add(`{"expiration":"x","conditions":[[]]}`, "", "")
	f.Fuzz(func(t *testing.T, doc, field, value string) {
		p, err := parsePostPolicy(b64(doc))
		if err != nil {
			if ae, _ := toAPIError(err); ae.Status != 400 && ae.Status != 403 {
				t.Fatalf("status %d: %v", ae.Status, err)
			}
			return
		}
		if err := p.check(time.Now(), "b", map[string]string{strings.ToLower(field): value}); err != nil {
			if ae, _ := toAPIError(err); ae.Status != 403 {
				t.Fatalf("check status %d: %v", ae.Status, err)
			}
		}
	})
}
