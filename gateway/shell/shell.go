package shell

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Dialect is what a front-end tells the shell about itself.
type Dialect struct {
	// API names the front-end in logs ("s3", "b2", "r2").
	API string
	// Ops names the front-end's operations; Exchange.SetOp takes an index
	// into it. Index 0 is the name of a request not classified (yet).
	Ops []string
	// NewID returns a fresh request id in the dialect's shape; nil means
	// runtime.NewRequestID.
	NewID func() string
	// IDHeaders are the response headers that carry the request id.
	IDHeaders []string
	// Anonymous reports whether a request carries no credentials at all
	// (not whether they are valid): such requests draw on the smaller,
	// anonymous share of the in-flight slots.
	Anonymous func(*http.Request) bool
	// WriteError renders err in the dialect's error format. The response
	// has not started; headers set for a successful answer have already
	// been removed (StripHeaders). It must be safe for concurrent use.
	WriteError func(w http.ResponseWriter, r *http.Request, ex *Exchange, err error)
}

// Handler serves one request inside the shell. An error returned before
// the response started is rendered with the dialect's WriteError; after it
// started, the connection is cut, so the client sees a truncated body,
// never a well-formed one with an error appended.
type Handler interface {
	Serve(w http.ResponseWriter, r *http.Request, ex *Exchange) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, ex *Exchange) error

// Serve calls f.
func (f HandlerFunc) Serve(w http.ResponseWriter, r *http.Request, ex *Exchange) error {
	return f(w, r, ex)
}

// Exchange is the record of one request as it moves through the shell and
// the front-end: who is asking for what, and what was answered. The
// front-end fills in the operation, bucket, key and key id as it learns
// them; the shell fills in the rest. It belongs to one request.
type Exchange struct {
	// ID is the request id (also in the request's context).
	ID string
	// Bucket and Key are what the request addresses, as far as known.
	Bucket, Key string
	// KeyID is the application key the request authenticated with; empty
	// for anonymous requests and before authentication.
	KeyID string

	dialect *Dialect
	op      int
	start   time.Time
	w       responseWriter
}

// SetOp records the operation, an index into the dialect's Ops.
func (ex *Exchange) SetOp(op int) {
	if op > 0 && op < len(ex.dialect.Ops) {
		ex.op = op
	}
}

// Op is the operation's index (0 while unknown).
func (ex *Exchange) Op() int { return ex.op }

// OpName is the operation's name.
func (ex *Exchange) OpName() string {
	if len(ex.dialect.Ops) == 0 {
		return ""
	}
	return ex.dialect.Ops[ex.op]
}

// Started reports whether the response's status line has been written.
func (ex *Exchange) Started() bool { return ex.w.status != 0 }

// Status is the response status written so far (0: none yet).
func (ex *Exchange) Status() int { return ex.w.status }

// Shell serves requests for every dialect with one set of in-flight slots.
// It is safe for concurrent use.
type Shell struct {
	log   *slog.Logger
	slots *Limiter
}

// New builds a shell whose requests share slots.
func New(log *slog.Logger, slots *Limiter) *Shell {
	if log == nil {
		log = slog.Default()
	}
	return &Shell{log: log, slots: slots}
}

// Wrap returns the http.Handler that serves h for dialect d inside the shell.
func (s *Shell) Wrap(d Dialect, h Handler) http.Handler {
	if d.NewID == nil {
		d.NewID = runtime.NewRequestID
	}
	if len(d.Ops) == 0 {
		d.Ops = []string{"unknown"}
	}
	return &wrapped{shell: s, dialect: &d, h: h}
}

type wrapped struct {
	shell   *Shell
	dialect *Dialect
	h       Handler
}

// ServeHTTP implements http.Handler.
func (x *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, d := x.shell, x.dialect
	ex := &Exchange{ID: d.NewID(), dialect: d, start: time.Now()}
	ex.w.ResponseWriter = w
	hd := w.Header()
	for _, name := range d.IDHeaders {
		hd[name] = []string{ex.ID}
	}
	hd["Server"] = serverHeader
	r = r.WithContext(runtime.WithRequestID(r.Context(), ex.ID))
	anonymous := d.Anonymous != nil && d.Anonymous(r)
	if !s.slots.acquire(anonymous) {
		// Shed load rather than queue without bound; clients back off.
		hd.Set("Retry-After", "1")
		d.WriteError(&ex.w, r, ex, errs.Errorf(errs.ResourceExhausted, d.API, "too many requests in flight"))
		return
	}
	defer s.slots.release(anonymous)
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			s.log.Error("panic in handler", "api", d.API, "request_id", ex.ID, "op", ex.OpName(), "panic", fmt.Sprint(rec))
			if ex.Started() {
				panic(http.ErrAbortHandler)
			}
			StripHeaders(hd, d.IDHeaders)
			d.WriteError(&ex.w, r, ex, errs.E(errs.Internal, d.API, fmt.Errorf("panic: %v", rec)))
		}
	}()
	if err := x.h.Serve(&ex.w, r, ex); err != nil {
		if ex.Started() {
			// The status line is gone: cut the connection so the client
			// sees a truncated body, never a silently wrong one.
			s.log.Warn("response failed after it started", "api", d.API, "request_id", ex.ID, "op", ex.OpName(), "err", err)
			panic(http.ErrAbortHandler)
		}
		level := slog.LevelDebug
		if k := errs.KindOf(err); k == errs.Internal || k == errs.Other || k == errs.DataLoss {
			level = slog.LevelError
		}
		s.log.Log(r.Context(), level, "request failed", "api", d.API, "request_id", ex.ID, "op", ex.OpName(),
			"bucket", ex.Bucket, "err", err)
		if errs.KindOf(err) != errs.NotModified {
			StripHeaders(hd, d.IDHeaders)
		}
		d.WriteError(&ex.w, r, ex, err)
	}
	s.log.Debug(d.API, "request_id", ex.ID, "op", ex.OpName(), "method", r.Method, "status", ex.w.status,
		"duration", time.Since(ex.start))
}

var serverHeader = []string{"coffer"}

// responseWriter records the status, so an error after the first byte
// aborts the connection instead of appending an error to a half-sent body.
type responseWriter struct {
	http.ResponseWriter
	status int
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
