package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

const (
	testKeyID  = "00a1b2c3d4e5f60000000001"
	testSecret = "K00s3cr3t+/with spaces%~*äöü"
	testRegion = "us-east-1"
)

// fromHTTP builds a Request the way the gateway does from a server-side
// *http.Request.
func fromHTTP(r *http.Request) *Request {
	return &Request{
		Method:   r.Method,
		RawPath:  r.URL.EscapedPath(),
		RawQuery: r.URL.RawQuery,
		Host:     r.Host,
		Header:   r.Header.Clone(),
	}
}

// verifyWith parses and verifies req with the test secret at now.
func verifyWith(req *Request, now time.Time) (*Auth, error) {
	v := &Verifier{Region: testRegion, Now: func() time.Time { return now }}
	a, err := v.Parse(req)
	if err != nil {
		return nil, err
	}
	if a.Anonymous {
		return a, errors.New("anonymous")
	}
	if a.Credential.AccessKeyID != testKeyID {
		return a, errs.Errorf(errs.UnknownAccessKey, "test", "unknown key %q", a.Credential.AccessKeyID)
	}
	return a, v.Verify(req, a, SigningKey(testSecret, a.Credential))
}

// verifyServer is an HTTP server that verifies every request it receives
// (header, presigned and aws-chunked bodies) and records what it saw.
type verifyServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*Request
	errs []error
}

func newVerifyServer(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, body []byte)) *verifyServer {
	return startVerifyServer(t, false, respond)
}

// startVerifyServer starts the server, over TLS when tls is set (the AWS
// SDKs only send aws-chunked trailers over TLS).
func startVerifyServer(t *testing.T, tls bool, respond func(w http.ResponseWriter, r *http.Request, body []byte)) *verifyServer {
	t.Helper()
	s := &verifyServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := fromHTTP(r)
		a, err := verifyWith(req, time.Now())
		var body []byte
		if err == nil {
			body, err = readBody(r, a, SigningKey(testSecret, a.Credential))
		}
		s.mu.Lock()
		s.seen = append(s.seen, req)
		s.errs = append(s.errs, err)
		s.mu.Unlock()
		if err != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<Error><Code>AccessDenied</Code><Message>%s</Message></Error>", xmlEscape(err.Error()))
			return
		}
		respond(w, r, body)
	}))
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// results returns and clears what the server saw.
func (s *verifyServer) results() ([]*Request, []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen, es := s.seen, s.errs
	s.seen, s.errs = nil, nil
	return seen, es
}

// readBody reads the body, decoding and verifying aws-chunked framing with
// the values Auth documents for the gateway (doc.go). It is a test oracle
// for those documented values, not the gateway's reader.
func readBody(r *http.Request, a *Auth, key []byte) ([]byte, error) {
	switch a.PayloadHash {
	case StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedPayloadTrailer:
	default:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if isLowerHex(a.PayloadHash, 64) {
			if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != a.PayloadHash {
				return nil, errors.New("payload hash mismatch")
			}
		}
		return body, nil
	}
	signed := a.PayloadHash != StreamingUnsignedPayloadTrailer
	br := bufio.NewReader(r.Body)
	prev := a.Signature
	var out []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("chunk header: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		sizeHex, ext, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("chunk size %q", sizeHex)
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, err
		}
		if signed {
			sum := sha256.Sum256(data)
			sts := ChunkAlgorithm + "\n" + a.AmzDate + "\n" + a.Credential.Scope() + "\n" + prev + "\n" +
				EmptySHA256 + "\n" + hex.EncodeToString(sum[:])
			want := Sign(key, sts)
			if !hmac.Equal([]byte("chunk-signature="+want), []byte(ext)) {
				return nil, fmt.Errorf("chunk signature mismatch")
			}
			prev = want
		}
		out = append(out, data...)
		if size == 0 {
			break
		}
		if _, err := br.Discard(2); err != nil {
			return nil, err
		}
	}
	// Trailer lines up to EOF. Empty lines are skipped: minio-go ends its
	// trailer with "\n\r\n" where AWS documents "\r\n".
	rest, err := io.ReadAll(br)
	if err != nil {
		return nil, err
	}
	var trailer strings.Builder
	var trailerSig string
	for _, line := range strings.Split(string(rest), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if v, ok := strings.CutPrefix(line, "x-amz-trailer-signature:"); ok {
			trailerSig = v
		} else {
			trailer.WriteString(line + "\n")
		}
	}
	if a.PayloadHash == StreamingPayloadTrailer {
		sum := sha256.Sum256([]byte(trailer.String()))
		sts := TrailerAlgorithm + "\n" + a.AmzDate + "\n" + a.Credential.Scope() + "\n" + prev + "\n" + hex.EncodeToString(sum[:])
		if !hmac.Equal([]byte(Sign(key, sts)), []byte(trailerSig)) {
			return nil, fmt.Errorf("trailer signature mismatch")
		}
	}
	return out, nil
}

// mutateByte changes s[i] to a different byte of the same class (hex digit,
// letter, digit, or 'x'), so the result stays syntactically plausible.
func mutateByte(s string, i int, hexOnly bool) string {
	c := s[i]
	var n byte
	switch {
	case hexOnly && c >= '0' && c <= '8', hexOnly && c >= 'a' && c <= 'e', hexOnly && c >= 'A' && c <= 'E':
		n = c + 1
	case hexOnly && c == '9':
		n = 'a'
	case hexOnly && (c == 'f' || c == 'F'):
		n = '0'
	case c >= 'a' && c < 'z', c >= 'A' && c < 'Z', c >= '0' && c < '9':
		n = c + 1
	case c == 'z':
		n = 'a'
	case c == 'Z':
		n = 'A'
	case c == '9':
		n = '0'
	default:
		n = 'x'
	}
	return s[:i] + string(n) + s[i+1:]
}

