package sigv4

import (
	"crypto/hmac"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

const opVerify = "sigv4.Verify"

// Verifier parses and verifies SigV4 on S3 requests. Its fields are
// configuration only, so one Verifier may be used by many goroutines at once.
type Verifier struct {
	// Region is the server's region. Any region in a credential scope is
	// accepted (the signature covers it) unless StrictRegion is set.
	Region       string
	StrictRegion bool
	// MaxSkew bounds |now − request time| for header auth and how far in the
	// future a presigned URL's X-Amz-Date may be. Zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// Verify checks a parsed request's time window and then its signature with
// signingKey (see SigningKey). Header auth must be within MaxSkew of now
// (else RequestTimeTooSkewed); a presigned URL is valid iff
// t0 − MaxSkew ≤ now ≤ t0 + X-Amz-Expires (else Expired). The signature is
// compared in constant time; a mismatch is SignatureMismatch carrying the
// canonical request and string to sign in its details.
func (v *Verifier) Verify(r *Request, a *Auth, signingKey []byte) error {
	if a == nil || a.Anonymous {
		return errs.Errorf(errs.Unauthenticated, opVerify, "the request carries no credentials")
	}
	if err := v.CheckTime(a); err != nil {
		return err
	}
	return CheckSignature(r, a, signingKey)
}

// CheckTime checks the request time (header auth) or the presigned URL's
// validity window against the Verifier's clock.
func (v *Verifier) CheckTime(a *Auth) error {
	now := v.now().UTC()
	skew := v.maxSkew()
	if !a.Presigned {
		d := now.Sub(a.Time)
		if d > skew || d < -skew {
			return errs.Errorf(errs.RequestTimeTooSkewed, opVerify,
				"The difference between the request time and the server's time is too large.").
				WithDetail("request_time", a.AmzDate).
				WithDetail("server_time", now.Format(time.RFC3339)).
				WithDetail("max_allowed_skew_ms", strconv.FormatInt(skew.Milliseconds(), 10))
		}
		return nil
	}
	expires := a.Time.Add(a.Expires)
	switch {
	case now.After(expires):
		return errs.Errorf(errs.Expired, opVerify, "Request has expired").
			WithDetail("x_amz_expires", strconv.FormatInt(int64(a.Expires/time.Second), 10)).
			WithDetail("expires", expires.Format(time.RFC3339)).
			WithDetail("server_time", now.Format(time.RFC3339))
	case now.Before(a.Time.Add(-skew)):
		return errs.Errorf(errs.Expired, opVerify, "Request is not valid yet").
			WithDetail("x_amz_date", a.AmzDate).
			WithDetail("server_time", now.Format(time.RFC3339))
	}
	return nil
}

// redactedHeaders are signed header values left out of the canonical request
// reported in a SignatureMismatch: the error travels to logs, and these carry
// key material.
var redactedHeaders = []string{
	"x-amz-server-side-encryption-customer-key",
	"x-amz-copy-source-server-side-encryption-customer-key",
}

// CheckSignature recomputes the signature of a parsed request and compares it
// in constant time. It tries each canonical URI candidate (CanonicalURIs)
// with each canonical query candidate (at most two of each, see
// canonicalQueries); every candidate covers the same method, path bytes,
// parameters and headers, so none widens what a signature authorizes.
func CheckSignature(r *Request, a *Auth, signingKey []byte) error {
	headers, missing := canonicalHeaders(a.headers, requestHost(r, a.headers), a.SignedHeaders)
	scope := a.Credential.Scope()
	var firstCanon, firstSTS string
	for _, query := range canonicalQueries(a.query, a.Presigned) {
		for _, uri := range CanonicalURIs(r.RawPath) {
			canon := CanonicalRequest(r.Method, uri, query, headers, a.SignedHeaders, a.PayloadHash)
			sts := StringToSign(a.AmzDate, scope, canon)
			if missing == "" && hmac.Equal([]byte(Sign(signingKey, sts)), []byte(a.Signature)) {
				return nil
			}
			if firstCanon == "" {
				firstCanon, firstSTS = canon, sts
			}
		}
	}
	msg := "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	if missing != "" {
		msg = "The request signature we calculated does not match the signature you provided: signed header " +
			strings.TrimSpace(missing) + " is missing from the request."
	}
	return errs.Errorf(errs.SignatureMismatch, opVerify, "%s", msg).
		WithDetail("access_key_id", a.Credential.AccessKeyID).
		WithDetail("signature_provided", a.Signature).
		WithDetail("canonical_request", redact(firstCanon, a.SignedHeaders)).
		WithDetail("string_to_sign", firstSTS)
}

// requestHost is the Host as received: the Request field, else a Host header.
func requestHost(r *Request, h map[string][]string) string {
	if r.Host != "" {
		return r.Host
	}
	if vs := h[headerHost]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// redact blanks the values of redactedHeaders in a canonical request.
func redact(canon string, signed []string) string {
	for _, name := range redactedHeaders {
		if !contains(signed, name) {
			continue
		}
		lines := strings.Split(canon, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, name+":") {
				lines[i] = name + ":<redacted>"
			}
		}
		canon = strings.Join(lines, "\n")
	}
	return canon
}
