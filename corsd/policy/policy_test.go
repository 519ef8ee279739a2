package policy

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func rule(name string, origins, ops, headers []string) *corsv1.CorsRule {
	return &corsv1.CorsRule{Name: name, AllowedOrigins: origins, AllowedOperations: ops, AllowedHeaders: headers}
}

func allowed(d Decision) bool { return d.Decision == corsv1.Decision_DECISION_ALLOW }

func header(d Decision, name string) string {
	for _, h := range d.Headers {
		if strings.EqualFold(h.GetName(), name) {
			return h.GetValue()
		}
	}
	return ""
}

// Spec cases 1–8, 10–12: origin matching (native rules, actual GET).
func TestOriginMatching(t *testing.T) {
	cases := []struct {
		num    int
		rule   string
		ops    []string
		origin string
		want   bool
	}{
		{1, "https://www.example.com", nil, "https://www.example.com:443", true},
		{2, "https://www.example.com:443", nil, "https://www.example.com", true},
		{3, "http://www.example.com", nil, "http://www.example.com:8080", false},
		{4, "https://*.example.com", nil, "https://a.example.com", true},
		{4, "https://*.example.com", nil, "https://a.b.example.com", true},
		{4, "https://*.example.com", nil, "https://example.com", false},
		{4, "https://*.example.com", nil, "http://a.example.com", false},
		{4, "https://*.example.com", nil, "https://a.example.com:8443", false},
		{5, "https://*", nil, "https://anything.test", true},
		{5, "https://*", nil, "https://anything.test:8443", false},
		{6, "https://*:8443", nil, "https://x.test:8443", true},
		{6, "https://*:8443", nil, "https://x.test", false},
		{7, "https", nil, "https://x.test:9999", true},
		{7, "https", nil, "http://x.test", false},
		{8, "*", nil, "null", true},
		{10, "https://Example.com", nil, "https://example.com", true}, // native: case-insensitive host
		{11, "http://localhost:*", []string{"s3_get"}, "http://localhost:5173", true},
		{11, "http://localhost:*", []string{"s3_get"}, "http://localhost", false},
		{12, "https://ab*b", []string{"s3_get"}, "https://ab", false},
		{12, "https://ab*b", []string{"s3_get"}, "https://abcb", true},
	}
	for _, c := range cases {
		ops := c.ops
		if ops == nil {
			ops = []string{"b2_download_file_by_name", "s3_get"}
		}
		rules := []*corsv1.CorsRule{rule("rule-one", []string{c.rule}, ops, nil)}
		if err := Validate(rules); err != nil {
			t.Fatalf("case %d: rule %q refused: %v", c.num, c.rule, err)
		}
		d := Evaluate(rules, Request{Operation: "s3_get", Origin: c.origin, Method: "GET"})
		if allowed(d) != c.want {
			t.Errorf("case %d: rule %q origin %q: allowed=%v, want %v", c.num, c.rule, c.origin, allowed(d), c.want)
		}
	}
}

