package s3

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coffer-project/coffer/services/errs"
)

// TestTagParsing: the x-amz-tagging header and the Tagging document, with
// S3's answer for each bad input (code from the error mapping).
func TestTagParsing(t *testing.T) {
	code := func(err error) string {
		if err == nil {
			return ""
		}
		ae, _ := toAPIError(err)
		return ae.Code
	}
	headers := []struct {
		in, want, code string
	}{
		{"", "", ""},
		{"a=1&b=two%20words&c=", "a=1;b=two words;c=;", ""},
		{"a+b=c+d", "a b=c d;", ""},
		{"k", "k=;", ""},
		{"&&a=1&", "a=1;", ""},
		{"%D0%BA=%C3%BC", "к=ü;", ""},
		{"k=%E2%82%AC", "", "InvalidTag"},
		{"a=1&a=2", "", "InvalidArgument"},
		{"=v", "", "InvalidArgument"},
		{"k=%zz", "", "InvalidArgument"},
		{"k=a,b", "", "InvalidTag"},
		{"k=%3Cx%3E", "", "InvalidTag"},
		{strings.Repeat("k", 129) + "=v", "", "InvalidTag"},
		{"k=" + strings.Repeat("é", 257), "", "InvalidTag"},
		{"1&2&3&4&5&6&7&8&9&10&11", "", "BadRequest"},
	}
	for _, tc := range headers {
		tags, err := parseTaggingHeader(tc.in)
		var got strings.Builder
		for _, tg := range tags {
			fmt.Fprintf(&got, "%s=%s;", tg.GetKey(), tg.GetValue())
		}
		if got.String() != tc.want || code(err) != tc.code {
			t.Errorf("header %q: %q %v (code %q), want %q %q", tc.in, got.String(), err, code(err), tc.want, tc.code)
		}
	}
	docs := []struct{ in, code string }{
		{`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`, ""},
		{`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet></TagSet></Tagging>`, ""},
		{`<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>`, ""},
		{`<Tagging></Tagging>`, "MalformedXML"},
		{`<Tagging><TagSet><Tag><Value>1</Value></Tag></TagSet></Tagging>`, "MalformedXML"},
		{`<Other><TagSet/></Other>`, "MalformedXML"},
		{`<Tagging><TagSet>`, "MalformedXML"},
		{`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>`, "InvalidTag"},
		{`<Tagging><TagSet><Tag><Key></Key><Value>1</Value></Tag></TagSet></Tagging>`, "InvalidTag"},
	}
	for _, tc := range docs {
		_, err := tagsFromXML([]byte(tc.in))
		if code(err) != tc.code {
			t.Errorf("document %s: %v (code %q), want %q", tc.in, err, code(err), tc.code)
		}
	}
	// InvalidTag carries the offending tag as S3 does.
	_, err := parseTaggingHeader("k=a,b")
	if e := errs.As(err); e.Details["tag_key"] != "k" || e.Details["tag_value"] != "a,b" {
		t.Errorf("InvalidTag details %v", e.Details)
	}
}

// FuzzTaggingXML: any document and header either parse into a valid tag
// set or are refused with an S3 error; nothing panics.
func FuzzTaggingXML(f *testing.F) {
	f.Add(`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`, "a=1&b=2")
	f.Add(`<Tagging><TagSet><Tag><Key>&lt;</Key></Tag></TagSet></Tagging>`, "%zz")
	f.Fuzz(func(t *testing.T, doc, header string) {
		for _, parse := range []func() (int, error){
			func() (int, error) { tags, err := tagsFromXML([]byte(doc)); return len(tags), err },
			func() (int, error) { tags, err := parseTaggingHeader(header); return len(tags), err },
		} {
			n, err := parse()
			if err != nil {
				if ae, _ := toAPIError(err); ae.Status != 400 {
					t.Fatalf("refusal with status %d: %v", ae.Status, err)
				}
				continue
			}
			if n > 10 {
				t.Fatalf("%d tags accepted", n)
			}
		}
		if tags, err := tagsFromXML([]byte(doc)); err == nil {
			for _, tg := range tags {
				if !utf8.ValidString(tg.GetKey()) || tg.GetKey() == "" {
					t.Fatalf("accepted key %q", tg.GetKey())
				}
			}
		}
	})
}
