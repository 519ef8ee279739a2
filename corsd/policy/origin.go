package policy

import (
	"strconv"
	"strings"
)

// origin is a parsed origin (or origin pattern): scheme, host and port,
// with the port filled in from the scheme's default.
type origin struct {
	scheme, host string
	port         int
}

func defaultPort(scheme string) int {
	switch scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// parseOrigin splits "scheme://host[:port]". Host and scheme are lower-cased
// (URL semantics; spec/cors.md §1.3). A path, query, fragment or userinfo
// makes it invalid. wildcardHost allows one '*' in the host.
func parseOrigin(s string, wildcardHost bool) (origin, bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || rest == "" || strings.ContainsAny(rest, "/?#@ ") {
		return origin{}, false
	}
	for _, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return origin{}, false
		}
	}
	o := origin{scheme: strings.ToLower(scheme)}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
		if port == "" {
			return origin{}, false
		}
	}
	if host == "" || strings.Count(host, "*") > 1 || (!wildcardHost && strings.Contains(host, "*")) {
		return origin{}, false
	}
	o.host = strings.ToLower(host)
	if port == "" {
		o.port = defaultPort(o.scheme)
	} else {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return origin{}, false
		}
		o.port = n
	}
	return o, true
}

// originPattern is one allowedOrigins entry, ready to match.
type originPattern struct {
	any      bool   // "*"
	anyHTTPS bool   // "https"
	validB2  bool   // B2 native syntax: full origin, maybe one '*' in the host
	validS3  bool   // S3 syntax: any string with at most one '*'
	exact    origin // the parsed B2 origin
	wildcard bool   // exact.host holds the '*'
	hostPre  string // host text before and after the '*'
	hostSuf  string
	star     bool   // S3 glob: the raw entry holds a '*'
	pre, suf string // S3 glob parts (lower-cased); pre is the whole entry without '*'
}

// compileOrigin classifies an allowedOrigins entry. An entry may be valid
// B2 syntax, S3 syntax, both, or neither (then validation refuses it).
func compileOrigin(s string) originPattern {
	var p originPattern
	switch {
	case s == "":
		return p
	case s == "*":
		p.any, p.validB2, p.validS3 = true, true, true
		return p
	case s == "https":
		p.anyHTTPS, p.validB2 = true, true
		return p
	}
	if o, ok := parseOrigin(s, true); ok {
		p.exact, p.validB2 = o, true
		if i := strings.IndexByte(o.host, '*'); i >= 0 {
			p.wildcard, p.hostPre, p.hostSuf = true, o.host[:i], o.host[i+1:]
		}
	}
	if strings.Count(s, "*") <= 1 && !strings.ContainsAny(s, " ") {
		p.validS3 = true
		low := strings.ToLower(s)
		if i := strings.IndexByte(low, '*'); i >= 0 {
			p.star, p.pre, p.suf = true, low[:i], low[i+1:]
		} else {
			p.pre = low
		}
	}
	return p
}

// match reports whether a request Origin matches the pattern. Entries in
// B2 syntax are matched with default ports filled in and case-insensitive
// scheme and host (spec/cors.md §1.3). Entries only S3 syntax accepts (a
// '*' outside the host, as in "http://localhost:*") are matched as S3 does:
// the text before '*' a prefix and the text after it a suffix of the whole
// Origin, without overlap (§2.2) — case-insensitively, a documented
// divergence from AWS's exact compare.
func (p originPattern) match(requestOrigin string, req origin, reqOK bool) bool {
	switch {
	case requestOrigin == "":
		return false
	case p.any:
		return true
	case p.anyHTTPS:
		return reqOK && req.scheme == "https"
	case p.validB2 && !p.wildcard:
		return reqOK && req == p.exact
	case p.validB2:
		if !reqOK || req.scheme != p.exact.scheme || req.port != p.exact.port {
			return false
		}
		// '*' stands for one or more characters of the host.
		return len(req.host) > len(p.hostPre)+len(p.hostSuf) &&
			strings.HasPrefix(req.host, p.hostPre) && strings.HasSuffix(req.host, p.hostSuf)
	case p.validS3:
		o := strings.ToLower(requestOrigin)
		if !p.star {
			return o == p.pre
		}
		return len(o) >= len(p.pre)+len(p.suf) && strings.HasPrefix(o, p.pre) && strings.HasSuffix(o, p.suf)
	}
	return false
}