// Spec cases 9, 13, 35, 41: validation.
func TestValidate(t *testing.T) {
	dl := []string{"b2_download_file_by_name"}
	long := func(n int) string { return "https://" + strings.Repeat("a", n) + ".com" }
	cases := []struct {
		num   int
		rules []*corsv1.CorsRule
		ok    bool
	}{
		{9, []*corsv1.CorsRule{rule("ruleone", []string{"*", "https://a.com"}, dl, nil)}, false},
		{9, []*corsv1.CorsRule{rule("ruleone", []string{"https", "https://a.com"}, dl, nil)}, false},
		{9, []*corsv1.CorsRule{rule("ruleone", []string{"https://a.com", "https"}, dl, nil)}, true},
		{9, []*corsv1.CorsRule{rule("ruleone", []string{"https", "http://a.com", "https"}, dl, nil)}, false},
		{9, []*corsv1.CorsRule{rule("ruleone", []string{"https://*.*.com"}, dl, nil)}, false},
		{9, []*corsv1.CorsRule{rule("ruleone", []string{""}, dl, nil)}, false},
		{9, []*corsv1.CorsRule{rule("ruleone", []string{"https://a.com/path"}, dl, nil)}, false},
		{9, []*corsv1.CorsRule{rule("ruleone", []string{"https://a.com/path"}, []string{"s3_get"}, nil)}, false},
		{11, []*corsv1.CorsRule{rule("ruleone", []string{"http://localhost:*"}, []string{"s3_get"}, nil)}, true},
		{11, []*corsv1.CorsRule{rule("ruleone", []string{"http://localhost:*"}, dl, nil)}, false},
		{13, []*corsv1.CorsRule{rule("ruleone", []string{"*"}, []string{"B2_Download_File_By_Name"}, nil)}, false},
		{0, []*corsv1.CorsRule{rule("short", []string{"*"}, dl, nil)}, false},
		{0, []*corsv1.CorsRule{rule("b2-rule", []string{"*"}, dl, nil)}, false},
		{0, []*corsv1.CorsRule{rule("bad_name", []string{"*"}, dl, nil)}, false},
		{0, []*corsv1.CorsRule{rule("ruleone", []string{"*"}, dl, nil), rule("ruleone", []string{"*"}, dl, nil)}, false},
		{0, []*corsv1.CorsRule{rule("ruleone", []string{"*"}, nil, nil)}, false},
		{0, []*corsv1.CorsRule{rule("ruleone", nil, dl, nil)}, false},
		{0, []*corsv1.CorsRule{rule("ruleone", []string{"*"}, dl, []string{"*", "x"})}, false},
		{0, []*corsv1.CorsRule{rule("ruleone", []string{"*"}, dl, []string{"x-*-y"})}, false},
		{0, []*corsv1.CorsRule{rule("ruleone", []string{"*"}, []string{"s3_put"}, []string{"x-*-y"})}, true},
		{0, []*corsv1.CorsRule{{Name: "ruleone", AllowedOrigins: []string{"*"}, AllowedOperations: dl, ExposeHeaders: []string{"x-*"}}}, false},
		{35, []*corsv1.CorsRule{{Name: "ruleone", AllowedOrigins: []string{"*"}, AllowedOperations: dl, MaxAgeSeconds: proto.Int32(86401)}}, false},
		{35, []*corsv1.CorsRule{{Name: "ruleone", AllowedOrigins: []string{"*"}, AllowedOperations: dl, MaxAgeSeconds: proto.Int32(-1)}}, false},
		{35, []*corsv1.CorsRule{{Name: "ruleone", AllowedOrigins: []string{"*"}, AllowedOperations: dl, MaxAgeSeconds: proto.Int32(86400)}}, true},
		// 41: name (7) + op (24) + origin: 999 bytes accepted, 1,000 refused.
		{41, []*corsv1.CorsRule{rule("ruleone", []string{long(999 - 7 - 24 - 12)}, dl, nil)}, true},
		{41, []*corsv1.CorsRule{rule("ruleone", []string{long(1000 - 7 - 24 - 12)}, dl, nil)}, false},
	}
	for i, c := range cases {
		err := Validate(c.rules)
		if (err == nil) != c.ok {
			t.Errorf("row %d (spec case %d): ok=%v, want %v (%v)", i, c.num, err == nil, c.ok, err)
		}
		if err != nil && !errs.Is(err, errs.InvalidRequest) {
			t.Errorf("row %d: kind %v", i, errs.KindOf(err))
		}
	}
	var many []*corsv1.CorsRule
	for i := 0; i < 101; i++ {
		many = append(many, rule("rule-"+strings.Repeat("x", 3)+string(rune('a'+i%26))+string(rune('a'+i/26)), []string{"*"}, dl, nil))
	}
	if Validate(many[:100]) != nil || Validate(many) == nil {
		t.Error("case 41: 100 rules must pass and 101 fail")
	}
	if n := ruleBytes(rule("ruleone", []string{long(999 - 7 - 24 - 12)}, dl, nil)); n != 999 {
		t.Fatalf("size arithmetic: %d", n)
	}
}

