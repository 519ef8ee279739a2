package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

const (
	goodCred = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
	goodSH   = "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"
	goodSig  = "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
)

func TestParseAuthorization(t *testing.T) {
	ok := []string{
		Algorithm + " " + goodCred + ", " + goodSH + ", " + goodSig,
		Algorithm + " " + goodCred + "," + goodSH + "," + goodSig,
		Algorithm + " " + goodSig + ", " + goodCred + ", " + goodSH,
		Algorithm + "   " + goodCred + " ,  " + goodSH + " , " + goodSig,
		Algorithm + " Credential=id/20130524/garage/s3/aws4_request, SignedHeaders=host, " + goodSig,
	}
	for _, h := range ok {
		a, err := ParseAuthorization(h)
		if err != nil {
			t.Errorf("%q: %v", h, err)
			continue
		}
		if a.Credential.Service != "s3" || a.Signature != goodSig[len("Signature="):] || a.SignedHeaders[0] != "host" && a.SignedHeaders[1] != "range" {
			t.Errorf("%q: parsed %+v", h, a)
		}
	}

	bad := map[string]errs.Kind{
		"":              errs.MalformedAuth,
		Algorithm:       errs.MalformedAuth,
		Algorithm + " ": errs.MalformedAuth,
		"Bearer abc":    errs.MalformedAuth,
		"aws4-hmac-sha256 " + goodCred + ", " + goodSH + ", " + goodSig:                                                             errs.MalformedAuth,
		"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=":                                                                     errs.InvalidRequest,
		AlgorithmV4a + " " + goodCred + ", " + goodSH + ", " + goodSig:                                                              errs.InvalidRequest,
		Algorithm + " " + goodCred + ", " + goodSH:                                                                                  errs.MalformedAuth,
		Algorithm + " " + goodCred + ", " + goodSig:                                                                                 errs.MalformedAuth,
		Algorithm + " " + goodSH + ", " + goodSig:                                                                                   errs.MalformedAuth,
		Algorithm + " " + goodCred + ", " + goodCred + ", " + goodSH + ", " + goodSig:                                               errs.MalformedAuth,
		Algorithm + " " + goodCred + ", " + goodSH + ", " + goodSig + ",":                                                           errs.MalformedAuth,
		Algorithm + " " + goodCred + ",, " + goodSH + ", " + goodSig:                                                                errs.MalformedAuth,
		Algorithm + " " + goodCred + ", " + goodSH + ", " + goodSig + ", Foo=bar":                                                   errs.MalformedAuth,
		Algorithm + " credential=AKID/20130524/us-east-1/s3/aws4_request, " + goodSH + ", " + goodSig:                               errs.MalformedAuth,
		Algorithm + " Credential=, " + goodSH + ", " + goodSig:                                                                      errs.MalformedAuth,
		Algorithm + " Credential=AKID/20130524/us-east-1/s3, " + goodSH + ", " + goodSig:                                            errs.MalformedAuth,
		Algorithm + " Credential=AKID/20130524/us-east-1/s3/aws4_request/x, " + goodSH + ", " + goodSig:                             errs.MalformedAuth,
		Algorithm + " Credential=/20130524/us-east-1/s3/aws4_request, " + goodSH + ", " + goodSig:                                   errs.MalformedAuth,
		Algorithm + " Credential=AKID/20131324/us-east-1/s3/aws4_request, " + goodSH + ", " + goodSig:                               errs.MalformedAuth,
		Algorithm + " Credential=AKID/2013052/us-east-1/s3/aws4_request, " + goodSH + ", " + goodSig:                                errs.MalformedAuth,
		Algorithm + " Credential=AKID/20130524//s3/aws4_request, " + goodSH + ", " + goodSig:                                        errs.MalformedAuth,
		Algorithm + " Credential=AKID/20130524/us-east-1/ec2/aws4_request, " + goodSH + ", " + goodSig:                              errs.MalformedAuth,
		Algorithm + " Credential=AKID/20130524/us-east-1/s3/aws4_requests, " + goodSH + ", " + goodSig:                              errs.MalformedAuth,
		Algorithm + " " + goodCred + ", SignedHeaders=range;host, " + goodSig:                                                       errs.MalformedAuth,
		Algorithm + " " + goodCred + ", SignedHeaders=Host;range, " + goodSig:                                                       errs.MalformedAuth,
		Algorithm + " " + goodCred + ", SignedHeaders=host;host, " + goodSig:                                                        errs.MalformedAuth,
		Algorithm + " " + goodCred + ", SignedHeaders=range;x-amz-date, " + goodSig:                                                 errs.MalformedAuth,
		Algorithm + " " + goodCred + ", SignedHeaders=host;;range, " + goodSig:                                                      errs.MalformedAuth,
		Algorithm + " " + goodCred + ", SignedHeaders=host;ra nge, " + goodSig:                                                      errs.MalformedAuth,
		Algorithm + " " + goodCred + ", " + goodSH + ", Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb4":  errs.MalformedAuth,
		Algorithm + " " + goodCred + ", " + goodSH + ", Signature=F0E8BDB87C964420E857BD35B5D6ED310BD44F0170ABA48DD91039C6036BDB41": errs.MalformedAuth,
		Algorithm + " " + goodCred + ", " + goodSH + ", Signature=g0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41": errs.MalformedAuth,
		Algorithm + " " + goodCred + ", " + goodSH + ", Signature=" + strings.Repeat("a", 65):                                       errs.MalformedAuth,
	}
	for h, want := range bad {
		_, err := ParseAuthorization(h)
		if errs.KindOf(err) != want || err == nil {
			t.Errorf("%q: got %v, want %v", h, err, want)
		}
	}
}

