package sigv4

import (
	"net/http"
	"strings"
	"time"
)

// Protocol constants.
const (
	// Algorithm is the only signing algorithm accepted.
	Algorithm = "AWS4-HMAC-SHA256"
	// AlgorithmV4a is SigV4a, recognised only to be refused clearly.
	AlgorithmV4a = "AWS4-ECDSA-P256-SHA256"
	// Service is the credential-scope service of S3.
	Service = "s3"
	// Terminator ends every credential scope.
	Terminator = "aws4_request"
	// TimeFormat is the ISO 8601 basic format of X-Amz-Date.
	TimeFormat = "20060102T150405Z"
	// DateFormat is the credential-scope date format.
	DateFormat = "20060102"

	// EmptySHA256 is the hex SHA-256 of the empty string.
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// UnsignedPayload: the body is not covered by the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// StreamingPayload: aws-chunked body with signed chunks.
	StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingPayloadTrailer: signed chunks plus a signed trailer.
	StreamingPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedPayloadTrailer: unsigned chunks plus an unsigned trailer.
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	// ChunkAlgorithm is the first line of a chunk's string to sign.
	ChunkAlgorithm = "AWS4-HMAC-SHA256-PAYLOAD"
	// TrailerAlgorithm is the first line of a trailer's string to sign.
	TrailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"

	// MaxPresignExpires is the longest X-Amz-Expires S3 accepts (7 days).
	MaxPresignExpires = 604800
	// DefaultMaxSkew is S3's allowed clock skew.
	DefaultMaxSkew = 15 * time.Minute
)

// Presigned-URL query parameter names (case-sensitive).
const (
	QueryAlgorithm     = "X-Amz-Algorithm"
	QueryCredential    = "X-Amz-Credential"
	QueryDate          = "X-Amz-Date"
	QueryExpires       = "X-Amz-Expires"
	QuerySignedHeaders = "X-Amz-SignedHeaders"
	QuerySignature     = "X-Amz-Signature"
	QueryContentSHA256 = "X-Amz-Content-Sha256"
	QuerySecurityToken = "X-Amz-Security-Token"
)

// Lower-case header names used by the verifier.
const (
	headerAuthorization = "authorization"
	headerAmzDate       = "x-amz-date"
	headerDate          = "date"
	headerContentSHA256 = "x-amz-content-sha256"
	headerSecurityToken = "x-amz-security-token"
	headerHost          = "host"
)

// Request is the part of an HTTP request that a signature covers, exactly as
// received. Header holds every request header (repeated names keep their
// order); Host is the Host header including any port (Go's server moves it
// out of Header into http.Request.Host).
type Request struct {
	Method   string
	RawPath  string // escaped path as received (URL.EscapedPath)
	RawQuery string // raw query string as received, without "?"
	Host     string
	Header   http.Header
}

// Credential is a parsed credential: <key id>/<date>/<region>/<service>/aws4_request.
type Credential struct {
	AccessKeyID string
	Date        string // YYYYMMDD
	Region      string
	Service     string
}

// Scope returns the credential scope "<date>/<region>/<service>/aws4_request".
func (c Credential) Scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/" + Terminator
}

// String returns the credential as it appears on the wire.
func (c Credential) String() string { return c.AccessKeyID + "/" + c.Scope() }

// Auth is a parsed, not yet verified, SigV4 authentication.
type Auth struct {
	// Anonymous is true when the request carries no credentials at all (no
	// Authorization header and no X-Amz-* authentication query). The other
	// fields are then empty.
	Anonymous bool
	// Presigned is true for query-string authentication.
	Presigned     bool
	Credential    Credential
	SignedHeaders []string
	// Signature is the request (seed) signature, 64 lower-case hex digits.
	Signature string
	// AmzDate is the request time as it appears in the string to sign.
	AmzDate string
	Time    time.Time
	// Expires is X-Amz-Expires (presigned only).
	Expires time.Duration
	// PayloadHash is the x-amz-content-sha256 value the signature covers:
	// 64 lower-case hex digits or one of the special values.
	PayloadHash string

	headers map[string][]string // lower-case name → values
	query   []param
}

// Streaming reports whether the payload is aws-chunked with signed chunks,
// that is whether the caller needs the signing key to verify the body.
func (a *Auth) Streaming() bool {
	return a.PayloadHash == StreamingPayload || a.PayloadHash == StreamingPayloadTrailer
}

// lowerHeaders indexes h by lower-case name, keeping the order of values.
func lowerHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		lk := strings.ToLower(k)
		out[lk] = append(out[lk], vs...)
	}
	return out
}
