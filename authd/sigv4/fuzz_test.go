package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/coffer-project/coffer/services/errs"
)

// FuzzSigV4Authorization feeds Authorization header variants (seed corpus in
// testdata/fuzz/FuzzSigV4Authorization). Properties: no panic; every refusal
// is MalformedAuth or InvalidRequest; an accepted header is well-formed and
// round-trips through Authorization.String; a whole request carrying it
// parses and verifies without panicking and never verifies by accident.
func FuzzSigV4Authorization(f *testing.F) {
	for _, s := range []string{
		Algorithm + " " + goodCred + ", " + goodSH + ", " + goodSig,
		Algorithm + " " + goodCred + "," + goodSH + "," + goodSig,
		Algorithm + " " + goodSig + " , " + goodSH + " , " + goodCred,
		Algorithm + " " + goodCred + ", " + goodCred + ", " + goodSH + ", " + goodSig,
		Algorithm + " " + goodCred + ", SignedHeaders=host;Host, " + goodSig,
		"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
		AlgorithmV4a + " " + goodCred,
		Algorithm + " Credential=a/b/c/d/e, SignedHeaders=, Signature=",
		"", ",", "=", Algorithm + " ,,,",
	} {
		f.Add(s)
	}
	v := &Verifier{Region: "us-east-1", Now: func() time.Time { return time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC) }}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if err != nil {
			if k := errs.KindOf(err); k != errs.MalformedAuth && k != errs.InvalidRequest {
				t.Fatalf("refusal of kind %v: %v", k, err)
			}
		} else {
			checkWellFormed(t, a)
			b, err := ParseAuthorization(a.String())
			if err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip: %+v → %q → %+v, %v", a, a.String(), b, err)
			}
		}
		req := headerReq(func(r *Request) { r.Header.Set("Authorization", h) })
		pa, err := v.Parse(req)
		if err != nil {
			return
		}
		if pa.Anonymous {
			t.Fatalf("a request with an Authorization header parsed as anonymous")
		}
		if err := v.Verify(req, pa, SigningKey("not the secret", pa.Credential)); err == nil {
			t.Fatalf("verified with a wrong key")
		}
	})
}

func checkWellFormed(t *testing.T, a Authorization) {
	t.Helper()
	c := a.Credential
	if !isLowerHex(a.Signature, 64) || c.Service != Service || !printable(c.AccessKeyID, 128) ||
		!printable(c.Region, 64) || strings.Contains(c.AccessKeyID+c.Region, "/") {
		t.Fatalf("accepted malformed %+v", a)
	}
	if _, ok := parseFixed(DateFormat, c.Date); !ok {
		t.Fatalf("accepted date %q", c.Date)
	}
	host := false
	for i, n := range a.SignedHeaders {
		if n == "" || n != strings.ToLower(n) || i > 0 && a.SignedHeaders[i-1] >= n {
			t.Fatalf("accepted signed headers %q", a.SignedHeaders)
		}
		host = host || n == "host"
	}
	if !host {
		t.Fatalf("accepted signed headers without host %q", a.SignedHeaders)
	}
}