// headerReq is the AWS S3 GetObject example, re-timed to now.
func headerReq(mod func(r *Request)) *Request {
	r := &Request{Method: "GET", RawPath: "/test.txt", Host: "examplebucket.s3.amazonaws.com", Header: http.Header{}}
	r.Header.Set("Authorization", Algorithm+" "+goodCred+", "+goodSH+", "+goodSig)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	if mod != nil {
		mod(r)
	}
	return r
}

const presignQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

func queryReq(query string) *Request {
	return &Request{Method: "GET", RawPath: "/test.txt", RawQuery: query, Host: "examplebucket.s3.amazonaws.com", Header: http.Header{}}
}

func TestParseRequest(t *testing.T) {
	v := &Verifier{Region: "us-east-1"}
	strict := &Verifier{Region: "eu-west-1", StrictRegion: true}
	type tc struct {
		name  string
		v     *Verifier
		req   *Request
		want  errs.Kind // Other: accepted
		query bool      // MalformedAuth carries query=true
	}
	repl := func(old, new string) string { return strings.Replace(presignQuery, old, new, 1) }
	cases := []tc{
		{"header ok", v, headerReq(nil), errs.Other, false},
		{"anonymous", v, queryReq("prefix=a"), errs.Other, false},
		{"header and query", v, headerReq(func(r *Request) { r.RawQuery = presignQuery }), errs.InvalidArgument, false},
		{"header and sigv2 query", v, headerReq(func(r *Request) { r.RawQuery = "AWSAccessKeyId=a&Signature=b&Expires=1" }), errs.InvalidArgument, false},
		{"two authorization headers", v, headerReq(func(r *Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }), errs.MalformedAuth, false},
		{"no content sha256", v, headerReq(func(r *Request) { r.Header.Del("X-Amz-Content-Sha256") }), errs.InvalidRequest, false},
		{"two content sha256", v, headerReq(func(r *Request) { r.Header.Add("X-Amz-Content-Sha256", EmptySHA256) }), errs.InvalidArgument, false},
		{"bad content sha256", v, headerReq(func(r *Request) { r.Header.Set("X-Amz-Content-Sha256", "abc") }), errs.InvalidArgument, false},
		{"upper-case content sha256", v, headerReq(func(r *Request) { r.Header.Set("X-Amz-Content-Sha256", strings.ToUpper(EmptySHA256)) }), errs.InvalidArgument, false},
		{"sigv4a payload", v, headerReq(func(r *Request) {
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
		}), errs.InvalidRequest, false},
		{"streaming payload", v, headerReq(func(r *Request) { r.Header.Set("X-Amz-Content-Sha256", StreamingPayloadTrailer) }), errs.Other, false},
		{"scope date differs", v, headerReq(func(r *Request) { r.Header.Set("X-Amz-Date", "20130525T000000Z") }), errs.MalformedAuth, false},
		{"strict region", strict, headerReq(nil), errs.MalformedAuth, false},
		{"no date", v, headerReq(func(r *Request) { r.Header.Del("X-Amz-Date") }), errs.Unauthenticated, false},
		{"bad x-amz-date", v, headerReq(func(r *Request) { r.Header.Set("X-Amz-Date", "2013-05-24T00:00:00Z") }), errs.Unauthenticated, false},
		{"short x-amz-date", v, headerReq(func(r *Request) { r.Header.Set("X-Amz-Date", "20130524T00000Z") }), errs.Unauthenticated, false},
		{"date header", v, headerReq(func(r *Request) {
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", "Fri, 24 May 2013 00:00:00 GMT")
			r.Header.Set("Authorization", Algorithm+" "+goodCred+", SignedHeaders=date;host;range;x-amz-content-sha256, "+goodSig)
		}), errs.Other, false},
		{"unsigned x-amz-meta", v, headerReq(func(r *Request) { r.Header.Set("X-Amz-Meta-A", "b") }), errs.PermissionDenied, false},
		{"unsigned x-amz-date", v, headerReq(func(r *Request) {
			r.Header.Set("Authorization", Algorithm+" "+goodCred+", SignedHeaders=host;range;x-amz-content-sha256, "+goodSig)
		}), errs.PermissionDenied, false},
		{"unsigned content sha256 is fine", v, headerReq(func(r *Request) {
			r.Header.Set("Authorization", Algorithm+" "+goodCred+", SignedHeaders=host;range;x-amz-date, "+goodSig)
		}), errs.Other, false},
		{"session token", v, headerReq(func(r *Request) { r.Header.Set("X-Amz-Security-Token", "t") }), errs.InvalidRequest, false},
		{"bad query escape with header", v, headerReq(func(r *Request) { r.RawQuery = "a=%zz" }), errs.InvalidArgument, false},

		{"presigned ok", v, queryReq(presignQuery), errs.Other, false},
		{"presigned with other params", v, queryReq("x-id=GetObject&" + presignQuery + "&response-content-type=text%2Fplain"), errs.Other, false},
		{"sigv2 query", v, queryReq("AWSAccessKeyId=AKID&Expires=1175139620&Signature=abc"), errs.InvalidRequest, false},
		{"presigned bad escape", v, queryReq(presignQuery + "&a=%zz"), errs.MalformedAuth, true},
		{"presigned missing algorithm", v, queryReq(repl("X-Amz-Algorithm=AWS4-HMAC-SHA256&", "")), errs.MalformedAuth, true},
		{"presigned missing date", v, queryReq(repl("X-Amz-Date=20130524T000000Z&", "")), errs.MalformedAuth, true},
		{"presigned missing expires", v, queryReq(repl("X-Amz-Expires=86400&", "")), errs.MalformedAuth, true},
		{"presigned missing signed headers", v, queryReq(repl("X-Amz-SignedHeaders=host&", "")), errs.MalformedAuth, true},
		{"presigned missing signature", v, queryReq(repl("&X-Amz-Signature=", "&X-Amz-Other=")), errs.MalformedAuth, true},
		{"presigned duplicate date", v, queryReq(presignQuery + "&X-Amz-Date=20130524T000000Z"), errs.MalformedAuth, true},
		{"presigned other algorithm", v, queryReq(repl("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")), errs.MalformedAuth, true},
		{"presigned sigv4a", v, queryReq(repl("AWS4-HMAC-SHA256", AlgorithmV4a)), errs.InvalidRequest, false},
		{"presigned expires 0", v, queryReq(repl("86400", "0")), errs.MalformedAuth, true},
		{"presigned expires -1", v, queryReq(repl("86400", "-1")), errs.MalformedAuth, true},
		{"presigned expires 604800", v, queryReq(repl("86400", "604800")), errs.Other, false},
		{"presigned expires 604801", v, queryReq(repl("86400", "604801")), errs.MalformedAuth, true},
		{"presigned expires huge", v, queryReq(repl("86400", "99999999999999999999")), errs.MalformedAuth, true},
		{"presigned expires text", v, queryReq(repl("86400", "1h")), errs.MalformedAuth, true},
		{"presigned expires empty", v, queryReq(repl("86400", "")), errs.MalformedAuth, true},
		{"presigned expires plus", v, queryReq(repl("86400", "%2B5")), errs.MalformedAuth, true},
		{"presigned bad date", v, queryReq(repl("20130524T000000Z", "20130524T000000")), errs.MalformedAuth, true},
		{"presigned scope date differs", v, queryReq(repl("X-Amz-Date=20130524", "X-Amz-Date=20130525")), errs.MalformedAuth, true},
		{"presigned no host", v, queryReq(repl("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range")), errs.MalformedAuth, true},
		{"presigned strict region", strict, queryReq(presignQuery), errs.MalformedAuth, true},
		{"presigned bad credential", v, queryReq(repl("%2Fs3%2F", "%2Fsqs%2F")), errs.MalformedAuth, true},
		{"presigned content sha256", v, queryReq(presignQuery + "&X-Amz-Content-Sha256=" + EmptySHA256), errs.Other, false},
		{"presigned bad content sha256", v, queryReq(presignQuery + "&X-Amz-Content-Sha256=zz"), errs.InvalidArgument, false},
		{"presigned session token", v, queryReq(presignQuery + "&X-Amz-Security-Token=t"), errs.InvalidRequest, false},
		{"presigned unsigned x-amz header", v, func() *Request {
			r := queryReq(presignQuery)
			r.Header.Set("X-Amz-Acl", "public-read")
			return r
		}(), errs.PermissionDenied, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := c.v.Parse(c.req)
			if c.want == errs.Other {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if a == nil {
					t.Fatal("nil Auth")
				}
				return
			}
			if errs.KindOf(err) != c.want || err == nil {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if e := errs.As(err); c.query != (e.Details["query"] == "true") {
				t.Fatalf("query detail = %q, want %v", e.Details["query"], c.query)
			}
		})
	}
}

