package sigv4

import (
	"crypto/hmac"
	"strings"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

// Browser-form uploads (S3 POST Object). The form carries a base64 policy
// document and a SigV4 signature of it: the string to sign is the base64
// policy itself, signed with the scope's signing key,
//
//	x-amz-signature = hex(HMAC-SHA256(kSigning(date, region, s3), policy))
//
// so, as for header auth, a verifier that has kSigning for the credential's
// scope needs no secret. The policy's expiration and conditions bound what
// the signature allows; checking them is the S3 front-end's business.

const opPost = "sigv4.ParsePost"

// PostAuth is a parsed, not yet verified, POST form authentication.
type PostAuth struct {
	Credential Credential
	// AmzDate is the form's x-amz-date, Time the instant it names.
	AmzDate string
	Time    time.Time
	// Policy is the base64 policy document as sent: the string to sign.
	Policy string
	// Signature is 64 lower-case hex digits.
	Signature string
}

// PostFields are the authentication fields of a POST form, as sent.
type PostFields struct {
	Algorithm, Credential, Date, Signature, Policy string
}

// postArgument is S3's InvalidArgument for a bad authentication field.
func postArgument(name, value, format string, args ...any) *errs.Error {
	return errs.Errorf(errs.InvalidArgument, opPost, format, args...).
		WithDetail("argument_name", name).WithDetail("argument_value", value)
}

// ParsePost parses the authentication fields of a POST form (all present:
// the caller refuses a form that has some but not all) with S3's errors:
// InvalidArgument for an algorithm other than AWS4-HMAC-SHA256, a malformed
// credential or date, or a credential date that is not x-amz-date's day;
// SignatureMismatch for a signature that is not 64 hex digits. The region
// is checked as for header auth (any, unless StrictRegion).
func (v *Verifier) ParsePost(f PostFields) (*PostAuth, error) {
	if f.Algorithm != Algorithm {
		return nil, postArgument("x-amz-algorithm", f.Algorithm, "Only AWS4-HMAC-SHA256 is supported")
	}
	c, err := parsePostCredential(f.Credential)
	if err != nil {
		return nil, err
	}
	if v.StrictRegion && c.Region != v.Region {
		return nil, postArgument("x-amz-credential", f.Credential, "the region %q is wrong; expecting %q", c.Region, v.Region)
	}
	t, ok := parseFixed(TimeFormat, f.Date)
	if !ok {
		return nil, postArgument("x-amz-date", f.Date, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	if c.Date != f.Date[:8] {
		return nil, postArgument("x-amz-credential", f.Credential, "the credential date %q is not the date of x-amz-date %q", c.Date, f.Date)
	}
	sig := strings.ToLower(f.Signature)
	if !isLowerHex(sig, 64) {
		return nil, postSignatureMismatch(c, f.Policy, f.Signature)
	}
	return &PostAuth{Credential: c, AmzDate: f.Date, Time: t, Policy: f.Policy, Signature: sig}, nil
}

// parsePostCredential parses <id>/<date>/<region>/s3/aws4_request with the
// messages S3 gives for a form's x-amz-credential.
func parsePostCredential(s string) (Credential, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 || !printable(parts[0], 128) || !printable(parts[2], 64) {
		return Credential{}, postArgument("x-amz-credential", s,
			"the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
	}
	c := Credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	if _, ok := parseFixed(DateFormat, c.Date); !ok {
		return Credential{}, postArgument("x-amz-credential", s,
			"incorrect date format %q. This date in the credential must be in the format \"yyyyMMdd\".", c.Date)
	}
	if c.Service != Service {
		return Credential{}, postArgument("x-amz-credential", s, "incorrect service %q. This endpoint belongs to %q.", c.Service, Service)
	}
	if parts[4] != Terminator {
		return Credential{}, postArgument("x-amz-credential", s, "incorrect terminal %q. This endpoint uses %q.", parts[4], Terminator)
	}
	return c, nil
}

// VerifyPost checks a POST form's signature of its policy with signingKey,
// in constant time. A mismatch is SignatureMismatch whose string to sign
// is the policy, as S3 reports it.
func VerifyPost(a *PostAuth, signingKey []byte) error {
	if a == nil {
		return errs.Errorf(errs.Unauthenticated, opPost, "the form carries no credentials")
	}
	if hmac.Equal([]byte(Sign(signingKey, a.Policy)), []byte(a.Signature)) {
		return nil
	}
	return postSignatureMismatch(a.Credential, a.Policy, a.Signature)
}

func postSignatureMismatch(c Credential, policy, signature string) error {
	return errs.Errorf(errs.SignatureMismatch, opPost,
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.").
		WithDetail("access_key_id", c.AccessKeyID).WithDetail("signature_provided", signature).WithDetail("string_to_sign", policy)
}
