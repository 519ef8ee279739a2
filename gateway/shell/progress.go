package shell

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

// Slow and stalled clients. A request holds a slot for as long as it runs,
// and a client that stops reading the response (or stops sending the body
// it announced) would otherwise hold it for as long as its socket stays
// open. So every read of the body and every write of the response runs
// under a connection deadline of "now + the stall timeout", pushed forward
// as bytes move: a client that makes progress is never cut, one that makes
// none for the stall timeout gets an error in its Read or Write, the
// handler returns, and the slot is freed. The deadlines are set through
// the connection (http.ResponseController's mechanism), so they work the
// same for HTTP/1 and HTTP/2 streams.

// deadliner is what http.ResponseController uses: the server's
// ResponseWriter (HTTP/1 and HTTP/2) implements both methods.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// maxWriteChunk bounds one write to the connection, so that a client that
// reads slowly but steadily moves every chunk well within the stall
// timeout (a single 256 KiB write to a 4 KiB/s reader would not).
const maxWriteChunk = 64 << 10

// responseWriter records the status and the bytes written, so an error
// after the first byte aborts the connection instead of appending an
// error to a half-sent body, and pushes the write deadline on progress.
type responseWriter struct {
	http.ResponseWriter
	status int
	out    atomic.Int64
	stall  time.Duration
	conn   deadliner // nil: no deadlines (stall 0, or a writer without them)
	// readPushed and writePushed are when each deadline was last moved
	// (unix nanoseconds). The body may be read on another goroutine than
	// the one writing the response (a blob put streams it), hence atomics.
	readPushed, writePushed atomic.Int64
}

func (w *responseWriter) init(rw http.ResponseWriter, stall time.Duration) {
	w.ResponseWriter, w.stall = rw, stall
	if stall > 0 {
		w.conn, _ = rw.(deadliner)
	}
}

// pushWrite moves the write deadline to now + stall, unless it was moved
// in the last eighth of stall (deadlines are cheap, not free).
func (w *responseWriter) pushWrite() {
	if w.conn == nil {
		return
	}
	if now := time.Now(); push(&w.writePushed, now, w.stall) {
		_ = w.conn.SetWriteDeadline(now.Add(w.stall))
	}
}

func (w *responseWriter) pushRead() {
	if w.conn == nil {
		return
	}
	if now := time.Now(); push(&w.readPushed, now, w.stall) {
		_ = w.conn.SetReadDeadline(now.Add(w.stall))
	}
}

// push reports whether a deadline last moved at *last should move now,
// and records now if so.
func push(last *atomic.Int64, now time.Time, stall time.Duration) bool {
	prev := last.Load()
	return now.UnixNano()-prev > int64(stall/8) && last.CompareAndSwap(prev, now.UnixNano())
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.pushWrite()
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxWriteChunk)]
		w.pushWrite()
		n, err := w.ResponseWriter.Write(chunk)
		written += n
		w.out.Add(int64(n))
		if err != nil {
			return written, stalled(err)
		}
		p = p[n:]
	}
	return written, nil
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// body is the request body as the handler reads it: bytes are counted,
// and the read deadline is pushed as they arrive.
type body struct {
	rc io.ReadCloser
	w  *responseWriter
	in atomic.Int64
}

func (b *body) Read(p []byte) (int, error) {
	b.w.pushRead()
	// A read may make the server send "100 Continue": that write must not
	// run into a deadline left from an earlier request on the connection.
	b.w.pushWrite()
	n, err := b.rc.Read(p)
	b.in.Add(int64(n))
	if err != nil {
		if err == io.EOF && b.w.conn != nil {
			// The body is done. The server now watches the connection
			// for the client going away; that read must not time out.
			_ = b.w.conn.SetReadDeadline(time.Time{})
		}
		return n, stalled(err)
	}
	return n, nil
}

func (b *body) Close() error { return b.rc.Close() }

// stalled turns a deadline that fired into the domain error for a client
// that stopped sending or reading: S3's RequestTimeout, B2's
// request_timeout. Other errors pass unchanged.
func stalled(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errs.E(errs.Canceled, "shell", err)
	}
	return err
}
