package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/coffer-project/coffer/services/errs"
)

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// signedAt returns a request header-signed by the AWS SDK at signing time ts.
func signedAt(t *testing.T, ts time.Time) *Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9000/bucket/key", nil)
	req.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, EmptySHA256, Service, testRegion, ts); err != nil {
		t.Fatal(err)
	}
	return &Request{Method: req.Method, RawPath: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery, Host: req.URL.Host, Header: req.Header}
}

// presignedAt returns a request presigned by the AWS SDK at ts for expires seconds.
func presignedAt(t *testing.T, ts time.Time, expires string) *Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9000/bucket/key?X-Amz-Expires="+expires, nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, UnsignedPayload, Service, testRegion, ts)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := http.NewRequest(http.MethodGet, u, nil)
	return &Request{Method: "GET", RawPath: out.URL.EscapedPath(), RawQuery: out.URL.RawQuery, Host: out.URL.Host, Header: http.Header{}}
}

func verifyAt(req *Request, now time.Time) error {
	_, err := verifyWith(req, now)
	return err
}

func TestHeaderSkewBoundary(t *testing.T) {
	req := signedAt(t, t0)
	for _, c := range []struct {
		now  time.Time
		want errs.Kind
	}{
		{t0, errs.Other},
		{t0.Add(15 * time.Minute), errs.Other},
		{t0.Add(-15 * time.Minute), errs.Other},
		{t0.Add(15*time.Minute + time.Second), errs.RequestTimeTooSkewed},
		{t0.Add(-15*time.Minute - time.Second), errs.RequestTimeTooSkewed},
		{t0.Add(14*time.Minute + 59*time.Second), errs.Other},
		{t0.Add(-14*time.Minute - 59*time.Second), errs.Other},
	} {
		err := verifyAt(req, c.now)
		if c.want == errs.Other && err != nil || c.want != errs.Other && errs.KindOf(err) != c.want {
			t.Errorf("now=t0%+v: got %v, want %v", c.now.Sub(t0), err, c.want)
		}
	}
	err := verifyAt(req, t0.Add(time.Hour))
	e := errs.As(err)
	if e == nil || e.Details["request_time"] != t0.Format(TimeFormat) || e.Details["server_time"] != t0.Add(time.Hour).Format(time.RFC3339) ||
		e.Details["max_allowed_skew_ms"] != "900000" {
		t.Fatalf("skew details: %v", err)
	}
}

func TestPresignWindowBoundary(t *testing.T) {
	req := presignedAt(t, t0, "60")
	for _, c := range []struct {
		now  time.Time
		want errs.Kind
	}{
		{t0, errs.Other},
		{t0.Add(60 * time.Second), errs.Other},
		{t0.Add(61 * time.Second), errs.Expired},
		{t0.Add(59 * time.Second), errs.Other},
		{t0.Add(-15 * time.Minute), errs.Other},
		{t0.Add(-15*time.Minute - time.Second), errs.Expired},
		{t0.Add(-15*time.Minute + time.Second), errs.Other},
	} {
		err := verifyAt(req, c.now)
		if c.want == errs.Other && err != nil || c.want != errs.Other && errs.KindOf(err) != c.want {
			t.Errorf("now=t0%+v: got %v, want %v", c.now.Sub(t0), err, c.want)
		}
	}
	if err := verifyAt(req, t0.Add(time.Hour)); errs.Message(err) != "Request has expired" || errs.As(err).Details["x_amz_expires"] != "60" {
		t.Errorf("expired: %v", err)
	}
	if err := verifyAt(req, t0.Add(-time.Hour)); errs.Message(err) != "Request is not valid yet" {
		t.Errorf("not yet valid: %v", err)
	}
	// A week is the longest validity; it is honoured to the second.
	week := presignedAt(t, t0, "604800")
	if err := verifyAt(week, t0.Add(604800*time.Second)); err != nil {
		t.Errorf("week: %v", err)
	}
	if err := verifyAt(week, t0.Add(604801*time.Second)); !errs.Is(err, errs.Expired) {
		t.Errorf("week+1s: %v", err)
	}
}

