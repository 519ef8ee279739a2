package sigv4

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

const opParse = "sigv4.Parse"

// Authorization is a parsed Authorization header.
type Authorization struct {
	Credential    Credential
	SignedHeaders []string
	Signature     string
}

// String renders the header in the form the AWS SDKs send.
func (a Authorization) String() string {
	return Algorithm + " Credential=" + a.Credential.String() + ", SignedHeaders=" +
		strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
}

// malformed builds a MalformedAuth error; for the query variant it sets the
// detail query="true" so the edge answers AuthorizationQueryParametersError
// instead of AuthorizationHeaderMalformed.
func malformed(query bool, format string, args ...any) *errs.Error {
	e := errs.Errorf(errs.MalformedAuth, opParse, format, args...)
	if query {
		e.WithDetail("query", "true")
	}
	return e
}

func sigV2Refused() *errs.Error {
	return errs.Errorf(errs.InvalidRequest, opParse, "Please use AWS4-HMAC-SHA256.")
}

func sigV4aRefused() *errs.Error {
	return errs.Errorf(errs.InvalidRequest, opParse, "SigV4a (AWS4-ECDSA-P256-SHA256) is not supported; please use AWS4-HMAC-SHA256.")
}

// ParseAuthorization parses an Authorization header value strictly:
//
//	AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/s3/aws4_request, SignedHeaders=<a;b;host>, Signature=<64 hex>
//
// Components may be separated by "," or ", " (spaces around commas are
// ignored) and may come in any order, but each must appear exactly once and
// nothing else may appear. SignedHeaders must be lower case, sorted, without
// duplicates, and include host. Signature V2 ("AWS id:sig") and SigV4a are
// refused with InvalidRequest; everything else that does not fit is
// MalformedAuth.
func ParseAuthorization(h string) (Authorization, error) {
	var out Authorization
	alg, rest, _ := strings.Cut(h, " ")
	switch alg {
	case Algorithm:
	case "AWS":
		return out, sigV2Refused()
	case AlgorithmV4a:
		return out, sigV4aRefused()
	default:
		return out, malformed(false, "unsupported authorization type; expected %s", Algorithm)
	}
	var seen [3]bool
	for _, part := range strings.Split(strings.TrimLeft(rest, " "), ",") {
		part = strings.Trim(part, " ")
		name, value, ok := strings.Cut(part, "=")
		if !ok || value == "" {
			return out, malformed(false, "the authorization header is malformed: expected Credential=…, SignedHeaders=…, Signature=…")
		}
		var i int
		var err error
		switch name {
		case "Credential":
			i = 0
			out.Credential, err = parseCredential(value, false)
		case "SignedHeaders":
			i = 1
			out.SignedHeaders, err = parseSignedHeaders(value, false)
		case "Signature":
			i = 2
			out.Signature, err = parseSignature(value, false)
		default:
			return out, malformed(false, "the authorization header is malformed: unexpected component %q", name)
		}
		if err != nil {
			return out, err
		}
		if seen[i] {
			return out, malformed(false, "the authorization header is malformed: %s appears more than once", name)
		}
		seen[i] = true
	}
	for i, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[i] {
			return out, malformed(false, "the authorization header is malformed: missing %s", name)
		}
	}
	return out, nil
}

// parseCredential parses <id>/<date>/<region>/s3/aws4_request.
func parseCredential(s string, query bool) (Credential, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 {
		return Credential{}, malformed(query, "the credential must have the form <access key id>/<YYYYMMDD>/<region>/s3/aws4_request")
	}
	c := Credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	if !printable(c.AccessKeyID, 128) {
		return Credential{}, malformed(query, "the credential's access key id is malformed")
	}
	if _, ok := parseFixed(DateFormat, c.Date); !ok {
		return Credential{}, malformed(query, "the credential's date %q is not a valid YYYYMMDD date", c.Date)
	}
	if !printable(c.Region, 64) {
		return Credential{}, malformed(query, "the credential's region is malformed")
	}
	if c.Service != Service {
		return Credential{}, malformed(query, "incorrect service %q in the credential; this endpoint belongs to %q", c.Service, Service)
	}
	if parts[4] != Terminator {
		return Credential{}, malformed(query, "the credential must end with %q", Terminator)
	}
	return c, nil
}

