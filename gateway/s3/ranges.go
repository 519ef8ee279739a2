package s3

import (
	"net/http"
	"strings"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

// httpTime formats a time as an HTTP date.
func httpTime(unixNanos int64) string {
	return time.Unix(0, unixNanos).UTC().Format(http.TimeFormat)
}

// parseHTTPDate accepts RFC 1123, RFC 850 and asctime dates.
func parseHTTPDate(s string) (time.Time, bool) {
	t, err := http.ParseTime(s)
	return t, err == nil
}

// etagMatches compares an If-Match/If-None-Match list with an ETag,
// ignoring quotes and weak markers; "*" matches any existing object.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		t = strings.Trim(t, `"`)
		if t == "*" || (t != "" && t == etag) {
			return true
		}
	}
	return false
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since with RFC 7232's precedence, as S3 does (§6.4).
func checkConditions(h http.Header, etag string, modified time.Time) error {
	const op = "s3.conditions"
	modified = modified.Truncate(time.Second)
	im, inm := h.Get("If-Match"), h.Get("If-None-Match")
	if im != "" {
		if !etagMatches(im, etag) {
			return errs.E(errs.PreconditionFailed, op, nil)
		}
	} else if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, ok := parseHTTPDate(v); ok && modified.After(t) {
			return errs.E(errs.PreconditionFailed, op, nil)
		}
	}
	if inm != "" {
		if etagMatches(inm, etag) {
			return errs.E(errs.NotModified, op, nil)
		}
	} else if v := h.Get("If-Modified-Since"); v != "" {
		if t, ok := parseHTTPDate(v); ok && !modified.After(t) {
			return errs.E(errs.NotModified, op, nil)
		}
	}
	return nil
}
