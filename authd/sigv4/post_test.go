package sigv4

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

// The worked example of AWS's documentation ("Example: Browser-Based Upload
// using HTTP POST (Using AWS Signature Version 4)"): its policy in base64,
// the example credentials and the signature the documentation gives.
const (
	postExampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	postExampleSignature = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
	postExamplePolicy    = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)

func postExampleFields() PostFields {
	return PostFields{Algorithm: Algorithm, Credential: "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
		Date: "20151229T000000Z", Signature: postExampleSignature, Policy: postExamplePolicy}
}

// TestPostAWSExample verifies AWS's published POST example.
func TestPostAWSExample(t *testing.T) {
	v := &Verifier{Region: "us-east-1"}
	a, err := v.ParsePost(postExampleFields())
	if err != nil {
		t.Fatal(err)
	}
	if a.Credential.AccessKeyID != "AKIAIOSFODNN7EXAMPLE" || a.Credential.Scope() != "20151229/us-east-1/s3/aws4_request" {
		t.Fatalf("parsed %+v", a)
	}
	key := SigningKey(postExampleSecret, a.Credential)
	if err := VerifyPost(a, key); err != nil {
		t.Fatalf("the AWS example does not verify: %v", err)
	}
	// Upper-case hex is the same signature.
	f := postExampleFields()
	f.Signature = strings.ToUpper(f.Signature)
	if a, err := v.ParsePost(f); err != nil || VerifyPost(a, key) != nil {
		t.Fatalf("upper-case signature: %v", err)
	}
	// Any change to the policy breaks it; the error names the policy.
	raw, _ := base64.StdEncoding.DecodeString(postExamplePolicy)
	f = postExampleFields()
	f.Policy = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(raw), "user/user1/", "user/", 1)))
	a, _ = v.ParsePost(f)
	err = VerifyPost(a, key)
	if errs.KindOf(err) != errs.SignatureMismatch || errs.As(err).Details["string_to_sign"] != f.Policy {
		t.Fatalf("a changed policy: %v", err)
	}
	if err := VerifyPost(a, SigningKey("other secret", a.Credential)); errs.KindOf(err) != errs.SignatureMismatch {
		t.Fatalf("another secret: %v", err)
	}
}

func TestParsePostRefusals(t *testing.T) {
	v := &Verifier{Region: "us-east-1"}
	strict := &Verifier{Region: "eu-west-1", StrictRegion: true}
	cases := []struct {
		name string
		v    *Verifier
		edit func(*PostFields)
		kind errs.Kind
		msg  string
	}{
		{"sigv2 algorithm", v, func(f *PostFields) { f.Algorithm = "AWS" }, errs.InvalidArgument, "Only AWS4-HMAC-SHA256 is supported"},
		{"sigv4a", v, func(f *PostFields) { f.Algorithm = AlgorithmV4a }, errs.InvalidArgument, "Only AWS4-HMAC-SHA256"},
		{"credential parts", v, func(f *PostFields) { f.Credential = "AKID/20151229/us-east-1/s3" }, errs.InvalidArgument, "mal-formed"},
		{"credential date", v, func(f *PostFields) { f.Credential = "AKID/2015-12-29/us-east-1/s3/aws4_request" }, errs.InvalidArgument, "incorrect date format"},
		{"credential service", v, func(f *PostFields) { f.Credential = "AKID/20151229/us-east-1/ec2/aws4_request" }, errs.InvalidArgument, "incorrect service"},
		{"credential terminal", v, func(f *PostFields) { f.Credential = "AKID/20151229/us-east-1/s3/aws5_request" }, errs.InvalidArgument, "incorrect terminal"},
		{"strict region", strict, func(*PostFields) {}, errs.InvalidArgument, "is wrong; expecting"},
		{"date format", v, func(f *PostFields) { f.Date = "2015-12-29T00:00:00Z" }, errs.InvalidArgument, "ISO8601"},
		{"date of another day", v, func(f *PostFields) { f.Date = "20151230T000000Z" }, errs.InvalidArgument, "not the date"},
		{"short signature", v, func(f *PostFields) { f.Signature = "abc" }, errs.SignatureMismatch, "does not match"},
		{"signature not hex", v, func(f *PostFields) { f.Signature = strings.Repeat("z", 64) }, errs.SignatureMismatch, "does not match"},
	}
	for _, tc := range cases {
		f := postExampleFields()
		tc.edit(&f)
		_, err := tc.v.ParsePost(f)
		if errs.KindOf(err) != tc.kind || !strings.Contains(errs.As(err).Msg, tc.msg) {
			t.Errorf("%s: %v, want %v %q", tc.name, err, tc.kind, tc.msg)
		}
	}
}
