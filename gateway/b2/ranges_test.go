package b2

import (
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

func TestParseRange(t *testing.T) {
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
		r, ok, err := parseRange(tt.header, tt.size)
		if tt.unsatisfiable {
			if !errs.Is(err, errs.InvalidRange) {
				t.Errorf("%q/%d: %v, want InvalidRange", tt.header, tt.size, err)
			}
			continue
		}
		if err != nil || ok != tt.partial || r.start != tt.start || r.length != tt.length {
			t.Errorf("%q/%d = %+v %v %v", tt.header, tt.size, r, ok, err)
		}
	}
}
