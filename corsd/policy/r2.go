package policy

import (
	"math"

	"google.golang.org/protobuf/proto"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	r2v1 "github.com/coffer-project/coffer/proto/gen/go/coffer/r2/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// MaxAgeLimit is the largest maxAgeSeconds the R2 API accepts.
const MaxAgeLimit = 86400

// FromR2 turns rules written through the R2 API into the S3 view's
// convention (Name = the rule's id, AllowedOperations = the methods
// verbatim), which FromS3 then converts and validates as it does S3's. It
// checks what only R2's shape can get wrong: maxAgeSeconds arrives as a
// JSON number and must be a whole number from 0 to MaxAgeLimit.
func FromR2(in []*r2v1.CorsRule) ([]*corsv1.CorsRule, error) {
	out := make([]*corsv1.CorsRule, 0, len(in))
	for i, r := range in {
		c := &corsv1.CorsRule{
			Name: r.GetId(), AllowedOperations: r.GetAllowed().GetMethods(), AllowedOrigins: r.GetAllowed().GetOrigins(),
			AllowedHeaders: r.GetAllowed().GetHeaders(), ExposeHeaders: r.GetExposeHeaders(),
		}
		if r.MaxAgeSeconds != nil {
			v := r.GetMaxAgeSeconds()
			if v != math.Trunc(v) || v < 0 || v > MaxAgeLimit {
				return nil, errs.Errorf(errs.InvalidRequest, "policy.FromR2", "rules[%d].maxAgeSeconds must be a whole number from 0 to %d.", i, MaxAgeLimit)
			}
			c.MaxAgeSeconds = proto.Int32(int32(v))
		}
		out = append(out, c)
	}
	return out, nil
}

// ToR2 is the R2 shape of rules in the S3 view (ToS3's result).
func ToR2(rules []*corsv1.CorsRule) []*r2v1.CorsRule {
	out := make([]*r2v1.CorsRule, 0, len(rules))
	for _, r := range rules {
		rule := &r2v1.CorsRule{
			Id:            r.GetName(),
			Allowed:       &r2v1.CorsAllowed{Methods: r.GetAllowedOperations(), Origins: r.GetAllowedOrigins(), Headers: r.GetAllowedHeaders()},
			ExposeHeaders: r.GetExposeHeaders(),
		}
		if r.MaxAgeSeconds != nil {
			rule.MaxAgeSeconds = proto.Float64(float64(r.GetMaxAgeSeconds()))
		}
		out = append(out, rule)
	}
	return out
}
