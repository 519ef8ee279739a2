package policy

import (
	"fmt"
	"strings"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// S3Methods are the methods an S3 CORSRule or R2 rule may allow
// (case-sensitive).
var S3Methods = []string{"GET", "PUT", "POST", "DELETE", "HEAD"}

// MaxS3IDLength bounds an S3 rule ID.
const MaxS3IDLength = 255

// FromS3 converts rules written through S3 PutBucketCors or the R2 API into
// stored native rules. The input uses the S3 view's convention: Name holds
// the S3 ID (may be empty) and AllowedOperations the AllowedMethod values
// verbatim. Each method becomes s3_<lower(method)> (duplicates merged); the
// ID becomes the native name when it is a valid, unused B2 name, else the
// name is "s3-rule-<n>" (n = 1-based position, bumped until unique) and the
// ID is kept in s3_id (spec/cors.md §4). The result is validated.
func FromS3(in []*corsv1.CorsRule) ([]*corsv1.CorsRule, error) {
	const op = "policy.FromS3"
	if len(in) > MaxRules {
		return nil, errs.Errorf(errs.InvalidRequest, op, "A bucket may have at most %d CORS rules; got %d.", MaxRules, len(in))
	}
	used := map[string]bool{}
	for _, r := range in {
		if validName(r.GetName()) {
			used[r.GetName()] = true
		}
	}
	taken := map[string]bool{}
	out := make([]*corsv1.CorsRule, 0, len(in))
	for i, r := range in {
		if len(r.GetName()) > MaxS3IDLength {
			return nil, errs.Errorf(errs.InvalidRequest, op, "CORSRule %d: ID is longer than %d characters.", i+1, MaxS3IDLength)
		}
		if len(r.GetAllowedOperations()) == 0 {
			return nil, errs.Errorf(errs.MalformedBody, op, "CORSRule %d has no AllowedMethod.", i+1)
		}
		if len(r.GetAllowedOrigins()) == 0 {
			return nil, errs.Errorf(errs.MalformedBody, op, "CORSRule %d has no AllowedOrigin.", i+1)
		}
		c := &corsv1.CorsRule{
			AllowedOrigins: r.GetAllowedOrigins(), AllowedHeaders: r.GetAllowedHeaders(),
			ExposeHeaders: r.GetExposeHeaders(), MaxAgeSeconds: r.MaxAgeSeconds,
		}
		for _, m := range r.GetAllowedOperations() {
			if !isS3Method(m) {
				return nil, errs.Errorf(errs.InvalidRequest, op, "Found unsupported HTTP method in CORS config. Unsupported method is %s", m)
			}
			c.AllowedOperations = append(c.AllowedOperations, "s3_"+strings.ToLower(m))
		}
		id := r.GetName()
		if validName(id) && !taken[id] {
			c.Name = id
		} else {
			for n := i + 1; ; n++ {
				if name := fmt.Sprintf("s3-rule-%d", n); !used[name] && !taken[name] {
					c.Name = name
					break
				}
			}
			c.S3Id = id
		}
		taken[c.Name] = true
		out = append(out, c)
	}
	out = Normalize(out)
	if err := Validate(out); err != nil {
		return nil, err
	}
	return out, nil
}

func isS3Method(m string) bool {
	for _, x := range S3Methods {
		if x == m {
			return true
		}
	}
	return false
}

// ToS3 is the S3 (and R2) view of stored rules: every rule with at least
// one s3_* operation, in order, with Name = its S3 ID (s3_id, or the native
// name) and AllowedOperations = the upper-case methods; b2_* operations are
// dropped. An empty result means "no CORS configuration" to S3 and R2.
func ToS3(rules []*corsv1.CorsRule) []*corsv1.CorsRule {
	var out []*corsv1.CorsRule
	for _, r := range rules {
		methods := s3Methods(r)
		if len(methods) == 0 {
			continue
		}
		id := r.GetS3Id()
		if id == "" {
			id = r.GetName()
		}
		out = append(out, &corsv1.CorsRule{
			Name: id, AllowedOrigins: r.GetAllowedOrigins(), AllowedOperations: methods,
			AllowedHeaders: r.GetAllowedHeaders(), ExposeHeaders: r.GetExposeHeaders(), MaxAgeSeconds: r.MaxAgeSeconds,
		})
	}
	return out
}
