package policy

import (
	"strconv"
	"strings"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
)

// Request is one request as CORS sees it.
type Request struct {
	// Operation is the CORS operation (spec/cors.md §1.2), e.g. "s3_get".
	Operation string
	// Origin is the Origin header ("" when absent).
	Origin string
	// Method is the HTTP method, or Access-Control-Request-Method for a preflight.
	Method string
	// Headers are Access-Control-Request-Headers, raw (split here).
	Headers string
	// Preflight is true for OPTIONS with Origin and Access-Control-Request-Method.
	Preflight bool
	// BucketPublic is true for allPublic buckets.
	BucketPublic bool
	// Token is the kind of credential in the request URL.
	Token corsv1.TokenKind
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Decision corsv1.Decision
	// Headers to add to the response (preflight answer or actual response).
	Headers []*corsv1.Header
	// Message explains a DENY, for the dialect's error body.
	Message string
	// Rule is the index of the matching rule, or -1.
	Rule int
}

// Messages of refused preflights.
const (
	MsgNotEnabled = "CORS is not enabled for this bucket."
	MsgNotAllowed = "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
	MsgNeedsToken = "A cross-origin download from a private bucket needs a download authorization token in the URL."
)

// nativeMethods are the HTTP methods each native operation uses; a native
// preflight must ask for one of them (spec/cors.md §1.2, our choice).
var nativeMethods = map[string]string{
	"b2_download_file_by_name": "GET, HEAD",
	"b2_download_file_by_id":   "GET, HEAD",
	"b2_upload_file":           "POST",
	"b2_upload_part":           "POST",
}

// SplitHeaders splits an Access-Control-Request-Headers value: comma
// separated, trimmed, empty items dropped.
func SplitHeaders(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// Evaluate decides req against rules: the first rule whose origins, operations
// and (for a preflight) allowed headers all match wins.
func Evaluate(rules []*corsv1.CorsRule, req Request) Decision {
	d := Decision{Rule: -1, Decision: corsv1.Decision_DECISION_NO_CORS}
	native := strings.HasPrefix(req.Operation, "b2_")
	if req.Preflight {
		d.Decision = corsv1.Decision_DECISION_DENY
		d.Message = MsgNotAllowed
		if len(rules) == 0 {
			d.Message = MsgNotEnabled
			return d
		}
		if native && strings.HasPrefix(req.Operation, "b2_download") && !req.BucketPublic && req.Token != corsv1.TokenKind_TOKEN_KIND_DOWNLOAD {
			// B2 refuses preflights that use the account token on private
			// buckets; only a download-authorization token in the URL can
			// prove the page may read (spec/cors.md §1.6).
			d.Message = MsgNeedsToken
			return d
		}
		if native && !strings.Contains(nativeMethods[req.Operation], req.Method) {
			return d
		}
	}
	if req.Origin == "" || req.Operation == "" {
		if len(rules) > 0 && !req.Preflight {
			d.Headers = []*corsv1.Header{{Name: "Vary", Value: "Origin"}}
		}
		return d
	}
	reqOrigin, reqOK := parseOrigin(req.Origin, false)
	headers := SplitHeaders(req.Headers)
	for i, r := range rules {
		if !ruleMatches(r, req, reqOrigin, reqOK, headers) {
			continue
		}
		d.Decision, d.Rule, d.Message = corsv1.Decision_DECISION_ALLOW, i, ""
		d.Headers = responseHeaders(r, req, headers, native)
		return d
	}
	if !req.Preflight && len(rules) > 0 {
		// No match: no CORS headers, but the answer still depended on
		// Origin, so caches must key on it.
		d.Headers = []*corsv1.Header{{Name: "Vary", Value: "Origin"}}
	}
	return d
}

func ruleMatches(r *corsv1.CorsRule, req Request, reqOrigin origin, reqOK bool, headers []string) bool {
	opOK := false
	for _, op := range r.GetAllowedOperations() {
		opOK = opOK || op == req.Operation
	}
	if !opOK {
		return false
	}
	originOK := false
	for _, o := range r.GetAllowedOrigins() {
		if compileOrigin(o).match(req.Origin, reqOrigin, reqOK) {
			originOK = true
			break
		}
	}
	if !originOK {
		return false
	}
	if !req.Preflight {
		return true
	}
	for _, h := range headers {
		if !headerAllowed(r.GetAllowedHeaders(), h) {
			return false
		}
	}
	return true
}

// headerAllowed: exact name, a prefix ending in '*', '*' alone, or (S3) one
// '*' anywhere — names compared case-insensitively.
func headerAllowed(allowed []string, h string) bool {
	h = strings.ToLower(h)
	for _, a := range allowed {
		a = strings.ToLower(a)
		pre, suf, star := strings.Cut(a, "*")
		if !star {
			if a == h {
				return true
			}
			continue
		}
		if len(h) >= len(pre)+len(suf) && strings.HasPrefix(h, pre) && strings.HasSuffix(h, suf) {
			return true
		}
	}
	return false
}

// s3Methods are the upper-case methods of a rule's s3_* operations.
func s3Methods(r *corsv1.CorsRule) []string {
	var out []string
	seen := map[string]bool{}
	for _, op := range r.GetAllowedOperations() {
		if m, ok := strings.CutPrefix(op, "s3_"); ok && !seen[m] {
			seen[m] = true
			out = append(out, strings.ToUpper(m))
		}
	}
	return out
}

func responseHeaders(r *corsv1.CorsRule, req Request, headers []string, native bool) []*corsv1.Header {
	var out []*corsv1.Header
	add := func(name, value string) { out = append(out, &corsv1.Header{Name: name, Value: value}) }
	if native {
		// B2 native: echo the origin, never credentials (spec/cors.md §1.5).
		add("Access-Control-Allow-Origin", req.Origin)
		if req.Preflight {
			add("Access-Control-Allow-Methods", nativeMethods[req.Operation])
			if len(headers) > 0 {
				add("Access-Control-Allow-Headers", strings.Join(headers, ", "))
			}
			if r.MaxAgeSeconds != nil {
				add("Access-Control-Max-Age", strconv.Itoa(int(r.GetMaxAgeSeconds())))
			}
			add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
			return out
		}
		if len(r.GetExposeHeaders()) > 0 {
			add("Access-Control-Expose-Headers", strings.Join(r.GetExposeHeaders(), ", "))
		}
		add("Vary", "Origin")
		return out
	}
	// S3 (spec/cors.md §2.3): '*' for a bare-'*' rule, else the origin
	// echoed with credentials allowed.
	wildcard := len(r.GetAllowedOrigins()) == 1 && r.GetAllowedOrigins()[0] == "*"
	if wildcard {
		add("Access-Control-Allow-Origin", "*")
	} else {
		add("Access-Control-Allow-Origin", req.Origin)
		add("Access-Control-Allow-Credentials", "true")
	}
	add("Access-Control-Allow-Methods", strings.Join(s3Methods(r), ", "))
	if req.Preflight && len(headers) > 0 {
		low := make([]string, len(headers))
		for i, h := range headers {
			low[i] = strings.ToLower(h)
		}
		add("Access-Control-Allow-Headers", strings.Join(low, ", "))
	}
	if len(r.GetExposeHeaders()) > 0 {
		add("Access-Control-Expose-Headers", strings.Join(r.GetExposeHeaders(), ", "))
	}
	if r.MaxAgeSeconds != nil {
		add("Access-Control-Max-Age", strconv.Itoa(int(r.GetMaxAgeSeconds())))
	}
	add("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	return out
}
