package shell

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	body    body
	aborted bool
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

// Config configures the shell.
type Config struct {
	// MaxInflight bounds the requests served at once; beyond it requests
	// are refused at once with the dialect's "slow down".
	MaxInflight int
	// MaxInflightAnonymous bounds the anonymous ones among them (0: a
	// quarter of MaxInflight, at least 1).
	MaxInflightAnonymous int
	// StallTimeout is how long a request may make no progress reading its
	// body or writing its response before it is dropped (0: never).
	StallTimeout time.Duration
	// AccessLog logs one line per request at INFO.
	AccessLog bool
}

// Deps are the shell's dependencies.
type Deps struct {
	Log *slog.Logger
	// Registerer receives the HTTP metrics (the process's registry); nil
	// keeps them in a registry of their own.
	Registerer prometheus.Registerer
}

// Shell serves requests for every dialect with one set of in-flight slots.
// It is safe for concurrent use.
type Shell struct {
	cfg     Config
	log     *slog.Logger
	slots   *Limiter
	metrics *metrics
}

// New builds a shell.
func New(cfg Config, deps Deps) *Shell {
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if cfg.MaxInflightAnonymous <= 0 {
		cfg.MaxInflightAnonymous = max(1, cfg.MaxInflight/4)
	}
	return &Shell{cfg: cfg, log: log, slots: NewLimiter(cfg.MaxInflight, cfg.MaxInflightAnonymous), metrics: newMetrics(reg)}
}

// InFlight is the number of requests being served.
func (s *Shell) InFlight() int { return s.slots.InFlight() }

// Wrap returns the http.Handler that serves h for dialect d inside the shell.
func (s *Shell) Wrap(d Dialect, h Handler) http.Handler {
	if d.NewID == nil {
		d.NewID = runtime.NewRequestID
	}
	if len(d.Ops) == 0 {
		d.Ops = []string{"unknown"}
	}
	return &wrapped{shell: s, dialect: &d, h: h, series: s.metrics.forAPI(d.API, d.Ops)}
}

type wrapped struct {
	shell   *Shell
	dialect *Dialect
	h       Handler
	series  *apiSeries
}

// ServeHTTP implements http.Handler.
func (x *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, d := x.shell, x.dialect
	ex := &Exchange{ID: d.NewID(), dialect: d, start: time.Now()}
	ex.w.init(w, s.cfg.StallTimeout)
	hd := w.Header()
	if len(d.IDHeaders) > 0 {
		id := []string{ex.ID} // shared: headers are replaced, never appended to
		for _, name := range d.IDHeaders {
			hd[name] = id
		}
	}
	hd["Server"] = serverHeader
	r = r.WithContext(runtime.WithRequestID(r.Context(), ex.ID))
	defer x.finish(r, ex)
	anonymous := d.Anonymous != nil && d.Anonymous(r)
	if !s.slots.acquire(anonymous) {
		// Shed load rather than queue without bound; clients back off.
		hd.Set("Retry-After", "1")
		d.WriteError(&ex.w, r, ex, errs.Errorf(errs.ResourceExhausted, d.API, "too many requests in flight"))
		return
	}
	x.series.inflight.Inc()
	defer func() {
		x.series.inflight.Dec()
		s.slots.release(anonymous)
	}()
	if r.Body != nil && r.Body != http.NoBody {
		ex.body.rc, ex.body.w = r.Body, &ex.w
		r.Body = &ex.body
	}
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				ex.aborted = true
				panic(rec)
			}
			s.log.Error("panic in handler", "api", d.API, "request_id", ex.ID, "op", ex.OpName(), "panic", fmt.Sprint(rec))
			if ex.Started() {
				ex.aborted = true
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
			ex.aborted = true
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
}

// finish records a request in the metrics and the access log, whatever
// became of it (answered, refused for load, or cut after it started).
func (x *wrapped) finish(r *http.Request, ex *Exchange) {
	took := time.Since(ex.start)
	status := ex.w.status
	if status == 0 {
		status = http.StatusOK // what the server sends for a handler that wrote nothing
	}
	in, out := ex.body.in.Load(), ex.w.out.Load()
	x.series.observe(ex.op, status, took.Seconds(), in, out)
	if !x.shell.cfg.AccessLog {
		return
	}
	ctx := r.Context()
	if !x.shell.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// Never the URL or query (presigned signatures, B2 tokens), never a
	// header: the key id says who, the operation and bucket say what.
	x.shell.log.LogAttrs(ctx, slog.LevelInfo, "access",
		slog.String("api", x.dialect.API),
		slog.String("request_id", ex.ID),
		slog.String("key_id", ex.KeyID),
		slog.String("op", ex.OpName()),
		slog.String("bucket", ex.Bucket),
		slog.String("method", r.Method),
		slog.Int("status", status),
		slog.Bool("aborted", ex.aborted),
		slog.Int64("bytes_in", in),
		slog.Int64("bytes_out", out),
		slog.Duration("duration", took),
		slog.String("remote_addr", r.RemoteAddr),
	)
}

var serverHeader = []string{"coffer"}