// Spec cases 14–22, 28, 29, 31: evaluation.
func TestEvaluate(t *testing.T) {
	upHeaders := []string{"authorization", "content-type", "x-bz-file-name", "x-bz-content-sha1", "x-bz-info-*"}
	upReq := "authorization,content-type,x-bz-file-name,x-bz-content-sha1,x-bz-info-src_last_modified_millis"
	s3get := rule("s3getonly", []string{"*"}, []string{"s3_get"}, nil)
	cases := []struct {
		num   int
		rules []*corsv1.CorsRule
		req   Request
		want  bool
	}{
		{14, []*corsv1.CorsRule{rule("dlname", []string{"*"}, []string{"b2_download_file_by_name"}, nil)},
			Request{Operation: "s3_get", Origin: "https://a.test", Method: "GET", Preflight: true}, false},
		{14, []*corsv1.CorsRule{rule("dlname", []string{"*"}, []string{"b2_download_file_by_name"}, nil)},
			Request{Operation: "b2_download_file_by_name", Origin: "https://a.test", Method: "GET", BucketPublic: true}, true},
		{15, []*corsv1.CorsRule{s3get}, Request{Operation: "s3_put", Origin: "https://a.test", Method: "PUT", Preflight: true}, false},
		{15, []*corsv1.CorsRule{s3get}, Request{Operation: "s3_get", Origin: "https://a.test", Method: "GET", Preflight: true}, true},
		{16, []*corsv1.CorsRule{rule("upload", []string{"https://app.test"}, []string{"b2_upload_file"}, upHeaders)},
			Request{Operation: "b2_upload_file", Origin: "https://app.test", Method: "POST", Headers: upReq, Preflight: true}, true},
		{17, []*corsv1.CorsRule{rule("upload", []string{"https://app.test"}, []string{"b2_upload_file"}, upHeaders[:4])},
			Request{Operation: "b2_upload_file", Origin: "https://app.test", Method: "POST", Headers: upReq, Preflight: true}, false},
		{0, []*corsv1.CorsRule{rule("upload", []string{"https://app.test"}, []string{"b2_upload_file"}, upHeaders)},
			Request{Operation: "b2_upload_file", Origin: "https://app.test", Method: "GET", Preflight: true}, false},
		{18, []*corsv1.CorsRule{rule("s3hdrs", []string{"*"}, []string{"s3_put"}, []string{"content-type", "x-amz-*"})},
			Request{Operation: "s3_put", Origin: "https://a.test", Method: "PUT", Headers: "Content-Type, X-Amz-Date ,x-amz-content-sha256", Preflight: true}, true},
		{19, []*corsv1.CorsRule{rule("s3hdrs", []string{"*"}, []string{"s3_put"}, []string{"a", "b"})},
			Request{Operation: "s3_put", Origin: "https://a.test", Method: "PUT", Headers: "a,,b,", Preflight: true}, true},
		{20, []*corsv1.CorsRule{s3get}, Request{Operation: "s3_get", Origin: "https://a.test", Method: "GET", Headers: "x-custom", Preflight: true}, false},
		{20, []*corsv1.CorsRule{s3get}, Request{Operation: "s3_get", Origin: "https://a.test", Method: "GET", Preflight: true}, true},
		{21, []*corsv1.CorsRule{rule("anyhdr", []string{"*"}, []string{"s3_get"}, []string{"*"})},
			Request{Operation: "s3_get", Origin: "https://a.test", Method: "GET", Headers: "authorization", Preflight: true}, true},
		{22, []*corsv1.CorsRule{rule("prefix", []string{"*"}, []string{"b2_upload_file"}, []string{"x-bz-info-*"})},
			Request{Operation: "b2_upload_file", Origin: "https://a.test", Method: "POST", Headers: "x-bz-infox", Preflight: true}, false},
		{22, []*corsv1.CorsRule{rule("prefix", []string{"*"}, []string{"b2_upload_file"}, []string{"x-bz-info-*"})},
			Request{Operation: "b2_upload_file", Origin: "https://a.test", Method: "POST", Headers: "x-bz-info-anything", Preflight: true}, true},
	}
	for i, c := range cases {
		if err := Validate(c.rules); err != nil {
			t.Fatalf("row %d: rules refused: %v", i, err)
		}
		if got := allowed(Evaluate(c.rules, c.req)); got != c.want {
			t.Errorf("row %d (spec case %d): allowed=%v, want %v", i, c.num, got, c.want)
		}
	}
}

// Case 23, 26, 31: requests without Origin, buckets without rules, no match.
func TestNoMatchShapes(t *testing.T) {
	rules := []*corsv1.CorsRule{rule("s3getonly", []string{"https://a.test"}, []string{"s3_get"}, nil)}
	d := Evaluate(rules, Request{Operation: "s3_get", Method: "GET"})
	if d.Decision != corsv1.Decision_DECISION_NO_CORS || header(d, "Access-Control-Allow-Origin") != "" {
		t.Errorf("case 23: %+v", d)
	}
	d = Evaluate(nil, Request{Operation: "s3_get", Origin: "https://a.test", Method: "GET", Preflight: true})
	if d.Decision != corsv1.Decision_DECISION_DENY || d.Message != MsgNotEnabled {
		t.Errorf("case 26: %+v", d)
	}
	d = Evaluate(rules, Request{Operation: "s3_get", Origin: "https://other.test", Method: "GET"})
	if d.Decision != corsv1.Decision_DECISION_NO_CORS || header(d, "Access-Control-Allow-Origin") != "" || header(d, "Vary") != "Origin" {
		t.Errorf("case 31: %+v", d)
	}
	d = Evaluate(rules, Request{Operation: "s3_get", Origin: "https://other.test", Method: "GET", Preflight: true})
	if d.Decision != corsv1.Decision_DECISION_DENY || d.Message != MsgNotAllowed {
		t.Errorf("no match preflight: %+v", d)
	}
}

