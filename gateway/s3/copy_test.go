package s3

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

func TestParseCopySource(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, key, version string
		ok                       bool
	}{
		{"bucket/key", "bucket", "key", "", true},
		{"/bucket/a/b/c", "bucket", "a/b/c", "", true},
		{"bucket/a%20b%2Bc%25d%3Fe", "bucket", "a b+c%d?e", "", true},
		{"bucket/a+b", "bucket", "a+b", "", true},
		{"bucket/a/../b//c", "bucket", "a/../b//c", "", true},
		{"bucket/k?versionId=4_zabc", "bucket", "k", "4_zabc", true},
		{"bucket/k%3FversionId%3Dx", "bucket", "k?versionId=x", "", true},
		{"bucket/%E2%9C%93", "bucket", "✓", "", true},
		{"bucket", "", "", "", false},
		{"bucket/", "", "", "", false},
		{"/", "", "", "", false},
		{"bucket/k?versionId=", "", "", "", false},
		{"bucket/%zz", "", "", "", false},
	} {
		b, k, v, err := parseCopySource(tc.in)
		if (err == nil) != tc.ok || b != tc.bucket || k != tc.key || v != tc.version {
			t.Errorf("%q: %q %q %q %v", tc.in, b, k, v, err)
		}
		if err != nil && errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("%q: kind %v", tc.in, errs.KindOf(err))
		}
	}
}

func TestCopyConditions(t *testing.T) {
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	before, after := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)
	for _, tc := range []struct {
		h    map[string]string
		fail bool
	}{
		{map[string]string{}, false},
		{map[string]string{"x-amz-copy-source-if-match": `"etag"`}, false},
		{map[string]string{"x-amz-copy-source-if-match": `"other"`}, true},
		{map[string]string{"x-amz-copy-source-if-none-match": `"etag"`}, true},
		{map[string]string{"x-amz-copy-source-if-none-match": `"other"`}, false},
		{map[string]string{"x-amz-copy-source-if-modified-since": after}, true},
		{map[string]string{"x-amz-copy-source-if-modified-since": before}, false},
		{map[string]string{"x-amz-copy-source-if-unmodified-since": before}, true},
		{map[string]string{"x-amz-copy-source-if-unmodified-since": after}, false},
		// If-Match that holds overrides If-Unmodified-Since.
		{map[string]string{"x-amz-copy-source-if-match": `"etag"`, "x-amz-copy-source-if-unmodified-since": before}, false},
		// A failing If-Modified-Since fails even when If-None-Match holds.
		{map[string]string{"x-amz-copy-source-if-none-match": `"other"`, "x-amz-copy-source-if-modified-since": after}, true},
		{map[string]string{"x-amz-copy-source-if-modified-since": "not a date"}, false},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		err := checkCopyConditions(h, "etag", mod)
		if (err != nil) != tc.fail || (err != nil && errs.KindOf(err) != errs.PreconditionFailed) {
			t.Errorf("%v: %v", tc.h, err)
		}
	}
}

// FuzzCopySource: any header value parses or is refused as a client
// error; what parses names a bucket and key, and re-encoding them parses
// back to the same (the value is decoded exactly once).
func FuzzCopySource(f *testing.F) {
	for _, s := range []string{"b/k", "/b/a%2Fb?versionId=x", "b/%", "b/k?versionId=1&versionId=2", "b/a b+c", "b/..%2F..%2Fetc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, k, v, err := parseCopySource(in)
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument {
				t.Fatalf("%q: kind %v", in, errs.KindOf(err))
			}
			return
		}
		if b == "" || k == "" || strings.Contains(b, "/") {
			t.Fatalf("%q: bucket %q key %q", in, b, k)
		}
		enc := url.PathEscape(b) + "/" + url.PathEscape(k)
		if v != "" {
			enc += "?versionId=" + url.QueryEscape(v)
		}
		b2, k2, v2, err := parseCopySource(enc)
		if err != nil || b2 != b || k2 != k || v2 != v {
			t.Fatalf("%q → %q: %q %q %q %v", in, enc, b2, k2, v2, err)
		}
	})
}