func cloneRequest(r *Request) *Request {
	c := *r
	c.Header = r.Header.Clone()
	return &c
}

// positions returns every index of s, or a spread sample of at most 24 for
// long strings (keeps the mutation tests fast).
func positions(s string) []int {
	var out []int
	step := 1
	if len(s) > 24 {
		step = len(s) / 24
	}
	for i := 0; i < len(s); i += step {
		out = append(out, i)
	}
	if len(s) > 0 && out[len(out)-1] != len(s)-1 {
		out = append(out, len(s)-1)
	}
	return out
}

// checkMutations asserts that the request verifies and that every
// single-byte change of signed material is a SignatureMismatch.
func checkMutations(t *testing.T, req *Request, now time.Time) {
	t.Helper()
	a, err := verifyWith(req, now)
	if err != nil {
		t.Fatalf("unmutated request does not verify: %v", err)
	}
	expectMismatch := func(what string, m *Request) {
		t.Helper()
		if _, err := verifyWith(m, now); !errs.Is(err, errs.SignatureMismatch) {
			t.Errorf("mutating %s: got %v, want SignatureMismatch", what, err)
		}
	}
	for _, i := range positions(req.Method) {
		m := cloneRequest(req)
		m.Method = mutateByte(m.Method, i, false)
		expectMismatch("method", m)
	}
	for _, i := range positions(req.RawPath) {
		m := cloneRequest(req)
		m.RawPath = mutateByte(m.RawPath, i, false)
		expectMismatch(fmt.Sprintf("path %q at %d", req.RawPath, i), m)
	}
	for _, i := range positions(req.Host) {
		m := cloneRequest(req)
		m.Host = mutateByte(m.Host, i, false)
		expectMismatch("host", m)
	}
	// Query: every byte except those of the authentication parameters
	// (which are checked for syntax and time before the signature).
	for _, i := range positions(req.RawQuery) {
		if inAuthParam(req.RawQuery, i) {
			continue
		}
		m := cloneRequest(req)
		m.RawQuery = mutateByte(m.RawQuery, i, inEscape(req.RawQuery, i))
		expectMismatch(fmt.Sprintf("query %q at %d", req.RawQuery, i), m)
	}
	for _, name := range a.SignedHeaders {
		if name == headerHost {
			continue
		}
		key := http.CanonicalHeaderKey(name)
		vs := req.Header.Values(key)
		for j, v := range vs {
			for _, i := range positions(v) {
				if name == headerAmzDate && i != len(v)-2 {
					continue // other date bytes move the request out of the window or scope
				}
				if name == headerContentSHA256 && !isLowerHex(v, 64) {
					continue // special values are checked before the signature
				}
				m := cloneRequest(req)
				nv := append([]string(nil), vs...)
				nv[j] = mutateByte(v, i, name == headerContentSHA256)
				if strings.TrimSpace(nv[j]) == strings.TrimSpace(v) || trimAll(nv[j]) == trimAll(v) {
					continue
				}
				m.Header[key] = nv
				expectMismatch(fmt.Sprintf("header %s=%q at %d", name, v, i), m)
			}
		}
		m := cloneRequest(req)
		m.Header.Del(key)
		if name != headerAmzDate && name != headerContentSHA256 {
			expectMismatch("removing header "+name, m)
		}
	}
	if !a.Presigned && isLowerHex(a.PayloadHash, 64) {
		m := cloneRequest(req)
		m.Header.Set("X-Amz-Content-Sha256", mutateByte(a.PayloadHash, 0, true))
		expectMismatch("payload hash", m)
	}
	for _, i := range positions(a.Signature) {
		m := cloneRequest(req)
		if a.Presigned {
			m.RawQuery = strings.Replace(m.RawQuery, a.Signature, mutateByte(a.Signature, i, true), 1)
		} else {
			m.Header.Set("Authorization", strings.Replace(m.Header.Get("Authorization"), a.Signature, mutateByte(a.Signature, i, true), 1))
		}
		expectMismatch("signature", m)
	}
	// An unsigned x-amz-* header added on the way is refused.
	m := cloneRequest(req)
	m.Header.Set("X-Amz-Acl", "public-read")
	if !contains(a.SignedHeaders, "x-amz-acl") {
		if _, err := verifyWith(m, now); !errs.Is(err, errs.PermissionDenied) {
			t.Errorf("unsigned x-amz-acl: got %v, want PermissionDenied", err)
		}
	}
}

// inEscape reports whether byte i of s is a hex digit of a %XX escape.
func inEscape(s string, i int) bool {
	return i >= 1 && s[i-1] == '%' || i >= 2 && s[i-2] == '%'
}

// inAuthParam reports whether byte i of a raw query belongs to an
// X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/Signature parameter.
func inAuthParam(raw string, i int) bool {
	if raw[i] == '&' {
		return true // merging two parameters may swallow an authentication one
	}
	off := 0
	for _, seg := range strings.Split(raw, "&") {
		if i < off+len(seg) {
			for _, p := range []string{QueryAlgorithm, QueryCredential, QueryDate, QueryExpires, QuerySignedHeaders, QuerySignature} {
				if strings.HasPrefix(seg, p+"=") {
					return true
				}
			}
			return false
		}
		off += len(seg) + 1
	}
	return false
}
