package s3

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

// The policy of a browser-form upload (S3 POST Object): a base64 JSON
// document {"expiration": ..., "conditions": [...]} whose signature the
// form carries. It is pure data here — parsed, then checked against the
// form's fields; the file's size, the one condition that needs the body,
// is enforced while the file streams (postobject.go).

const opPolicy = "s3.PostPolicy"

// policyCondition is one eq or starts-with condition on a form field.
type policyCondition struct {
	startsWith bool
	field      string // lower case, without the "$"
	value      string
	text       string // as S3 quotes it in "Policy Condition failed: ..."
}

// postPolicy is a parsed policy document.
type postPolicy struct {
	expiration time.Time
	conditions []policyCondition
	// sizeSet says the policy had a content-length-range.
	sizeSet          bool
	minSize, maxSize int64
}

// invalidPolicy is S3's 400 InvalidPolicyDocument.
func invalidPolicy(format string, args ...any) error {
	return errs.Errorf(errs.InvalidArgument, opPolicy, "Invalid Policy: "+format, args...).WithDetail("s3_code", "InvalidPolicyDocument")
}

// policyDenied is S3's 403 AccessDenied "Invalid according to Policy: ...".
func policyDenied(format string, args ...any) error {
	return errs.Errorf(errs.PermissionDenied, opPolicy, "Invalid according to Policy: "+format, args...)
}

// parsePostPolicy decodes and parses a policy document. Its shape must be
// exact (names are case-sensitive, nothing else may appear); condition
// operators and field names are case-insensitive, as on S3.
func parsePostPolicy(b64 string) (*postPolicy, error) {
	b64 = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b64)
	if b64 == "" {
		return nil, invalidPolicy("Expecting '{' but found End-of-Input")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
			return nil, invalidPolicy("invalid Base64 encoding.")
		}
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, invalidPolicy("Invalid JSON.")
	}
	for name := range doc {
		if name != "expiration" && name != "conditions" {
			return nil, invalidPolicy("Unexpected: %q", name)
		}
	}
	expRaw, ok := doc["expiration"]
	if !ok {
		return nil, invalidPolicy("Policy missing expiration.")
	}
	condRaw, ok := doc["conditions"]
	if !ok {
		return nil, invalidPolicy("Policy missing conditions.")
	}
	p := &postPolicy{}
	var exp string
	if err := json.Unmarshal(expRaw, &exp); err != nil {
		return nil, invalidPolicy("Invalid 'expiration' value: '%s'", expRaw)
	}
	if p.expiration, err = time.Parse(time.RFC3339Nano, exp); err != nil {
		return nil, invalidPolicy("Invalid 'expiration' value: '%s'", exp)
	}
	var conds []json.RawMessage
	if err := json.Unmarshal(condRaw, &conds); err != nil || conds == nil {
		return nil, invalidPolicy("Invalid 'conditions' value: must be a List.")
	}
	for _, c := range conds {
		if err := p.addCondition(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addCondition parses one condition: {"field": "value"}, ["eq", "$field",
// "value"], ["starts-with", "$field", "prefix"] or ["content-length-range",
// min, max].
func (p *postPolicy) addCondition(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return invalidPolicy("Invalid JSON.")
		}
		if len(obj) != 1 {
			return invalidPolicy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
		}
		for name, v := range obj {
			value, ok := scalar(v)
			if !ok {
				return invalidPolicy("Invalid Simple-Condition: value must be a string.")
			}
			field := strings.ToLower(name)
			p.conditions = append(p.conditions, policyCondition{field: field, value: value,
				text: `["eq", "$` + name + `", ` + strconv.Quote(value) + `]`})
		}
		return nil
	case len(raw) > 0 && raw[0] == '[':
	default:
		return invalidPolicy("Invalid condition test: must be a List or Object.")
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil {
		return invalidPolicy("Invalid JSON.")
	}
	if len(arr) == 0 {
		return invalidPolicy("Invalid Condition: missing operation identifier.")
	}
	var op string
	if err := json.Unmarshal(arr[0], &op); err != nil {
		return invalidPolicy("Invalid Condition: missing operation identifier.")
	}
	switch lower := strings.ToLower(op); lower {
	case "eq", "starts-with":
		if len(arr) != 3 {
			return invalidPolicy("Invalid %s: wrong number of arguments.", op)
		}
		var ref string
		if err := json.Unmarshal(arr[1], &ref); err != nil || len(ref) < 2 || ref[0] != '$' {
			return policyDenied("Policy Condition failed: %s", raw)
		}
		value, ok := scalar(arr[2])
		if !ok {
			return invalidPolicy("Invalid JSON.")
		}
		p.conditions = append(p.conditions, policyCondition{startsWith: lower == "starts-with",
			field: strings.ToLower(ref[1:]), value: value, text: string(raw)})
		return nil
	case "content-length-range":
		if len(arr) != 3 {
			return invalidPolicy("Invalid %s: wrong number of arguments.", op)
		}
		lo, ok1 := integer(arr[1])
		hi, ok2 := integer(arr[2])
		if !ok1 || !ok2 || lo < 0 || hi < 0 {
			return invalidPolicy("Invalid content-length-range: the bounds must be non-negative integers.")
		}
		p.sizeSet, p.minSize, p.maxSize = true, lo, hi
		return nil
	}
	return invalidPolicy("Invalid Condition: unknown operation '%s'.", op)
}

// scalar reads a JSON string (or number, which S3 compares as its text).
func scalar(raw json.RawMessage) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// integer reads a JSON integer, or a string holding one (S3 takes both).
func integer(raw json.RawMessage) (int64, bool) {
	s, ok := scalar(raw)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// policyExempt reports whether a form field needs no condition: the
// signature, the file, the policy itself and x-ignore-* fields.
func policyExempt(field string) bool {
	return field == "x-amz-signature" || field == "file" || field == "policy" || strings.HasPrefix(field, "x-ignore-")
}

// check applies the policy at now to a form's fields (lower-case names,
// ${filename} already expanded) posted to bucket: not expired, every field
// covered by a condition, a condition on the bucket, every condition met.
// The file's size is checked as it streams (see sizeLimits).
func (p *postPolicy) check(now time.Time, bucket string, fields map[string]string) error {
	if !now.Before(p.expiration) {
		return policyDenied("Policy expired.")
	}
	covered := map[string]bool{}
	for _, c := range p.conditions {
		covered[c.field] = true
	}
	for _, name := range sortedKeys(fields) {
		if !policyExempt(name) && !covered[name] {
			return policyDenied("Extra input fields: %s", name)
		}
	}
	if !covered["bucket"] {
		return policyDenied("Extra input fields: bucket")
	}
	for _, c := range p.conditions {
		got, ok := fields[c.field]
		if c.field == "bucket" {
			got, ok = bucket, true
		}
		if !ok || !c.holds(got) {
			return policyDenied("Policy Condition failed: %s", c.text)
		}
	}
	return nil
}

// holds reports whether a field's value meets the condition. A starts-with
// on Content-Type holds for a comma-separated list when every entry does.
func (c policyCondition) holds(v string) bool {
	if !c.startsWith {
		return v == c.value
	}
	if c.field == "content-type" && strings.Contains(v, ",") {
		for _, part := range strings.Split(v, ",") {
			if !strings.HasPrefix(strings.TrimSpace(part), c.value) {
				return false
			}
		}
		return true
	}
	return strings.HasPrefix(v, c.value)
}
