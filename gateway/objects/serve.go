package objects

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Range is a resolved, satisfiable byte range of an object:
// [Start, Start+Length).
type Range struct {
	Start, Length int64
}

// ParseRange resolves a single Range header against an object size, for
// S3 and B2 alike (spec/s3.md §6.3, spec/b2-native.md §6.2): "bytes=a-b",
// "bytes=a-" and the suffix "bytes=-n". A header that is not one of these,
// or a multi-range, is ignored (partial=false: serve the whole object), as
// HTTP allows; a start at or beyond the end, or an empty suffix, is not
// satisfiable (InvalidRange, with the size in the actual_object_size
// detail for Content-Range); an end past the end is clamped. The one place
// the dialects differ is "bytes=0-" on an empty object: S3 serves it whole
// (emptyWhole), B2 answers 416.
func ParseRange(header string, size int64, emptyWhole bool) (r Range, partial bool, err error) {
	whole := Range{0, size}
	spec, found := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	// Whitespace inside the range ("bytes= -1") makes it invalid (HTTP's
	// byte-range grammar has none), and S3 ignores an invalid range rather
	// than reading it as a suffix.
	if !found || strings.Contains(spec, ",") || strings.ContainsAny(spec, " \t") {
		return whole, false, nil
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return whole, false, nil
	}
	unsatisfiable := func() error {
		return errs.E(errs.InvalidRange, "objects.Range", nil).
			WithDetail("actual_object_size", strconv.FormatInt(size, 10)).WithDetail("range_requested", header)
	}
	switch {
	case first == "" && last == "":
		return whole, false, nil
	case first == "":
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < 0 {
			return whole, false, nil
		}
		if size == 0 {
			return whole, false, nil // an empty object is served whole
		}
		if n == 0 {
			return whole, false, unsatisfiable()
		}
		n = min(n, size)
		return Range{size - n, n}, true, nil
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
		if size == 0 && start == 0 && emptyWhole {
			return whole, false, nil
		}
		return whole, false, unsatisfiable()
	}
	return Range{start, end - start + 1}, true, nil
}

// ServeRange answers a read of rng of version v: Content-Length (and
// Content-Range when partial), the status, then the bytes. The front-end
// sets the other headers first. HEAD and empty ranges get the headers only.
//
// The content is opened and its first bytes read before the status line is
// written, so a version whose bytes cannot be read is an error returned
// with nothing written — a 500 in the client's dialect — not a 200 cut
// short. An error after the status line is returned too; the request shell
// then cuts the connection.
func (l *Layer) ServeRange(w http.ResponseWriter, r *http.Request, v *metadatav1.ObjectVersion, rng Range, partial bool, opts ReadOptions) error {
	hd := w.Header()
	hd.Set("Content-Length", strconv.FormatInt(rng.Length, 10))
	status := http.StatusOK
	if partial {
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(rng.Start, 10)+"-"+
			strconv.FormatInt(rng.Start+rng.Length-1, 10)+"/"+strconv.FormatInt(v.GetSize(), 10))
		status = http.StatusPartialContent
	}
	if r.Method == http.MethodHead || rng.Length == 0 {
		w.WriteHeader(status)
		return nil
	}
	rc := l.OpenWith(r.Context(), v, rng.Start, rng.Length, opts)
	defer rc.Close()
	bufp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bufp)
	buf := *bufp
	// A few KiB are enough to open the first segment (which verifies its
	// first batch of chunks); the rest goes out through WriteTo without
	// another copy.
	n, err := io.ReadFull(rc, buf[:min(firstBytes, rng.Length)])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return err
	}
	w.WriteHeader(status)
	if _, err := w.Write(buf[:n]); err != nil {
		return nil // the client went away
	}
	// segmentReader's WriteTo hands w the blob client's verified buffers.
	_, err = io.CopyBuffer(writerOnly{w}, rc, buf)
	return err
}

// firstBytes is how much ServeRange reads before the status line.
const firstBytes = 16 << 10

// writerOnly hides ReadFrom, so io.CopyBuffer uses the reader's WriteTo or
// the pooled buffer.
type writerOnly struct{ io.Writer }
