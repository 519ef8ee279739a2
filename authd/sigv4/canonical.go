package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// param is one query parameter, decoded once.
type param struct {
	name, value string
}

// parseQuery splits a raw query string into parameters, decoding %XX once.
// Unlike url.ParseQuery it keeps a raw "+" as "+" (it canonicalises to %2B),
// keeps ";" as an ordinary character, and keeps parameters in order. Empty
// segments ("a=1&&b=2") are skipped, as every SDK does.
func parseQuery(raw string) ([]param, error) {
	var out []param
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, err := url.PathUnescape(name)
		if err != nil {
			return nil, err
		}
		v, err := url.PathUnescape(value)
		if err != nil {
			return nil, err
		}
		out = append(out, param{name: n, value: v})
	}
	return out, nil
}

// unreserved reports whether b is in RFC 3986's unreserved set, the only
// bytes SigV4 leaves unencoded.
func unreserved(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '-' || b == '_' || b == '.' || b == '~'
}

// URIEncode applies the SigV4 encoding: every byte except A–Z a–z 0–9 - _ . ~
// becomes %XX (upper-case hex); "/" is kept when keepSlash is true (paths).
func URIEncode(s string, keepSlash bool) string {
	const hexdigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexdigits[c>>4], hexdigits[c&15])
	}
	return string(b)
}

// CanonicalURIs returns the canonical URI candidates for a raw escaped path:
// first the path decoded once and re-encoded with the SigV4 rule, then the raw
// path as received when that differs (or when it does not decode). Paths are
// never normalised: "//", "." and ".." stay as they are, as S3 requires.
func CanonicalURIs(rawPath string) []string {
	if rawPath == "" {
		rawPath = "/"
	}
	var out []string
	if dec, err := url.PathUnescape(rawPath); err == nil {
		out = append(out, URIEncode(dec, true))
	}
	if len(out) == 0 || out[0] != rawPath {
		out = append(out, rawPath)
	}
	return out
}

// canonicalQuery encodes names and values, sorts by encoded name then encoded
// value, and joins them; presigned requests leave out X-Amz-Signature. With
// wireOrder, the values of a repeated name keep their order on the wire
// instead (names are still sorted): that is what signers built on Go's
// url.Values.Encode (minio-go) produce.
func canonicalQuery(params []param, presigned, wireOrder bool) string {
	pairs := make([]param, 0, len(params))
	for _, p := range params {
		if presigned && p.name == QuerySignature {
			continue
		}
		pairs = append(pairs, param{name: URIEncode(p.name, false), value: URIEncode(p.value, false)})
	}
	sort.SliceStable(pairs, func(i, j int) bool {
		if pairs[i].name != pairs[j].name || wireOrder {
			return pairs[i].name < pairs[j].name
		}
		return pairs[i].value < pairs[j].value
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// canonicalQueries returns the canonical query (AWS order), followed by the
// wire-order variant when the query repeats a name with unsorted values.
// Both cover the same parameters; only the order of repeated values differs.
func canonicalQueries(params []param, presigned bool) []string {
	out := []string{canonicalQuery(params, presigned, false)}
	if alt := canonicalQuery(params, presigned, true); alt != out[0] {
		out = append(out, alt)
	}
	return out
}

// CanonicalQuery returns the canonical query string of a raw query.
func CanonicalQuery(rawQuery string, presigned bool) (string, error) {
	params, err := parseQuery(rawQuery)
	if err != nil {
		return "", err
	}
	return canonicalQuery(params, presigned, false), nil
}

// trimAll trims surrounding white space and collapses inner runs of spaces
// to one space, as the AWS SDKs do.
func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return string(b)
}

// canonicalHeaders builds the canonical header block for the signed names,
// which are lower case. It also returns the first signed name that the
// request does not carry, if any (the block then leaves it out).
func canonicalHeaders(headers map[string][]string, host string, signed []string) (block, missing string) {
	var b strings.Builder
	for _, name := range signed {
		vs, ok := headers[name]
		if name != headerHost && !ok {
			if missing == "" {
				missing = name
			}
			continue
		}
		b.WriteString(name)
		b.WriteByte(':')
		if name == headerHost {
			b.WriteString(trimAll(host))
		} else {
			for i, v := range vs {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(trimAll(v))
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), missing
}

// CanonicalRequest joins the six parts of a canonical request.
func CanonicalRequest(method, uri, query, headers string, signedHeaders []string, payloadHash string) string {
	return method + "\n" + uri + "\n" + query + "\n" + headers + "\n" +
		strings.Join(signedHeaders, ";") + "\n" + payloadHash
}

// StringToSign returns the string to sign of a canonical request.
func StringToSign(amzDate, scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// DeriveSigningKey returns kSigning for a secret and a scope:
// HMAC chain "AWS4"+secret → date → region → service → "aws4_request".
func DeriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, Terminator)
}

// SigningKey returns kSigning for the credential's date, region and service.
func SigningKey(secret string, c Credential) []byte {
	return DeriveSigningKey(secret, c.Date, c.Region, c.Service)
}

// Sign returns hex(HMAC-SHA256(signingKey, stringToSign)).
func Sign(signingKey []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(signingKey, stringToSign))
}
