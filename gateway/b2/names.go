package b2

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coffer-project/coffer/gateway/objects"
	"github.com/coffer-project/coffer/services/errs"
)

// File names and file info as they travel in headers (spec/b2-native.md
// §5.2, §7, §9).

// Limits on uploads' headers.
const (
	maxInfoHeaders = 10
	// maxNameInfoBytes bounds the file name plus file info; with
	// server-side encryption or file lock settings the bound is
	// maxNameInfoBytesSSE.
	maxNameInfoBytes    = 7000
	maxNameInfoBytesSSE = 2048
)

// infoHeaderPrefix starts custom file info headers.
const infoHeaderPrefix = "X-Bz-Info-"

// contentInfo are the b2-* file info keys that become real headers on
// download, in the order they are emitted.
var contentInfo = []struct{ info, header, param string }{
	{"b2-content-disposition", "Content-Disposition", "b2ContentDisposition"},
	{"b2-content-language", "Content-Language", "b2ContentLanguage"},
	{"b2-expires", "Expires", "b2Expires"},
	{"b2-cache-control", "Cache-Control", "b2CacheControl"},
	{"b2-content-encoding", "Content-Encoding", "b2ContentEncoding"},
}

func isContentInfo(key string) bool {
	for _, ci := range contentInfo {
		if ci.info == key {
			return true
		}
	}
	return false
}

// Header and path values are form-decoded: any %XX is decoded and '+' is a
// space. spec/b2-native.md §7 proposed keeping '+', but B2's own clients
// settle it the other way: b2sdk decodes these headers with unquote_plus,
// blazer encodes names with QueryEscape (space → '+') in headers and in
// /file/ paths, and both send a literal '+' as %2B. So we decode '+' as a
// space and always encode '+' as %2B.

// unescape form-decodes a header or path value.
func unescape(s string) (string, error) { return url.QueryUnescape(s) }

// decodeName decodes a file name from a header: raw non-ASCII bytes are
// refused (headers are ASCII after encoding), and the result must be a
// valid file name.
func decodeName(raw string) (string, error) {
	const op = "b2.fileName"
	for i := 0; i < len(raw); i++ {
		if raw[i] >= 0x80 {
			return "", errs.Errorf(errs.InvalidKeyName, op, "X-Bz-File-Name must be percent-encoded ASCII")
		}
	}
	name, err := unescape(raw)
	if err != nil {
		return "", errs.Errorf(errs.InvalidKeyName, op, "X-Bz-File-Name is not valid percent-encoding")
	}
	if err := objects.ValidateKey(name); err != nil {
		return "", err
	}
	return name, nil
}

// encodeHeader percent-encodes s for a response header: every byte except
// the set Backblaze's encoders leave alone, less '+' (which decoders read
// as a space) — so b2sdk's unquote_plus and Go's QueryUnescape both get s
// back.
func encodeHeader(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*,;=:@/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
	}
	return b.String()
}

// parseFileInfo validates file info given as JSON (b2_start_large_file,
// b2_copy_file) or collected from X-Bz-Info-* headers: at most 10 entries,
// keys as bucketInfo keys (stored lower-cased), only the five b2-* content
// keys, b2-expires an HTTP date, src_last_modified_millis decimal, and the
// name plus info within the header budget.
func parseFileInfo(name string, in map[string]string, encrypted bool) (map[string]string, error) {
	const op = "b2.fileInfo"
	bad := func(format string, args ...any) error { return errs.Errorf(errs.InvalidArgument, op, format, args...) }
	if len(in) > maxInfoHeaders {
		return nil, bad("at most %d file info entries are allowed", maxInfoHeaders)
	}
	out := make(map[string]string, len(in))
	total := len(name)
	for k, v := range in {
		if !validInfoKey(k) {
			return nil, bad("invalid file info name %q", truncate(k, 64))
		}
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup {
			return nil, bad("file info name %q appears twice", lk)
		}
		switch {
		case strings.HasPrefix(lk, "b2-") && !isContentInfo(lk):
			return nil, bad("file info names starting with b2- are reserved")
		case lk == "b2-expires":
			if _, err := http.ParseTime(v); err != nil {
				return nil, bad("b2-expires must be an HTTP date")
			}
		case lk == "src_last_modified_millis":
			if _, err := strconv.ParseUint(v, 10, 63); err != nil {
				return nil, bad("src_last_modified_millis must be a decimal number of milliseconds")
			}
		case lk == "large_file_sha1":
			if !isHexSHA1(v) {
				return nil, bad("large_file_sha1 must be 40 hex digits")
			}
		}
		if !utf8.ValidString(v) {
			return nil, bad("file info values must be UTF-8")
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 && v[i] != '\t' || v[i] == 0x7f {
				return nil, bad("file info values must not contain control characters")
			}
		}
		total += len(infoHeaderPrefix) + len(lk) + len(encodeHeader(v))
		out[lk] = v
	}
	limit := maxNameInfoBytes
	if encrypted {
		limit = maxNameInfoBytesSSE
	}
	if total > limit {
		return nil, errs.Errorf(errs.MetadataTooLarge, op, "the file name and file info must fit in %d bytes", limit)
	}
	return out, nil
}

// infoFromHeaders collects X-Bz-Info-* headers, percent-decoding values.
func infoFromHeaders(h http.Header) (map[string]string, error) {
	info := map[string]string{}
	for name, values := range h {
		if len(name) <= len(infoHeaderPrefix) || !strings.EqualFold(name[:len(infoHeaderPrefix)], infoHeaderPrefix) {
			continue
		}
		if len(values) != 1 {
			return nil, errs.Errorf(errs.InvalidArgument, "b2.fileInfo", "%s appears more than once", name)
		}
		v, err := unescape(values[0])
		if err != nil {
			return nil, errs.Errorf(errs.InvalidArgument, "b2.fileInfo", "%s is not valid percent-encoding", name)
		}
		key := strings.ToLower(name[len(infoHeaderPrefix):])
		if _, dup := info[key]; dup {
			return nil, errs.Errorf(errs.InvalidArgument, "b2.fileInfo", "%s appears more than once", name)
		}
		info[key] = v
	}
	return info, nil
}

func isHexSHA1(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// millis renders a nanosecond time as B2's milliseconds.
func millis(nanos int64) string { return strconv.FormatInt(nanos/int64(time.Millisecond), 10) }
