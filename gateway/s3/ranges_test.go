package s3

import (
	"net/http"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

func TestParseRange(t *testing.T) {
	const size = 1000
	cases := []struct {
		h           string
		start, n    int64
		ok, invalid bool
	}{
		{"bytes=0-0", 0, 1, true, false},
		{"bytes=0-999", 0, 1000, true, false},
		{"bytes=0-5000", 0, 1000, true, false},
		{"bytes=500-", 500, 500, true, false},
		{"bytes=-1", 999, 1, true, false},
		{"bytes=-2000", 0, 1000, true, false},
		{"bytes=999-999", 999, 1, true, false},
		{"bytes=1000-", 0, 0, false, true},
		{"bytes=1000-2000", 0, 0, false, true},
		{"bytes=-0", 0, 0, false, true},
		{"bytes=5-1", 0, 0, false, false},
		{"bytes=1-2,4-5", 0, 0, false, false},
		{"bytes=a-b", 0, 0, false, false},
		{"items=0-1", 0, 0, false, false},
		{"bytes=-", 0, 0, false, false},
		{"bytes=99999999999999999999-", 0, 0, false, false},
		{"bytes= -1", 0, 0, false, false},
		{"bytes=0 -1", 0, 0, false, false},
		{" bytes=0-1 ", 0, 2, true, false},
	}
	for _, c := range cases {
		r, ok, err := parseRange(c.h, size)
		if c.invalid {
			if !errs.Is(err, errs.InvalidRange) {
				t.Errorf("%q: want InvalidRange, got %v", c.h, err)
			}
			continue
		}
		if err != nil || ok != c.ok || (ok && (r.start != c.start || r.length != c.n)) {
			t.Errorf("%q: got %+v ok=%v err=%v, want start %d len %d ok=%v", c.h, r, ok, err, c.start, c.n, c.ok)
		}
	}
	if _, ok, err := parseRange("bytes=0-", 0); ok || err != nil {
		t.Errorf("empty object bytes=0-: ok=%v err=%v, want whole object", ok, err)
	}
}

func FuzzRangeHeader(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=-5", "bytes=5-", "bytes=5-1", "bytes=0-1,2-3", "x", "bytes=--1"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		r, ok, err := parseRange(h, size)
		if err != nil {
			if !errs.Is(err, errs.InvalidRange) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if ok && (r.start < 0 || r.length <= 0 || r.start+r.length > size) {
			t.Fatalf("%q size %d: bad range %+v", h, size, r)
		}
	})
}

func TestCheckConditions(t *testing.T) {
	mod := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	before, after := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)
	cases := []struct {
		h    map[string]string
		want errs.Kind
	}{
		{map[string]string{}, errs.Other},
		{map[string]string{"If-Match": `"abc"`}, errs.Other},
		{map[string]string{"If-Match": `"nope"`}, errs.PreconditionFailed},
		{map[string]string{"If-Match": `*`}, errs.Other},
		{map[string]string{"If-None-Match": `"abc"`}, errs.NotModified},
		{map[string]string{"If-None-Match": `W/"abc"`}, errs.NotModified},
		{map[string]string{"If-None-Match": `"x", "abc"`}, errs.NotModified},
		{map[string]string{"If-Modified-Since": after}, errs.NotModified},
		{map[string]string{"If-Modified-Since": before}, errs.Other},
		{map[string]string{"If-Unmodified-Since": before}, errs.PreconditionFailed},
		{map[string]string{"If-Unmodified-Since": after}, errs.Other},
		// If-Match true wins over a failing If-Unmodified-Since (RFC 7232).
		{map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": before}, errs.Other},
		// If-None-Match false wins over If-Modified-Since.
		{map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": after}, errs.Other},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.h {
			h.Set(k, v)
		}
		if got := errs.KindOf(checkConditions(h, "abc", mod)); got != c.want {
			t.Errorf("%v: got %v, want %v", c.h, got, c.want)
		}
	}
}
