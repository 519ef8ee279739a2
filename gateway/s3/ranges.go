package s3

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

// byteRange is a resolved, satisfiable range [start, start+length).
type byteRange struct {
	start, length int64
}

// parseRange resolves a Range header against an object size the way S3
// does (spec/s3.md §6.3): a malformed header or a multi-range is ignored
// (ok=false: serve the whole object), a start at or beyond the end is
// InvalidRange, an end past the end is clamped.
func parseRange(header string, size int64) (r byteRange, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	// Whitespace inside the range ("bytes= -1") makes it invalid, and S3
	// ignores an invalid range rather than reading it as a suffix.
	if !found || strings.Contains(spec, ",") || strings.ContainsAny(spec, " \t") {
		return r, false, nil
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return r, false, nil
	}
	unsatisfiable := func() error {
		return errs.E(errs.InvalidRange, "s3.Range", nil).
			WithDetail("actual_object_size", strconv.FormatInt(size, 10)).WithDetail("range_requested", header)
	}
	switch {
	case first == "" && last == "":
		return r, false, nil
	case first == "":
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < 0 {
			return r, false, nil
		}
		if size == 0 {
			return r, false, nil // an empty object served whole (our choice, spec §6.3)
		}
		if n == 0 {
			return r, false, unsatisfiable()
		}
		if n > size {
			n = size
		}
		return byteRange{start: size - n, length: n}, true, nil
	default:
		start, perr := strconv.ParseInt(first, 10, 64)
		if perr != nil || start < 0 {
			return r, false, nil
		}
		end := size - 1
		if last != "" {
			e, perr := strconv.ParseInt(last, 10, 64)
			if perr != nil || e < start {
				return r, false, nil
			}
			if e < end {
				end = e
			}
		}
		if start >= size {
			if size == 0 && start == 0 {
				return r, false, nil // an empty object served whole (our choice, spec §6.3)
			}
			return r, false, unsatisfiable()
		}
		return byteRange{start: start, length: end - start + 1}, true, nil
	}
}

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