// FuzzSigV4Differential signs random key/query/header combinations with the
// aws-sdk-go-v2 signer (S3 mode) and checks that our verifier agrees, and that
// changing a signed header byte is a SignatureMismatch.
func FuzzSigV4Differential(f *testing.F) {
	for i, k := range diffKeys {
		f.Add(k, diffQueries[i%len(diffQueries)], "  some   value ")
	}
	f.Add("a\x00b", "a=%00", "\tv\t")
	f.Add("\xff\xfe", "%FF=%FE", "ü")
	f.Fuzz(func(t *testing.T, key, query, value string) {
		if len(key) > 512 || len(query) > 512 || len(value) > 512 {
			t.Skip()
		}
		params, err := parseQuery(query)
		if err != nil {
			t.Skip()
		}
		var q []string
		for _, p := range params {
			if strings.HasPrefix(p.name, "X-Amz-") || p.name == "AWSAccessKeyId" || p.name == "Signature" {
				continue
			}
			q = append(q, URIEncode(p.name, false)+"="+URIEncode(p.value, false))
		}
		u := &url.URL{Scheme: "http", Host: "127.0.0.1:9000", Path: "/bucket/" + key, RawPath: "/bucket/" + URIEncode(key, true), RawQuery: strings.Join(q, "&")}
		req := &http.Request{Method: http.MethodPut, URL: u, Host: u.Host, Header: http.Header{}}
		req.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
		req.Header["X-Amz-Meta-Fuzz"] = []string{value}
		ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		err = v4.NewSigner().SignHTTP(context.Background(), creds, req, UnsignedPayload, Service, testRegion, ts,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err != nil {
			t.Skip()
		}
		r := &Request{Method: req.Method, RawPath: u.EscapedPath(), RawQuery: u.RawQuery, Host: u.Host, Header: req.Header}
		if err := verifyAt(r, ts); err != nil {
			t.Fatalf("SDK-signed request refused: %v\npath %q query %q", err, r.RawPath, r.RawQuery)
		}
		m := cloneRequest(r)
		m.Header["X-Amz-Meta-Fuzz"] = []string{value + "x"}
		if err := verifyAt(m, ts); !errs.Is(err, errs.SignatureMismatch) {
			t.Fatalf("mutated header: %v", err)
		}
	})
}

// FuzzPresignedQuery signs presigned URLs whose X-Amz-Expires and X-Amz-Date
// are arbitrary strings (with this package's signer, so the signature is
// right for whatever was sent) and verifies them at an arbitrary time. The
// oracle is reliability.md §3.2: accepted iff X-Amz-Expires is a whole number
// of seconds in 1…604800, X-Amz-Date is a valid ISO 8601 basic time whose
// date is the credential's, and t0 − 15 min ≤ now ≤ t0 + expires. Refusals
// are MalformedAuth (query) or Expired; nothing panics.
func FuzzPresignedQuery(f *testing.F) {
	for _, s := range []struct {
		expires, date string
		now           int64
	}{
		{"60", "20260314T150926Z", 0}, {"60", "20260314T150926Z", 61}, {"0", "20260314T150926Z", 0},
		{"-1", "20260314T150926Z", 0}, {"604800", "20260314T150926Z", 604800}, {"604801", "20260314T150926Z", 0},
		{"99999999999999999999", "20260314T150926Z", 0}, {"1h", "20260314T150926Z", 0}, {"+5", "20260314T150926Z", 0},
		{"60", "20260314T150926", 0}, {"60", "20260314T250926Z", 0}, {"60", "20260314T150926Z", -901},
	} {
		f.Add(s.expires, s.date, s.now)
	}
	v := &Verifier{Region: testRegion}
	f.Fuzz(func(t *testing.T, expires, date string, nowOffset int64) {
		if len(expires) > 64 || len(date) > 64 || nowOffset > 1<<40 || nowOffset < -(1<<40) {
			t.Skip()
		}
		scopeDate := date
		if len(scopeDate) >= 8 {
			scopeDate = scopeDate[:8]
		}
		cred := Credential{AccessKeyID: testKeyID, Date: scopeDate, Region: testRegion, Service: Service}
		q := QueryAlgorithm + "=" + Algorithm +
			"&" + QueryCredential + "=" + URIEncode(cred.String(), false) +
			"&" + QueryDate + "=" + URIEncode(date, false) +
			"&" + QueryExpires + "=" + URIEncode(expires, false) +
			"&" + QuerySignedHeaders + "=host"
		req := &Request{Method: http.MethodGet, RawPath: "/bucket/key", RawQuery: q, Host: "h", Header: http.Header{}}
		canon, err := CanonicalQuery(q, true)
		if err != nil {
			t.Skip()
		}
		creq := CanonicalRequest(http.MethodGet, "/bucket/key", canon, "host:h\n", []string{"host"}, UnsignedPayload)
		sig := Sign(SigningKey(testSecret, cred), StringToSign(date, cred.Scope(), creq))
		req.RawQuery += "&" + QuerySignature + "=" + sig

		t0, dateOK := parseFixed(TimeFormat, date)
		now := t0.Add(time.Duration(nowOffset) * time.Second)
		if !dateOK {
			now = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC).Add(time.Duration(nowOffset) * time.Second)
		}
		v.Now = func() time.Time { return now }
		a, err := v.Parse(req)
		if err == nil {
			err = v.Verify(req, a, SigningKey(testSecret, a.Credential))
		}
		n, perr := strconv.ParseUint(expires, 10, 32)
		valid := dateOK && len(date) >= 8 && perr == nil && n >= 1 && n <= MaxPresignExpires &&
			!now.Before(t0.Add(-DefaultMaxSkew)) && !now.After(t0.Add(time.Duration(n)*time.Second))
		switch {
		case valid && err != nil:
			t.Fatalf("expires %q date %q now %+ds: refused: %v", expires, date, nowOffset, err)
		case !valid && err == nil:
			t.Fatalf("expires %q date %q now %+ds: accepted", expires, date, nowOffset)
		case err != nil && !errs.Is(err, errs.MalformedAuth) && !errs.Is(err, errs.Expired):
			t.Fatalf("expires %q date %q: refusal of kind %v: %v", expires, date, errs.KindOf(err), err)
		}
	})
}