func TestParseResults(t *testing.T) {
	v := &Verifier{}
	a, err := v.Parse(queryReq("prefix=x"))
	if err != nil || !a.Anonymous || a.PayloadHash != UnsignedPayload {
		t.Fatalf("anonymous: %+v %v", a, err)
	}
	a, err = v.Parse(queryReq(presignQuery))
	if err != nil || !a.Presigned || a.PayloadHash != UnsignedPayload || a.Expires != 86400*time.Second ||
		a.Credential.AccessKeyID != "AKIAIOSFODNN7EXAMPLE" || a.AmzDate != "20130524T000000Z" {
		t.Fatalf("presigned: %+v %v", a, err)
	}
	a, err = v.Parse(headerReq(nil))
	if err != nil || a.Presigned || a.PayloadHash != EmptySHA256 || a.Credential.Scope() != "20130524/us-east-1/s3/aws4_request" ||
		!a.Time.Equal(time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)) || a.Streaming() {
		t.Fatalf("header: %+v %v", a, err)
	}
	// The strict-region error names the expected region.
	_, err = (&Verifier{Region: "eu-west-1", StrictRegion: true}).Parse(headerReq(nil))
	if e := errs.As(err); e == nil || e.Details["region"] != "eu-west-1" {
		t.Fatalf("strict region: %v", err)
	}
}

