package policy

import (
	"fmt"
	"strings"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Limits from B2 (spec/cors.md §1.1); they hold whichever API wrote a rule,
// so the stored list is always valid for the native API.
const (
	MaxRules     = 100
	MaxRuleBytes = 1000 // a rule must be smaller than this
	MaxAge       = 86400
)

// Operations are the CORS operations a rule may allow (case-sensitive).
var Operations = []string{
	"b2_download_file_by_name", "b2_download_file_by_id", "b2_upload_file", "b2_upload_part",
	"s3_delete", "s3_get", "s3_head", "s3_post", "s3_put",
}

func knownOperation(op string) bool {
	for _, o := range Operations {
		if o == op {
			return true
		}
	}
	return false
}

func invalid(format string, args ...any) error {
	return errs.Errorf(errs.InvalidRequest, "policy.Validate", format, args...)
}

// Validate checks a complete rule list as it will be stored. Rules whose
// operations are all s3_* may use S3 origin syntax (one '*' anywhere);
// others must use B2 syntax.
func Validate(rules []*corsv1.CorsRule) error {
	if len(rules) > MaxRules {
		return invalid("A bucket may have at most %d CORS rules; got %d.", MaxRules, len(rules))
	}
	names := map[string]bool{}
	for i, r := range rules {
		if err := validateRule(r); err != nil {
			return errs.Errorf(errs.InvalidRequest, "policy.Validate", "corsRules[%d]: %s", i, errs.Message(err))
		}
		if names[r.GetName()] {
			return invalid("corsRules[%d]: duplicate corsRuleName %q.", i, r.GetName())
		}
		names[r.GetName()] = true
	}
	return nil
}

func validName(n string) bool {
	if len(n) < 6 || len(n) > 63 || strings.HasPrefix(strings.ToLower(n), "b2-") {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validToken(s string, star bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '*' && star {
			continue
		}
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}*", c) >= 0 {
			return false
		}
	}
	return true
}

func validateRule(r *corsv1.CorsRule) error {
	if !validName(r.GetName()) {
		return invalid("corsRuleName %q must be 6 to 63 letters, digits or '-', not starting with b2-.", r.GetName())
	}
	if len(r.GetAllowedOperations()) == 0 {
		return invalid("allowedOperations must not be empty.")
	}
	onlyS3 := true
	for _, op := range r.GetAllowedOperations() {
		if !knownOperation(op) {
			return invalid("unknown operation %q in allowedOperations.", op)
		}
		onlyS3 = onlyS3 && strings.HasPrefix(op, "s3_")
	}
	if len(r.GetAllowedOrigins()) == 0 {
		return invalid("allowedOrigins must not be empty.")
	}
	seenHTTPS := false
	for _, o := range r.GetAllowedOrigins() {
		if o == "" {
			return invalid("illegal empty string in allowedOrigins.")
		}
		if o == "*" && len(r.GetAllowedOrigins()) > 1 {
			return invalid("'*' must be the only entry of allowedOrigins.")
		}
		if seenHTTPS && strings.HasPrefix(o, "https:") {
			return invalid("no allowedOrigins entry after \"https\" may start with https: (%q).", o)
		}
		if o == "https" {
			if seenHTTPS {
				return invalid("allowedOrigins may hold \"https\" only once.")
			}
			seenHTTPS = true
		}
		p := compileOrigin(o)
		if !p.validB2 && !(onlyS3 && p.validS3 && !hasPath(o)) {
			return invalid("invalid origin %q in allowedOrigins.", o)
		}
	}
	for _, h := range r.GetAllowedHeaders() {
		if h == "*" {
			if len(r.GetAllowedHeaders()) > 1 {
				return invalid("'*' must be the only entry of allowedHeaders.")
			}
			continue
		}
		star := strings.Count(h, "*")
		if !validToken(h, true) || star > 1 || (star == 1 && !onlyS3 && !strings.HasSuffix(h, "*")) {
			return invalid("invalid header %q in allowedHeaders.", h)
		}
	}
	for _, h := range r.GetExposeHeaders() {
		if !validToken(h, false) {
			return invalid("invalid header %q in exposeHeaders (complete names only).", h)
		}
	}
	if r.MaxAgeSeconds != nil && (r.GetMaxAgeSeconds() < 0 || r.GetMaxAgeSeconds() > MaxAge) {
		return invalid("maxAgeSeconds must be between 0 and %d.", MaxAge)
	}
	if n := ruleBytes(r); n >= MaxRuleBytes {
		return invalid("a CORS rule must be smaller than %d bytes; this one has %d.", MaxRuleBytes, n)
	}
	return nil
}

// hasPath reports whether an origin-like string carries a path, query or
// fragment, which no dialect accepts (origins are scheme://host[:port]).
func hasPath(o string) bool {
	_, rest, ok := strings.Cut(o, "://")
	return ok && strings.ContainsAny(rest, "/?#")
}

// ruleBytes is B2's rule size: the UTF-8 byte lengths of every string.
func ruleBytes(r *corsv1.CorsRule) int {
	n := len(r.GetName())
	for _, list := range [][]string{r.GetAllowedOrigins(), r.GetAllowedOperations(), r.GetAllowedHeaders(), r.GetExposeHeaders()} {
		for _, s := range list {
			n += len(s)
		}
	}
	return n
}

// Normalize returns a copy of rules with duplicate operations collapsed
// (B2 and S3 both merge them), keeping first-seen order.
func Normalize(rules []*corsv1.CorsRule) []*corsv1.CorsRule {
	out := make([]*corsv1.CorsRule, 0, len(rules))
	for _, r := range rules {
		c := &corsv1.CorsRule{
			Name: r.GetName(), AllowedOrigins: r.GetAllowedOrigins(), AllowedHeaders: r.GetAllowedHeaders(),
			ExposeHeaders: r.GetExposeHeaders(), MaxAgeSeconds: r.MaxAgeSeconds, S3Id: r.GetS3Id(),
		}
		seen := map[string]bool{}
		for _, op := range r.GetAllowedOperations() {
			if !seen[op] {
				seen[op] = true
				c.AllowedOperations = append(c.AllowedOperations, op)
			}
		}
		out = append(out, c)
	}
	return out
}

// String renders a rule for logs and test failures.
func String(r *corsv1.CorsRule) string {
	return fmt.Sprintf("%s origins=%v ops=%v headers=%v expose=%v", r.GetName(), r.GetAllowedOrigins(),
		r.GetAllowedOperations(), r.GetAllowedHeaders(), r.GetExposeHeaders())
}
