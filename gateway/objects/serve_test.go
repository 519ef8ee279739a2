package objects

import (
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

// TestParseRangeS3 is S3's reading of Range (spec/s3.md §6.3).
func TestParseRangeS3(t *testing.T) {
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
		r, ok, err := ParseRange(c.h, size, true)
		if c.invalid {
			if !errs.Is(err, errs.InvalidRange) {
				t.Errorf("%q: want InvalidRange, got %v", c.h, err)
			}
			continue
		}
		if err != nil || ok != c.ok || (ok && (r.Start != c.start || r.Length != c.n)) {
			t.Errorf("%q: got %+v ok=%v err=%v, want start %d len %d ok=%v", c.h, r, ok, err, c.start, c.n, c.ok)
		}
	}
	if _, ok, err := ParseRange("bytes=0-", 0, true); ok || err != nil {
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
		r, ok, err := ParseRange(h, size, true)
		if err != nil {
			if !errs.Is(err, errs.InvalidRange) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if ok && (r.Start < 0 || r.Length <= 0 || r.Start+r.Length > size) {
			t.Fatalf("%q size %d: bad range %+v", h, size, r)
		}
	})
}

// TestParseRangeB2 is B2's reading (spec/b2-native.md §6.2): the same but
// for "bytes=0-" on an empty file, which is not satisfiable.
func TestParseRangeB2(t *testing.T) {
	tests := []struct {
		header        string
		size          int64
		start, length int64
		partial       bool
		unsatisfiable bool
	}{
		{"bytes=0-9", 100, 0, 10, true, false},
		{"bytes=90-", 100, 90, 10, true, false},
		{"bytes=90-200", 100, 90, 10, true, false},
		{"bytes=-10", 100, 90, 10, true, false},
		{"bytes=-200", 100, 0, 100, true, false},
		{"bytes=100-", 100, 0, 0, false, true},
		{"bytes=-0", 100, 0, 0, false, true},
		{"bytes=0-", 0, 0, 0, false, true},
		{"bytes=-5", 0, 0, 0, false, false}, // an empty file is served whole
		{"bytes=5-1", 100, 0, 100, false, false},
		{"bytes=0-1,5-6", 100, 0, 100, false, false},
		{"items=0-1", 100, 0, 100, false, false},
		{"bytes=x-1", 100, 0, 100, false, false},
		{"bytes=-", 100, 0, 100, false, false},
	}
	for _, tt := range tests {
		r, ok, err := ParseRange(tt.header, tt.size, false)
		if tt.unsatisfiable {
			if !errs.Is(err, errs.InvalidRange) {
				t.Errorf("%q/%d: %v, want InvalidRange", tt.header, tt.size, err)
			}
			continue
		}
		if err != nil || ok != tt.partial || r.Start != tt.start || r.Length != tt.length {
			t.Errorf("%q/%d = %+v %v %v", tt.header, tt.size, r, ok, err)
		}
	}
}