func TestSignatureMismatchDetails(t *testing.T) {
	req := signedAt(t, t0)
	req.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
	v := &Verifier{Now: func() time.Time { return t0 }}
	a, err := v.Parse(req)
	if err != nil {
		t.Fatal(err)
	}
	err = v.Verify(req, a, SigningKey("wrong secret", a.Credential))
	e := errs.As(err)
	if e == nil || e.Kind != errs.SignatureMismatch {
		t.Fatalf("got %v", err)
	}
	canon := e.Details["canonical_request"]
	if !strings.HasPrefix(canon, "GET\n/bucket/key\n\n") || !strings.HasSuffix(canon, EmptySHA256) {
		t.Errorf("canonical_request %q", canon)
	}
	sum := sha256.Sum256([]byte(canon))
	if want := StringToSign(a.AmzDate, a.Credential.Scope(), canon); e.Details["string_to_sign"] != want ||
		!strings.HasSuffix(want, hex.EncodeToString(sum[:])) {
		t.Errorf("string_to_sign %q", e.Details["string_to_sign"])
	}
	if e.Details["access_key_id"] != testKeyID || e.Details["signature_provided"] != a.Signature {
		t.Errorf("details %v", e.Details)
	}
	// A signed header missing from the request is a mismatch.
	m := cloneRequest(req)
	m.Header.Set("Authorization", strings.Replace(m.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=content-md5;host;", 1))
	if a, err = v.Parse(m); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(m, a, SigningKey(testSecret, a.Credential)); !errs.Is(err, errs.SignatureMismatch) || !strings.Contains(errs.Message(err), "content-md5") {
		t.Errorf("missing signed header: %v", err)
	}
	if err := v.Verify(req, &Auth{Anonymous: true}, nil); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("anonymous verify: %v", err)
	}
}

func TestMismatchRedactsSSECKey(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9000/bucket/key", nil)
	req.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
	req.Header.Set("X-Amz-Server-Side-Encryption-Customer-Key", "c2VjcmV0LWtleS1tYXRlcmlhbA==")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, EmptySHA256, Service, testRegion, t0); err != nil {
		t.Fatal(err)
	}
	r := &Request{Method: "GET", RawPath: "/bucket/key", Host: req.URL.Host, Header: req.Header}
	v := &Verifier{Now: func() time.Time { return t0 }}
	a, err := v.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	err = v.Verify(r, a, SigningKey("other", a.Credential))
	if d := errs.As(err).Details["canonical_request"]; strings.Contains(d, "c2VjcmV0") || !strings.Contains(d, "customer-key:<redacted>") {
		t.Fatalf("canonical_request not redacted: %q", d)
	}
}

// The AWS sigv4-streaming example: the seed request verifies, and the
// documented chunk algorithm over the values Auth exposes reproduces AWS's
// published chunk signatures.
func TestStreamingExampleChunkChain(t *testing.T) {
	var v vector
	for _, x := range loadVectors(t) {
		if x.name == "s3-streaming-put-object" {
			v = x
		}
	}
	ver := &Verifier{Now: func() time.Time { return time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC) }}
	a, err := ver.Parse(v.req)
	if err != nil {
		t.Fatal(err)
	}
	key := SigningKey(v.secret, a.Credential)
	if err := ver.Verify(v.req, a, key); err != nil {
		t.Fatal(err)
	}
	if !a.Streaming() {
		t.Fatal("not streaming")
	}
	prev := a.Signature
	for i, c := range []struct {
		data []byte
		sig  string
	}{
		{bytes.Repeat([]byte("a"), 65536), "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"},
		{bytes.Repeat([]byte("a"), 1024), "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"},
		{nil, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"},
	} {
		sum := sha256.Sum256(c.data)
		sts := ChunkAlgorithm + "\n" + a.AmzDate + "\n" + a.Credential.Scope() + "\n" + prev + "\n" + EmptySHA256 + "\n" + hex.EncodeToString(sum[:])
		if got := Sign(key, sts); got != c.sig {
			t.Fatalf("chunk %d: %s, want %s", i, got, c.sig)
		}
		prev = c.sig
	}
}
