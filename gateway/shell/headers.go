package shell

import (
	"net/http"
	"strings"
)

// StripHeaders removes from h every header a handler may have set for a
// successful answer — Content-Length, ETag, Last-Modified, version ids,
// metadata, checksums... — so that an error response never carries the
// content headers of the object it failed to serve. What stays: the
// request id headers (keep), Server, and the CORS headers, which belong on
// error responses too (scripts read the error through them). Whatever an
// error needs (Retry-After, Content-Range, a delete marker's version id)
// the dialect's error writer sets afterwards.
func StripHeaders(h http.Header, keep []string) {
	for name := range h {
		if !kept(name, keep) {
			delete(h, name)
		}
	}
}

func kept(name string, keep []string) bool {
	if len(name) > 15 && strings.EqualFold(name[:15], "Access-Control-") {
		return true
	}
	if strings.EqualFold(name, "Vary") || strings.EqualFold(name, "Server") {
		return true
	}
	for _, k := range keep {
		if strings.EqualFold(name, k) {
			return true
		}
	}
	return false
}
