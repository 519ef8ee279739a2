package s3

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Fuzz targets for the XML bodies the S3 front-end parses besides
// CompleteMultipartUpload (spec/reliability.md §8). Each checks: no panic;
// a refusal is a client error (MalformedXML, InvalidArgument, InvalidRequest,
// NotImplemented), never an internal one; and what is accepted survives a
// render and re-parse unchanged. Seeds live in testdata/fuzz.

func clientError(t *testing.T, err error) {
	t.Helper()
	switch errs.KindOf(err) {
	case errs.MalformedBody, errs.InvalidArgument, errs.InvalidRequest, errs.Unimplemented:
	default:
		t.Fatalf("refusal of kind %v: %v", errs.KindOf(err), err)
	}
}

func FuzzDeleteObjectsXML(f *testing.F) {
	for _, s := range []string{
		`<Delete><Object><Key>a</Key></Object></Delete>`,
		`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a/b</Key><VersionId>4_zabc</VersionId></Object><Object><Key></Key></Object></Delete>`,
		`<Delete><Object><VersionId>v</VersionId></Object></Delete>`,
		`<Delete><Object><Key>a</Key></Object></Delete><Delete/>`,
		`<Other/>`,
		strings.Repeat("<Delete>", 100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		quiet, targets, err := parseDeleteObjects(body)
		if err != nil {
			clientError(t, err)
			return
		}
		if len(targets) == 0 || len(targets) > maxDeleteObjectsKeys {
			t.Fatalf("accepted %d objects", len(targets))
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "<Delete><Quiet>%v</Quiet>", quiet)
		for _, tg := range targets {
			sb.WriteString("<Object><Key>")
			_ = xml.EscapeText(&sb, []byte(tg.key))
			sb.WriteString("</Key><VersionId>")
			_ = xml.EscapeText(&sb, []byte(tg.versionID))
			sb.WriteString("</VersionId></Object>")
		}
		sb.WriteString("</Delete>")
		q2, again, err := parseDeleteObjects([]byte(sb.String()))
		if err != nil || q2 != quiet || len(again) != len(targets) {
			t.Fatalf("re-parse: %v (%d vs %d targets)", err, len(again), len(targets))
		}
		for i := range targets {
			if again[i] != targets[i] {
				// Characters XML 1.0 cannot carry are normalised by the
				// encoder; the keys they make are refused by ValidateKey.
				if strings.ContainsFunc(targets[i].key+targets[i].versionID, func(r rune) bool { return r < 0x20 || r == 0xFFFD }) {
					continue
				}
				t.Fatalf("target %d: %+v became %+v", i, targets[i], again[i])
			}
		}
	})
}

func FuzzCORSXML(f *testing.F) {
	for _, s := range []string{
		`<CORSConfiguration><CORSRule><ID>web-app</ID><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>99999999999</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration></CORSConfiguration>`,
		`<CORSConfiguration><Unknown><Deep><Deeper/></Deep></Unknown><CORSRule><AllowedOrigin>a</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rules, err := parseCORS(body)
		if err != nil {
			clientError(t, err)
			return
		}
		if len(rules) == 0 || len(rules) > maxCORSRules {
			t.Fatalf("accepted %d rules", len(rules))
		}
		out, err := xml.Marshal(corsView(rules))
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		again, err := parseCORS(out)
		if err != nil {
			if strings.ContainsRune(string(body), 0xFFFD) || strings.ContainsFunc(string(out), func(r rune) bool { return r == 0xFFFD }) {
				return // invalid characters the encoder replaced
			}
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(again) != len(rules) {
			t.Fatalf("%d rules became %d", len(rules), len(again))
		}
		for i := range rules {
			if !proto.Equal(rules[i], again[i]) && !hasReplacement(rules[i]) {
				t.Fatalf("rule %d: %v became %v", i, rules[i], again[i])
			}
		}
	})
}

func hasReplacement(r *corsv1.CorsRule) bool {
	all := append(append(append(append([]string{r.GetName()}, r.GetAllowedOrigins()...), r.GetAllowedOperations()...), r.GetAllowedHeaders()...), r.GetExposeHeaders()...)
	for _, s := range all {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0xFFFD }) {
			return true
		}
	}
	return false
}

func FuzzLifecycleXML(f *testing.F) {
	for _, s := range []string{
		`<LifecycleConfiguration><Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays></NoncurrentVersionExpiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Prefix>old/</Prefix><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Filter><And><Prefix>a/</Prefix></And></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule><Rule><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rules, err := parseLifecycle(body)
		if err != nil {
			clientError(t, err)
			return
		}
		for _, r := range rules {
			for _, d := range []*int32{r.DaysFromUploadingToHiding, r.DaysFromHidingToDeleting, r.DaysFromStartingToCancelingUnfinishedLargeFiles} {
				if d != nil && *d < 1 {
					t.Fatalf("accepted %d days", *d)
				}
			}
		}
		out, err := xml.Marshal(lifecycleView(rules))
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if len(rules) == 0 {
			return // nothing B2 stores (only ExpiredObjectDeleteMarker rules)
		}
		again, err := parseLifecycle(out)
		if err != nil {
			if lifecycleReplaced(rules) {
				return
			}
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(again) != len(rules) {
			t.Fatalf("%d rules became %d", len(rules), len(again))
		}
		for i := range rules {
			if !proto.Equal(rules[i], again[i]) && !lifecycleReplaced(rules[i:i+1]) {
				t.Fatalf("rule %d: %v became %v", i, rules[i], again[i])
			}
		}
	})
}

func lifecycleReplaced(rules []*metadatav1.LifecycleRule) bool {
	for _, r := range rules {
		if strings.ContainsFunc(r.GetFileNamePrefix(), func(r rune) bool { return r < 0x20 || r == 0xFFFD }) {
			return true
		}
	}
	return false
}