// Case 28: first match wins; case 29: '*' vs echo + credentials.
func TestFirstMatchAndHeaders(t *testing.T) {
	a := rule("rule-a", []string{"https://a.test"}, []string{"s3_put"}, nil)
	b := &corsv1.CorsRule{Name: "rule-b", AllowedOrigins: []string{"https://a.test"}, AllowedOperations: []string{"s3_get", "s3_head"}, AllowedHeaders: []string{"range"}, MaxAgeSeconds: proto.Int32(10), ExposeHeaders: []string{"ETag", "x-amz-version-id"}}
	c := &corsv1.CorsRule{Name: "rule-c", AllowedOrigins: []string{"https://a.test"}, AllowedOperations: []string{"s3_get"}, MaxAgeSeconds: proto.Int32(99)}
	d := Evaluate([]*corsv1.CorsRule{a, b, c}, Request{Operation: "s3_get", Origin: "https://a.test", Method: "GET", Preflight: true, Headers: "Range"})
	if !allowed(d) || d.Rule != 1 || header(d, "Access-Control-Max-Age") != "10" {
		t.Fatalf("case 28: %+v", d)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      "https://a.test",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, HEAD",
		"Access-Control-Allow-Headers":     "range",
		"Access-Control-Expose-Headers":    "ETag, x-amz-version-id",
		"Vary":                             "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
	}
	for n, v := range want {
		if got := header(d, n); got != v {
			t.Errorf("case 29 (echo): %s = %q, want %q", n, got, v)
		}
	}
	star := rule("any-origin", []string{"*"}, []string{"s3_get"}, nil)
	d = Evaluate([]*corsv1.CorsRule{star}, Request{Operation: "s3_get", Origin: "https://x.test", Method: "GET"})
	if header(d, "Access-Control-Allow-Origin") != "*" || header(d, "Access-Control-Allow-Credentials") != "" {
		t.Errorf("case 29 (*): %+v", d.Headers)
	}
	// Native answers echo the origin and never allow credentials.
	nat := &corsv1.CorsRule{Name: "native", AllowedOrigins: []string{"*"}, AllowedOperations: []string{"b2_download_file_by_name"}, ExposeHeaders: []string{"x-bz-content-sha1"}}
	d = Evaluate([]*corsv1.CorsRule{nat}, Request{Operation: "b2_download_file_by_name", Origin: "https://x.test", Method: "GET", BucketPublic: true})
	if header(d, "Access-Control-Allow-Origin") != "https://x.test" || header(d, "Access-Control-Allow-Credentials") != "" ||
		header(d, "Access-Control-Expose-Headers") != "x-bz-content-sha1" || header(d, "Vary") != "Origin" {
		t.Errorf("native actual: %+v", d.Headers)
	}
	d = Evaluate([]*corsv1.CorsRule{nat}, Request{Operation: "b2_download_file_by_name", Origin: "https://x.test", Method: "GET", BucketPublic: true, Preflight: true})
	if header(d, "Access-Control-Allow-Methods") != "GET, HEAD" {
		t.Errorf("native preflight: %+v", d.Headers)
	}
}

// Case 33, 34: private buckets and tokens.
func TestPrivateBucketTokens(t *testing.T) {
	rules := []*corsv1.CorsRule{rule("download", []string{"*"}, []string{"b2_download_file_by_name", "b2_download_file_by_id"}, nil)}
	pre := Request{Operation: "b2_download_file_by_name", Origin: "https://x.test", Method: "GET", Preflight: true}
	for _, tc := range []struct {
		token corsv1.TokenKind
		want  bool
	}{
		{corsv1.TokenKind_TOKEN_KIND_ACCOUNT, false},
		{corsv1.TokenKind_TOKEN_KIND_NONE, false},
		{corsv1.TokenKind_TOKEN_KIND_DOWNLOAD, true},
	} {
		r := pre
		r.Token = tc.token
		d := Evaluate(rules, r)
		if allowed(d) != tc.want {
			t.Errorf("case 33: token %v: allowed=%v, want %v (%s)", tc.token, allowed(d), tc.want, d.Message)
		}
	}
	pub := pre
	pub.BucketPublic = true
	if !allowed(Evaluate(rules, pub)) {
		t.Error("public bucket preflight needs no token")
	}
}