// printable reports whether s is 1..max bytes of visible ASCII.
func printable(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// tokenChar reports whether b may appear in a lower-case header name (RFC 9110 tchar).
func tokenChar(b byte) bool {
	return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// parseSignedHeaders parses "a;b;host": lower-case tokens, strictly
// ascending (so no duplicates), host included.
func parseSignedHeaders(s string, query bool) ([]string, error) {
	names := strings.Split(s, ";")
	host := false
	for i, n := range names {
		if n == "" {
			return nil, malformed(query, "SignedHeaders contains an empty name")
		}
		for j := 0; j < len(n); j++ {
			if !tokenChar(n[j]) {
				return nil, malformed(query, "SignedHeaders must be lower-case header names separated by ';'")
			}
		}
		if i > 0 && names[i-1] >= n {
			return nil, malformed(query, "SignedHeaders must be sorted and free of duplicates")
		}
		host = host || n == headerHost
	}
	if !host {
		return nil, malformed(query, "SignedHeaders must include host")
	}
	return names, nil
}

// parseSignature checks for 64 lower-case hex digits.
func parseSignature(s string, query bool) (string, error) {
	if !isLowerHex(s, 64) {
		return "", malformed(query, "the signature must be 64 lower-case hexadecimal digits")
	}
	return s, nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// parseFixed parses s with layout and accepts it only if it formats back to
// exactly s (time.Parse alone accepts one-digit hours and similar).
func parseFixed(layout, s string) (time.Time, bool) {
	t, err := time.Parse(layout, s)
	if err != nil || t.Format(layout) != s {
		return time.Time{}, false
	}
	return t, true
}

// checkPayloadHash accepts a 64-hex SHA-256 or one of the special values.
func checkPayloadHash(v string) error {
	switch v {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedPayloadTrailer:
		return nil
	case "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER":
		return sigV4aRefused()
	}
	if isLowerHex(v, 64) {
		return nil
	}
	return errs.Errorf(errs.InvalidArgument, opParse,
		"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a lower-case hex SHA-256").
		WithDetail("x_amz_content_sha256", v)
}

// requestTime returns the header-auth request time: x-amz-date, else Date.
func requestTime(h map[string][]string) (string, time.Time, error) {
	refuse := func() error {
		return errs.Errorf(errs.Unauthenticated, opParse, "AWS authentication requires a valid Date or x-amz-date header")
	}
	if vs, ok := h[headerAmzDate]; ok {
		if len(vs) != 1 {
			return "", time.Time{}, refuse()
		}
		t, ok := parseFixed(TimeFormat, vs[0])
		if !ok {
			return "", time.Time{}, refuse()
		}
		return vs[0], t, nil
	}
	if vs := h[headerDate]; len(vs) == 1 {
		if t, err := http.ParseTime(vs[0]); err == nil {
			t = t.UTC()
			return t.Format(TimeFormat), t, nil
		}
	}
	return "", time.Time{}, refuse()
}

// checkSignedXAmz refuses x-amz-* headers that the signature does not cover
// (x-amz-content-sha256 is exempt: its value is the canonical request's last
// line). Real S3 does the same; otherwise anyone on the path could add
// x-amz-acl or x-amz-copy-source to a captured request.
func checkSignedXAmz(h map[string][]string, signed []string) error {
	var unsigned []string
	for name := range h {
		if !strings.HasPrefix(name, "x-amz-") || name == headerContentSHA256 {
			continue
		}
		if !contains(signed, name) {
			unsigned = append(unsigned, name)
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	sort.Strings(unsigned)
	return errs.Errorf(errs.PermissionDenied, opParse, "There were headers present in the request which were not signed").
		WithDetail("headers_not_signed", strings.Join(unsigned, ","))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// queryAuthParams are the parameters whose presence means "presigned URL".
var queryAuthParams = []string{QueryAlgorithm, QueryCredential, QuerySignature}

// Parse classifies and parses a request's authentication without verifying
// it: anonymous, header-signed or presigned. Every syntactic rule of
// spec/s3.md §2 is checked here; time and signature are checked by Verify.
func (v *Verifier) Parse(r *Request) (*Auth, error) {
	h := lowerHeaders(r.Header)
	authz := h[headerAuthorization]
	// The query is parsed once, from the raw string; an undecodable query
	// only matters if the request is signed (the signature covers it).
	query, qerr := parseQuery(r.RawQuery)
	hasQueryAuth := false
	sigV2Query := false
	if qerr == nil {
		names := map[string]bool{}
		for _, p := range query {
			names[p.name] = true
		}
		for _, n := range queryAuthParams {
			hasQueryAuth = hasQueryAuth || names[n]
		}
		sigV2Query = names["AWSAccessKeyId"] && names["Signature"]
	} else {
		hasQueryAuth = strings.Contains(r.RawQuery, "X-Amz-")
	}

	// One mechanism per request (reliability.md §3.2): a header and query
	// credentials together are refused rather than one silently preferred.
	switch {
	case len(authz) > 0 && (hasQueryAuth || sigV2Query):
		return nil, errs.Errorf(errs.InvalidArgument, opParse,
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
	case len(authz) > 1:
		return nil, malformed(false, "the request carries more than one Authorization header")
	case len(authz) == 1:
		if qerr != nil {
			return nil, errs.Errorf(errs.InvalidArgument, opParse, "the query string is not validly percent-encoded")
		}
		return v.parseHeaderAuth(r, h, query, authz[0])
	case hasQueryAuth:
		if qerr != nil {
			return nil, malformed(true, "the query string is not validly percent-encoded")
		}
		return v.parseQueryAuth(h, query)
	case sigV2Query:
		return nil, sigV2Refused()
	}
	return &Auth{Anonymous: true, PayloadHash: UnsignedPayload}, nil
}

func (v *Verifier) checkRegion(c Credential, query bool) error {
	if v.StrictRegion && c.Region != v.Region {
		return malformed(query, "the region %q is wrong; expecting %q", c.Region, v.Region).WithDetail("region", v.Region)
	}
	return nil
}

func refuseSessionToken() error {
	return errs.Errorf(errs.InvalidRequest, opParse, "session tokens (X-Amz-Security-Token) are not supported")
}

func (v *Verifier) parseHeaderAuth(r *Request, h map[string][]string, query []param, authz string) (*Auth, error) {
	pa, err := ParseAuthorization(authz)
	if err != nil {
		return nil, err
	}
	a := &Auth{
		Credential:    pa.Credential,
		SignedHeaders: pa.SignedHeaders,
		Signature:     pa.Signature,
		headers:       h,
		query:         query,
	}
	// The scope must be for the day of the request time, which the string
	// to sign carries; a mismatch is a malformed header, not a bad signature.
	if a.AmzDate, a.Time, err = requestTime(h); err != nil {
		return nil, err
	}
	if a.Credential.Date != a.AmzDate[:8] {
		return nil, malformed(false, "invalid credential date %q: it is not the date of the request (%s)", a.Credential.Date, a.AmzDate)
	}
	if err := v.checkRegion(a.Credential, false); err != nil {
		return nil, err
	}
	// S3 requires x-amz-content-sha256 on header-signed requests; its value
	// is the canonical request's last line and tells the caller how to read
	// the body.
	switch vs := h[headerContentSHA256]; len(vs) {
	case 0:
		return nil, errs.Errorf(errs.InvalidRequest, opParse, "Missing required header for this request: x-amz-content-sha256")
	case 1:
		if err := checkPayloadHash(vs[0]); err != nil {
			return nil, err
		}
		a.PayloadHash = vs[0]
	default:
		return nil, errs.Errorf(errs.InvalidArgument, opParse, "x-amz-content-sha256 appears more than once")
	}
	if _, ok := h[headerSecurityToken]; ok {
		return nil, refuseSessionToken()
	}
	if err := checkSignedXAmz(h, a.SignedHeaders); err != nil {
		return nil, err
	}
	return a, nil
}

func (v *Verifier) parseQueryAuth(h map[string][]string, query []param) (*Auth, error) {
	// Every authentication parameter must appear exactly once; a repeated
	// one would let the signed and the interpreted value differ.
	vals := map[string][]string{}
	for _, p := range query {
		vals[p.name] = append(vals[p.name], p.value)
	}
	one := func(name string) (string, error) {
		switch vs := vals[name]; len(vs) {
		case 0:
			return "", malformed(true, "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters; %s is missing", name)
		case 1:
			return vs[0], nil
		default:
			return "", malformed(true, "%s appears more than once", name)
		}
	}
	var got [6]string
	for i, name := range []string{QueryAlgorithm, QueryCredential, QueryDate, QueryExpires, QuerySignedHeaders, QuerySignature} {
		var err error
		if got[i], err = one(name); err != nil {
			return nil, err
		}
	}
	switch got[0] {
	case Algorithm:
	case AlgorithmV4a:
		return nil, sigV4aRefused()
	default:
		return nil, malformed(true, "X-Amz-Algorithm only supports %q", Algorithm)
	}
	a := &Auth{Presigned: true, PayloadHash: UnsignedPayload, headers: h, query: query}
	var err error
	if a.Credential, err = parseCredential(got[1], true); err != nil {
		return nil, err
	}
	var ok bool
	if a.Time, ok = parseFixed(TimeFormat, got[2]); !ok {
		return nil, malformed(true, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	a.AmzDate = got[2]
	if a.Credential.Date != a.AmzDate[:8] {
		return nil, malformed(true, "invalid credential date %q: it is not the date of X-Amz-Date (%s)", a.Credential.Date, a.AmzDate)
	}
	if err := v.checkRegion(a.Credential, true); err != nil {
		return nil, err
	}
	// 1 ≤ X-Amz-Expires ≤ one week, digits only (no sign, no unit).
	exp, err := strconv.ParseUint(got[3], 10, 32)
	if err != nil || exp < 1 || exp > MaxPresignExpires {
		return nil, malformed(true, "X-Amz-Expires must be a whole number of seconds from 1 to %d (one week)", MaxPresignExpires).
			WithDetail("x_amz_expires", got[3])
	}
	a.Expires = time.Duration(exp) * time.Second
	if a.SignedHeaders, err = parseSignedHeaders(got[4], true); err != nil {
		return nil, err
	}
	if a.Signature, err = parseSignature(got[5], true); err != nil {
		return nil, err
	}
	// The payload of a presigned request is unsigned unless the URL itself
	// signs a hash.
	if vs := vals[QueryContentSHA256]; len(vs) > 0 {
		if len(vs) > 1 {
			return nil, malformed(true, "%s appears more than once", QueryContentSHA256)
		}
		if err := checkPayloadHash(vs[0]); err != nil {
			return nil, err
		}
		a.PayloadHash = vs[0]
	}
	if _, ok := vals[QuerySecurityToken]; ok {
		return nil, refuseSessionToken()
	}
	if _, ok := h[headerSecurityToken]; ok {
		return nil, refuseSessionToken()
	}
	if err := checkSignedXAmz(h, a.SignedHeaders); err != nil {
		return nil, err
	}
	return a, nil
}
