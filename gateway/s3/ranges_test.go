package s3

import (
	"net/http"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

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