// Cases 36–40: the S3/R2 views of the stored list.
func TestViews(t *testing.T) {
	in := []*corsv1.CorsRule{
		{Name: "my rule", AllowedOrigins: []string{"https://a.test"}, AllowedOperations: []string{"GET", "GET", "PUT"}, MaxAgeSeconds: proto.Int32(3000)},
		{Name: "validname", AllowedOrigins: []string{"*"}, AllowedOperations: []string{"HEAD"}},
		{Name: "", AllowedOrigins: []string{"http://localhost:*"}, AllowedOperations: []string{"DELETE"}},
	}
	stored, err := FromS3(in)
	if err != nil {
		t.Fatal(err)
	}
	if stored[0].GetName() != "s3-rule-1" || stored[0].GetS3Id() != "my rule" {
		t.Errorf("case 36: stored as %s", String(stored[0]))
	}
	if got := stored[0].GetAllowedOperations(); len(got) != 2 || got[0] != "s3_get" || got[1] != "s3_put" {
		t.Errorf("case 39: operations %v", got)
	}
	if stored[1].GetName() != "validname" || stored[1].GetS3Id() != "" || stored[2].GetName() != "s3-rule-3" {
		t.Errorf("names: %s / %s", String(stored[1]), String(stored[2]))
	}
	view := ToS3(stored)
	if len(view) != 3 || view[0].GetName() != "my rule" || strings.Join(view[0].GetAllowedOperations(), ",") != "GET,PUT" || view[0].GetMaxAgeSeconds() != 3000 {
		t.Errorf("case 36/39: view %v", view)
	}
	native := []*corsv1.CorsRule{
		rule("uploads", []string{"*"}, []string{"b2_upload_file", "s3_put"}, nil),
		rule("downloads", []string{"*"}, []string{"b2_download_file_by_name"}, nil),
	}
	view = ToS3(native)
	if len(view) != 1 || strings.Join(view[0].GetAllowedOperations(), ",") != "PUT" || view[0].GetName() != "uploads" {
		t.Errorf("case 37: view %v", view)
	}
	if ToS3(native[1:]) != nil {
		t.Error("case 38: b2-only rules must have no S3 view")
	}
	if got, err := FromS3(nil); err != nil || len(got) != 0 {
		t.Errorf("case 40: empty list: %v %v", got, err)
	}
	_, err = FromS3([]*corsv1.CorsRule{{Name: "x", AllowedOrigins: []string{"*"}, AllowedOperations: []string{"get"}}})
	if !errs.Is(err, errs.InvalidRequest) || !strings.Contains(errs.Message(err), "Unsupported method is get") {
		t.Errorf("lower-case method: %v", err)
	}
	_, err = FromS3([]*corsv1.CorsRule{{Name: "x", AllowedOrigins: []string{"*"}, AllowedOperations: []string{"GET"}, MaxAgeSeconds: proto.Int32(86401)}})
	if err == nil {
		t.Error("case 35: S3 MaxAgeSeconds 86401 accepted")
	}
}

func FuzzCORSMatch(f *testing.F) {
	for _, s := range [][2]string{{"https://*.x.com", "https://a.x.com"}, {"http://localhost:*", "http://localhost:1"}, {"*", "null"}, {"https", "https://a"}} {
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, pattern, origin string, s3 bool) {
		ops := []string{"b2_download_file_by_name"}
		if s3 {
			ops = []string{"s3_get"}
		}
		rules := []*corsv1.CorsRule{rule("fuzzrule", []string{pattern}, ops, nil)}
		if Validate(rules) != nil {
			return
		}
		d := Evaluate(rules, Request{Operation: ops[0], Origin: origin, Method: "GET", BucketPublic: true})
		if allowed(d) && origin == "" {
			t.Fatal("empty origin allowed")
		}
		if allowed(d) && pattern != "*" && pattern != "https" && !strings.Contains(pattern, "*") &&
			!strings.EqualFold(strings.TrimSuffix(strings.TrimSuffix(pattern, ":443"), ":80"), strings.TrimSuffix(strings.TrimSuffix(origin, ":443"), ":80")) {
			t.Fatalf("pattern %q allowed unrelated origin %q", pattern, origin)
		}
	})
}
