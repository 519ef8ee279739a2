package policy

import (
	"strings"
	"time"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const op = "policy.Decide"

// Decide is the one authorization decision. It returns nil when principal p
// may perform access a at time now, and otherwise:
//
//   - InvalidArgument: a names no capability (a caller bug; fail closed);
//   - Unauthenticated: there is no principal;
//   - Expired: the key expired (expiration ≤ now);
//   - PermissionDenied: anything else.
//
// The rules, in order: a read of an object (readFiles) in a public bucket is
// allowed for anyone, anonymous or not, since anyone may read it anonymously;
// any other anonymous access is refused. Otherwise the key must hold the
// capability; a bucket-restricted key must name one of its buckets (an
// access without a bucket id is allowed only for listBuckets and
// listAllBucketNames, whose results the caller filters); a key with a name
// prefix may use file capabilities only on names (or listing prefixes) that
// start with that prefix.
func Decide(p *authv1.Principal, a *authv1.Access, now time.Time) error {
	if a == nil || a.GetCapability() == "" {
		return errs.Errorf(errs.InvalidArgument, op, "the access names no capability")
	}
	if p == nil {
		return errs.Errorf(errs.Unauthenticated, op, "no principal")
	}
	capability := a.GetCapability()
	if !p.GetAnonymous() {
		if exp := p.GetExpirationTimeUnixMillis(); exp != 0 && now.UnixMilli() >= exp {
			return errs.Errorf(errs.Expired, op, "the application key has expired").
				WithDetail("key_id", p.GetKeyId())
		}
	}
	if capability == ReadFiles && a.GetBucketPublic() {
		return nil
	}
	if p.GetAnonymous() {
		return denied(a, "Access Denied")
	}
	if !contains(p.GetCapabilities(), capability) {
		return denied(a, "the application key does not have the "+capability+" capability")
	}
	if ids := p.GetBucketIds(); len(ids) > 0 {
		switch {
		case a.GetBucketId() == "":
			if capability != ListBuckets && capability != ListAllBucketNames {
				return denied(a, "the application key is restricted to a bucket")
			}
		case !contains(ids, a.GetBucketId()):
			return denied(a, "the application key is not allowed to access this bucket")
		}
	}
	if prefix := p.GetNamePrefix(); prefix != "" && FileCapability(capability) && !strings.HasPrefix(a.GetName(), prefix) {
		return denied(a, "the application key is restricted to names starting with "+prefix)
	}
	return nil
}

// DecideAnyName is Decide for an access whose object names are not known
// yet but will each be decided later: minting a B2 upload-URL token
// (b2_get_upload_url) needs writeFiles on the bucket, and every file name is
// then checked on upload, against the same prefix. It answers whether the
// principal could perform a.Capability on at least one name in a's bucket:
// the key's own name prefix stands in for the name. For capabilities that
// are not about names it is Decide.
func DecideAnyName(p *authv1.Principal, a *authv1.Access, now time.Time) error {
	if a != nil && p != nil && FileCapability(a.GetCapability()) {
		b := &authv1.Access{
			Capability: a.GetCapability(), BucketId: a.GetBucketId(), BucketName: a.GetBucketName(),
			Name: p.GetNamePrefix(), BucketPublic: a.GetBucketPublic(),
		}
		return Decide(p, b, now)
	}
	return Decide(p, a, now)
}

func denied(a *authv1.Access, msg string) *errs.Error {
	return errs.Errorf(errs.PermissionDenied, op, "%s", msg).
		WithBucket(a.GetBucketName()).
		WithDetail("capability", a.GetCapability())
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
