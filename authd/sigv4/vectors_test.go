package sigv4

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

// vector is one signed request from testdata/vectors: AWS's published SigV4
// test suite (service "service", no x-amz-content-sha256) and the S3 API
// reference examples (service "s3", verified end to end).
type vector struct {
	name, secret, expect string
	req                  *Request
	body                 string
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	files, err := filepath.Glob("testdata/vectors/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	var out []vector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v := vector{name: strings.TrimSuffix(filepath.Base(f), ".txt"), req: &Request{Header: http.Header{}}}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		state := 0 // 0 comments, 1 request line, 2 headers, 3 body
		var body []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case state == 0 && strings.HasPrefix(line, "# "):
				k, val, _ := strings.Cut(line[2:], ": ")
				switch k {
				case "secret":
					v.secret = val
				case "expect":
					v.expect = val
				}
				continue
			case state == 0:
				state = 1
			}
			switch state {
			case 1:
				parts := strings.SplitN(line, " ", 2)
				target := strings.TrimSuffix(parts[1], " HTTP/1.1")
				v.req.Method = parts[0]
				v.req.RawPath, v.req.RawQuery, _ = strings.Cut(target, "?")
				state = 2
			case 2:
				if line == "" {
					state = 3
					continue
				}
				name, val, _ := strings.Cut(line, ":")
				val = strings.Trim(val, " \t") // as net/textproto does
				if strings.EqualFold(name, "host") {
					v.req.Host = val
					continue
				}
				v.req.Header.Add(name, val)
			case 3:
				body = append(body, line)
			}
		}
		v.body = strings.Join(body, "\n")
		out = append(out, v)
	}
	return out
}

// verifyGeneric checks a non-S3 vector with the building blocks: the suite
// signs sha256(body) without sending x-amz-content-sha256.
func verifyGeneric(t *testing.T, v vector) bool {
	t.Helper()
	authz := v.req.Header.Get("Authorization")
	cred := between(authz, "Credential=", ",")
	signed := strings.Split(between(authz, "SignedHeaders=", ","), ";")
	sig := authz[strings.Index(authz, "Signature=")+len("Signature="):]
	parts := strings.Split(cred, "/")
	key := DeriveSigningKey(v.secret, parts[1], parts[2], parts[3])
	headers, missing := canonicalHeaders(lowerHeaders(v.req.Header), v.req.Host, signed)
	if missing != "" {
		t.Fatalf("missing %s", missing)
	}
	query, err := CanonicalQuery(v.req.RawQuery, false)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(v.body))
	amzDate := v.req.Header.Get("X-Amz-Date")
	for _, uri := range CanonicalURIs(v.req.RawPath) {
		canon := CanonicalRequest(v.req.Method, uri, query, headers, signed, hex.EncodeToString(sum[:]))
		if Sign(key, StringToSign(amzDate, strings.Join(parts[1:], "/"), canon)) == sig {
			return true
		}
	}
	return false
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

func TestPublishedVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			var ok bool
			if strings.Contains(v.req.Header.Get("Authorization")+v.req.RawQuery, "/s3/") || strings.Contains(v.req.RawQuery, "%2Fs3%2F") {
				ok = verifyS3(t, v)
			} else {
				ok = verifyGeneric(t, v)
			}
			if want := v.expect == "ok"; ok != want {
				t.Fatalf("verified=%v, want %v", ok, want)
			}
		})
	}
}

// verifyS3 runs the full Parse + Verify path at the request's own time.
func verifyS3(t *testing.T, v vector) bool {
	t.Helper()
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	ver := &Verifier{Region: "us-east-1", Now: func() time.Time { return at }}
	a, err := ver.Parse(v.req)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	err = ver.Verify(v.req, a, SigningKey(v.secret, a.Credential))
	if err != nil && !errs.Is(err, errs.SignatureMismatch) {
		t.Fatalf("verify: %v", err)
	}
	return err == nil
}

func TestCanonicalRequestMatchesSuite(t *testing.T) {
	// get-vanilla-query-order-key.creq and post-x-www-form-urlencoded-parameters.creq.
	q, err := CanonicalQuery("Param1=value2&Param1=Value1", false)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string][]string{"x-amz-date": {"20150830T123600Z"}}
	block, _ := canonicalHeaders(h, "example.amazonaws.com", []string{"host", "x-amz-date"})
	got := CanonicalRequest("GET", "/", q, block, []string{"host", "x-amz-date"}, EmptySHA256)
	want := "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + EmptySHA256
	if got != want {
		t.Fatalf("canonical request:\n%s\nwant:\n%s", got, want)
	}
	sts := StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", got)
	if want := "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89"; sts != want {
		t.Fatalf("string to sign:\n%s\nwant:\n%s", sts, want)
	}

	h = map[string][]string{"x-amz-date": {"20150830T123600Z"}, "content-type": {"application/x-www-form-urlencoded; charset=utf8"}}
	signed := []string{"content-type", "host", "x-amz-date"}
	block, _ = canonicalHeaders(h, "example.amazonaws.com", signed)
	sum := sha256.Sum256([]byte("Param1=value1"))
	got = CanonicalRequest("POST", "/", "", block, signed, hex.EncodeToString(sum[:]))
	want = "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
	if got != want {
		t.Fatalf("canonical request:\n%s\nwant:\n%s", got, want)
	}
	sts = StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", got)
	if !strings.HasSuffix(sts, "2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c") {
		t.Fatalf("string to sign %q", sts)
	}
}
