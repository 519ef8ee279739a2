package s3

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const etagA = "0123456789abcdef0123456789abcdef"

func completeDoc(parts ...string) string {
	return "<CompleteMultipartUpload>" + strings.Join(parts, "") + "</CompleteMultipartUpload>"
}

func partXML(n, etag, extra string) string {
	return "<Part><PartNumber>" + n + "</PartNumber><ETag>" + etag + "</ETag>" + extra + "</Part>"
}

// completeKinds are the only verdicts a completion body may get before the
// stored parts are consulted.
var completeKinds = map[errs.Kind]bool{errs.MalformedBody: true, errs.InvalidPart: true, errs.InvalidPartOrder: true}

func checkComplete(body []byte) ([]*metadatav1.PartRef, error) {
	refs, err := parseCompleteXML(body)
	if err == nil {
		err = objects.ValidatePartRefs(refs)
	}
	return refs, err
}

func TestParseCompleteXML(t *testing.T) {
	many := make([]string, objects.MaxPartNumber+1)
	for i := range many {
		many[i] = partXML(fmt.Sprint(i+1), etagA, "")
	}
	for _, tc := range []struct {
		name string
		body string
		want errs.Kind // 0: accepted
	}{
		{"one part", completeDoc(partXML("1", `"`+etagA+`"`, "")), 0},
		{"namespace and quotes entity", `<?xml version="1.0"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
			partXML("1", "&quot;"+etagA+"&quot;", "") + partXML("3", etagA, "<ChecksumCRC32>AAAAAA==</ChecksumCRC32>") + `</CompleteMultipartUpload>`, 0},
		{"uppercase etag", completeDoc(partXML("2", strings.ToUpper(etagA), "")), 0},
		{"no parts", completeDoc(), errs.MalformedBody},
		{"empty body", "", errs.MalformedBody},
		{"wrong root", "<Complete>" + partXML("1", etagA, "") + "</Complete>", errs.MalformedBody},
		{"not xml", "PartNumber=1", errs.MalformedBody},
		{"trailing element", completeDoc(partXML("1", etagA, "")) + "<x/>", errs.MalformedBody},
		{"too many parts", completeDoc(many...), errs.MalformedBody},
		{"part zero", completeDoc(partXML("0", etagA, "")), errs.MalformedBody},
		{"part 10001", completeDoc(partXML("10001", etagA, "")), errs.MalformedBody},
		{"signed part", completeDoc(partXML("+1", etagA, "")), errs.MalformedBody},
		{"short etag", completeDoc(partXML("1", "abc", "")), errs.InvalidPart},
		{"multipart etag", completeDoc(partXML("1", etagA+"-2", "")), errs.InvalidPart},
		{"bad checksum", completeDoc(partXML("1", etagA, "<ChecksumSHA256>AAAA</ChecksumSHA256>")), errs.InvalidPart},
		{"descending", completeDoc(partXML("2", etagA, ""), partXML("1", etagA, "")), errs.InvalidPartOrder},
		{"duplicate", completeDoc(partXML("2", etagA, ""), partXML("2", etagA, "")), errs.InvalidPartOrder},
	} {
		_, err := checkComplete([]byte(tc.body))
		if tc.want == 0 && err != nil || tc.want != 0 && !errs.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzCompleteMultipartXML feeds arbitrary bodies to the completion parser
// and the object layer's part-list check (spec/reliability.md §8): no
// panic; a refusal is MalformedXML, InvalidPart or InvalidPartOrder; an
// accepted list has 1–10,000 strictly ascending parts with MD5 ETags and
// survives a render/parse round trip unchanged.
func FuzzCompleteMultipartXML(f *testing.F) {
	f.Add([]byte(completeDoc(partXML("1", `"`+etagA+`"`, ""))))
	f.Add([]byte(completeDoc(partXML("1", etagA, "<ChecksumCRC32>AAAAAA==</ChecksumCRC32>"), partXML("2", etagA, "<ChecksumCRC32>AAAAAA==</ChecksumCRC32>"))))
	f.Add([]byte(completeDoc(partXML("2", etagA, ""), partXML("1", etagA, ""))))
	f.Add([]byte(completeDoc(partXML("1", etagA, ""), partXML("1", etagA, ""))))
	f.Add([]byte(completeDoc()))
	f.Add([]byte(completeDoc(partXML("10001", etagA, ""))))
	f.Add([]byte(completeDoc(partXML("1", "nope", ""))))
	f.Add([]byte(strings.Repeat("<CompleteMultipartUpload>", 50) + strings.Repeat("</CompleteMultipartUpload>", 50)))
	f.Add([]byte("<CompleteMultipartUpload><Part><Part><Part></Part></Part></Part></CompleteMultipartUpload>"))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CompleteMultipartUpload><Part><PartNumber>&a;</PartNumber></Part></CompleteMultipartUpload>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		refs, err := checkComplete(body)
		if err != nil {
			if !completeKinds[errs.KindOf(err)] {
				t.Fatalf("refusal of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		if len(refs) == 0 || len(refs) > objects.MaxPartNumber {
			t.Fatalf("accepted %d parts", len(refs))
		}
		doc := completeMultipartUpload{}
		for i, r := range refs {
			if i > 0 && r.GetPartNumber() <= refs[i-1].GetPartNumber() {
				t.Fatalf("accepted parts out of order: %v", refs)
			}
			if !isHex(r.GetMd5(), 32) || strings.ToLower(r.GetMd5()) != r.GetMd5() {
				t.Fatalf("accepted ETag %q", r.GetMd5())
			}
			p := completedPart{PartNumber: fmt.Sprint(r.GetPartNumber()), ETag: `"` + r.GetMd5() + `"`}
			for _, s := range r.GetChecksums() {
				p.set(s.GetAlgorithm(), s.GetValue())
			}
			doc.Parts = append(doc.Parts, p)
		}
		out, err := xml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		again, err := checkComplete(out)
		if err != nil {
			t.Fatalf("re-rendered list refused: %v\n%s", err, out)
		}
		if len(again) != len(refs) {
			t.Fatalf("round trip changed the part count: %d != %d", len(again), len(refs))
		}
		for i := range refs {
			a, b := refs[i], again[i]
			if a.GetPartNumber() != b.GetPartNumber() || a.GetMd5() != b.GetMd5() || len(a.GetChecksums()) != len(b.GetChecksums()) {
				t.Fatalf("round trip changed part %d: %v != %v", i, a, b)
			}
		}
	})
}
