package b2

import (
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/services/errs"
)

// byteRange is a resolved, satisfiable range [start, start+length).
type byteRange struct {
	start, length int64
}

// parseRange resolves a single Range header against a file size
// (spec/b2-native.md §6.2): "bytes=a-b", "bytes=a-" and the suffix
// "bytes=-n". A header that is not one of these is ignored (ok=false, the
// whole file is served), as HTTP allows; a start at or beyond the end, or
// an empty suffix, is not satisfiable (416, with the size for
// Content-Range); an end past the end is clamped.
func parseRange(header string, size int64) (r byteRange, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return byteRange{0, size}, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return byteRange{0, size}, false, nil
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	unsatisfiable := func() error {
		return errs.E(errs.InvalidRange, "b2.Range", nil).WithDetail("size", strconv.FormatInt(size, 10))
	}
	whole := byteRange{0, size}
	switch {
	case first == "" && last == "":
		return whole, false, nil
	case first == "":
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < 0 {
			return whole, false, nil
		}
		if size == 0 {
			return whole, false, nil // an empty file is served whole
		}
		if n == 0 {
			return r, false, unsatisfiable()
		}
		n = min(n, size)
		return byteRange{size - n, n}, true, nil
	}
	start, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil || start < 0 {
		return whole, false, nil
	}
	end := size - 1
	if last != "" {
		e, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || e < start {
			return whole, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return r, false, unsatisfiable()
	}
	return byteRange{start, end - start + 1}, true, nil
}