func TestCanonicalURIs(t *testing.T) {
	cases := map[string][]string{
		"":               {"/"},
		"/":              {"/"},
		"/a%20b":         {"/a%20b"},
		"/a+b":           {"/a%2Bb", "/a+b"},
		"/a%2Bb":         {"/a%2Bb"},
		"/a%2fb":         {"/a/b", "/a%2fb"},
		"/a//b/../c/./d": {"/a//b/../c/./d"},
		"/%zz":           {"/%zz"},
		"/ü":             {"/%C3%BC", "/ü"},
		"/a%7Eb*":        {"/a~b%2A", "/a%7Eb*"},
	}
	for in, want := range cases {
		if got := CanonicalURIs(in); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("CanonicalURIs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	cases := map[string]string{
		"":                       "",
		"a=1&b=2":                "a=1&b=2",
		"b=2&a=1":                "a=1&b=2",
		"a+b=c+d":                "a%2Bb=c%2Bd", // a raw "+" is a plus, not a space
		"a%20b=c%20d":            "a%20b=c%20d",
		"versions":               "versions=",
		"a=&a=1&a=":              "a=&a=&a=1",
		"x=1&&y=2&":              "x=1&y=2",
		"k=%7e%2a":               "k=~%2A",
		"a=b=c":                  "a=b%3Dc",
		"semi=a;b":               "semi=a%3Bb",
		"a%2Fb=1&a-b=2":          "a%2Fb=1&a-b=2", // sorted after encoding
		"X-Amz-Signature=abc&z=": "X-Amz-Signature=abc&z=",
	}
	for in, want := range cases {
		got, err := CanonicalQuery(in, false)
		if err != nil || got != want {
			t.Errorf("CanonicalQuery(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, _ := CanonicalQuery("X-Amz-Signature=abc&z=", true); got != "z=" {
		t.Errorf("presigned canonical query %q", got)
	}
	if _, err := CanonicalQuery("a=%zz", false); err == nil {
		t.Error("bad escape accepted")
	}
}

func TestTrimAll(t *testing.T) {
	for in, want := range map[string]string{
		"a":              "a",
		"  a  ":          "a",
		"a   b    c":     "a b c",
		"\t a  \t  b \t": "a \t b",
		`"a   b   c"`:    `"a b c"`,
	} {
		if got := trimAll(in); got != want {
			t.Errorf("trimAll(%q) = %q, want %q", in, got, want)
		}
	}
}
