package b2

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/coffer-project/coffer/services/errs"
)

// Path prefixes the gateway routes to this front-end.
const (
	// APIPrefix starts every JSON call, upload URL and download by id.
	APIPrefix = "/b2api/"
	// DownloadPrefix starts downloads by name: /file/<bucket>/<name>.
	DownloadPrefix = "/file/"
)

// maxVersion is the newest API version served; v1 is the oldest.
const maxVersion = 4

// Kind is what a path addresses.
type Kind int

// The kinds of B2 request.
const (
	// KindAPI is a JSON call, /b2api/vN/<call> (download by id included).
	KindAPI Kind = iota + 1
	// KindUpload is an upload URL, /b2api/vN/b2_upload_file/<bucketId>/<nonce>.
	KindUpload
	// KindUploadPart is an upload part URL, /b2api/vN/b2_upload_part/<fileId>/<nonce>.
	KindUploadPart
	// KindDownload is a download by name, /file/<bucket>/<name>.
	KindDownload
)

// Route is a classified B2 path.
type Route struct {
	Kind Kind
	// Version is the API version of /b2api/ paths (1–4); downloads by
	// name have none and use the newest shapes.
	Version int
	// Call is the B2 call name: b2_list_buckets, b2_upload_file, ...
	Call string
	// Target is the bucket id (uploads) or large file id (parts) of an
	// upload URL.
	Target string
	// Bucket and Name are a download's bucket name and file name, decoded.
	Bucket, Name string
}

// Classify decides what an escaped request path addresses. It never cleans
// the path: "a//b" and "a/../b" are distinct file names. Names are decoded
// exactly once, '+' as a space, as B2's clients encode them (names.go).
func Classify(escapedPath string) (Route, error) {
	const op = "b2.Classify"
	notFound := func() (Route, error) {
		return Route{}, errs.Errorf(errs.ObjectNotFound, op, "unknown URL").WithDetail("url", "true")
	}
	if rest, ok := strings.CutPrefix(escapedPath, DownloadPrefix); ok {
		bucket, name, ok := strings.Cut(rest, "/")
		if !ok || bucket == "" || name == "" {
			return notFound()
		}
		b, err1 := unescape(bucket)
		n, err2 := unescape(name)
		if err1 != nil || err2 != nil || !utf8.ValidString(b) || !utf8.ValidString(n) {
			return Route{}, errs.Errorf(errs.InvalidArgument, op, "the URL is not valid percent-encoded UTF-8")
		}
		return Route{Kind: KindDownload, Version: maxVersion, Call: "b2_download_file_by_name", Bucket: b, Name: n}, nil
	}
	rest, ok := strings.CutPrefix(escapedPath, APIPrefix)
	if !ok {
		return notFound()
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts[0]) != 2 || parts[0][0] != 'v' {
		return notFound()
	}
	v, err := strconv.Atoi(parts[0][1:])
	if err != nil || v < 1 || v > maxVersion {
		return notFound()
	}
	r := Route{Version: v, Call: parts[1]}
	switch r.Call {
	case "b2_upload_file", "b2_upload_part":
		// The target, then an optional nonce that makes each URL unique;
		// the token, not the URL, carries the authority.
		if len(parts) < 3 || len(parts) > 4 || parts[2] == "" {
			return notFound()
		}
		t, err := url.PathUnescape(parts[2])
		if err != nil || !visibleASCII(t, 200) {
			return notFound()
		}
		r.Target = t
		r.Kind = KindUpload
		if r.Call == "b2_upload_part" {
			r.Kind = KindUploadPart
		}
		return r, nil
	}
	if len(parts) != 2 || !strings.HasPrefix(r.Call, "b2_") {
		return notFound()
	}
	r.Kind = KindAPI
	return r, nil
}

// visibleASCII reports whether s is 1..max bytes of visible ASCII: ids in
// URLs are, and anything else is not one of ours.
func visibleASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
