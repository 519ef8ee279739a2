package b2

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/gateway/corscache"
	"github.com/coffer-project/coffer/gateway/objects"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Config configures the B2 front-end.
type Config struct {
	// PublicURL is the base URL clients reach the gateway at, advertised as
	// apiUrl, downloadUrl and s3ApiUrl and used in upload URLs. Empty: the
	// scheme and Host of each b2_authorize_account request, which is right
	// whenever clients reach the gateway directly.
	PublicURL string
	// TestMode honours the X-Bz-Test-Mode header (fail_some_uploads,
	// expire_some_account_authorization_tokens, force_cap_exceeded), with
	// which clients test their retry logic. Off in production: the header
	// is then ignored.
	TestMode bool
	// RecommendedPartSize is the part size b2_authorize_account advertises
	// (0: B2's 100,000,000 bytes). Clients split files larger than it into
	// large files; tests lower it to take that path with small files.
	RecommendedPartSize int64
}

// Deps are the B2 front-end's dependencies.
type Deps struct {
	Objects *objects.Layer
	Auth    authv1.AuthServiceClient
	// Creds verifies tokens from its cache or through Auth. Nil means a
	// cache without a watch stream: every request asks authd.
	Creds *authcache.Cache
	// Cors validates and stores CORS rules and decides CORS requests. Nil
	// means no CORS: preflights are refused, rules cannot be set.
	Cors corsv1.CorsServiceClient
	Log  *slog.Logger
	// Now is the clock for authorization decisions; nil means time.Now.
	Now func() time.Time
}

// Handler is the B2 front-end, an http.Handler safe for concurrent use.
type Handler struct {
	cfg     Config
	objects *objects.Layer
	meta    metadatav1.MetadataServiceClient
	auth    authv1.AuthServiceClient
	creds   *authcache.Cache
	cors    corsv1.CorsServiceClient
	// corsDecisions caches corsd's answers per bucket cors_index, as on S3.
	corsDecisions *corscache.Cache
	log           *slog.Logger
	now           func() time.Time
	uploads       *tokenSlots
	test          *testMode
}

// New builds the B2 front-end.
func New(cfg Config, deps Deps) *Handler {
	creds := deps.Creds
	if creds == nil {
		creds = authcache.New(authcache.Config{}, authcache.Deps{Auth: deps.Auth, Log: deps.Log})
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.RecommendedPartSize <= 0 {
		cfg.RecommendedPartSize = recommendedPartSize
	}
	h := &Handler{
		cfg: cfg, objects: deps.Objects, meta: deps.Objects.Meta(), auth: deps.Auth, creds: creds,
		cors: deps.Cors, log: log, now: now, uploads: newTokenSlots(), test: &testMode{},
	}
	if deps.Cors != nil {
		h.corsDecisions = corscache.New(deps.Cors, corscache.DefaultMaxEntries)
	}
	return h
}

// call is the state of one request as it moves through the pipeline.
type call struct {
	id    string
	route Route
	spec  callSpec
	// token is the Authorization the request carried ("" when none);
	// principal is who it authenticated as (anonymous for public reads).
	token     string
	principal *authv1.Principal
	tokenKind authv1.TokenKind
}

// accountID is the caller's account.
func (c *call) accountID() string { return c.principal.GetAccountId() }

// statusWriter records whether the response has started, so an error after
// the first byte aborts the connection instead of appending a JSON error to
// a half-sent body.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := runtime.NewRequestID()
	sw := &statusWriter{ResponseWriter: w}
	sw.Header().Set("X-Bz-Request-Id", id)
	sw.Header().Set("Server", "coffer")
	r = r.WithContext(runtime.WithRequestID(r.Context(), id))
	c := &call{id: id}
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			h.log.Error("panic in B2 handler", "request_id", id, "call", c.route.Call, "panic", fmt.Sprint(rec))
			if sw.status != 0 {
				panic(http.ErrAbortHandler)
			}
			writeError(sw, r, c.route.Call, errs.E(errs.Internal, "b2", fmt.Errorf("panic: %v", rec)))
		}
	}()
	if err := h.serve(sw, r, c); err != nil {
		if sw.status != 0 {
			// The status line is gone: cut the connection so the client
			// sees a truncated body, never a silently wrong one.
			h.log.Warn("B2 response failed after it started", "request_id", id, "call", c.route.Call, "err", err)
			panic(http.ErrAbortHandler)
		}
		level := slog.LevelDebug
		if k := errs.KindOf(err); k == errs.Internal || k == errs.Other || k == errs.DataLoss {
			level = slog.LevelError
		}
		h.log.Log(r.Context(), level, "B2 request failed", "request_id", id, "call", c.route.Call, "err", err)
		writeError(sw, r, c.route.Call, err)
	}
	h.log.Debug("b2", "request_id", id, "call", c.route.Call, "method", r.Method, "status", sw.status,
		"duration", time.Since(start))
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, c *call) error {
	route, err := Classify(rawPath(r))
	if err != nil {
		return err
	}
	c.route = route
	spec, ok := calls[route.Call]
	if !ok || (route.Kind == KindAPI && spec.kind != KindAPI) || (route.Kind != KindAPI && spec.kind != route.Kind) {
		return errs.Errorf(errs.ObjectNotFound, "b2", "unknown call %s", truncate(route.Call, 64))
	}
	c.spec = spec
	if isPreflight(r) {
		// Answered before authentication: preflights carry no credentials.
		return h.preflight(w, r, c)
	}
	if !spec.allows(r.Method) {
		return errs.Errorf(errs.MethodNotAllowed, "b2", "%s does not accept %s", route.Call, r.Method)
	}
	h.corsActual(w, r, c)
	if err := h.test.apply(h.cfg.TestMode, r, c); err != nil {
		return err
	}
	if spec.handler == nil {
		return errs.Errorf(errs.Unimplemented, "b2."+route.Call, "%s is not supported", route.Call)
	}
	return spec.handler(h, w, r, c)
}

// rawPath is the request path exactly as the client sent it, escaped.
func rawPath(r *http.Request) string {
	uri := r.RequestURI
	if strings.HasPrefix(uri, "/") {
		p, _, _ := strings.Cut(uri, "?")
		return p
	}
	return r.URL.EscapedPath()
}

// Endpoints are the base URLs a request's client is told to use when it is
// not the gateway's own listener that serves it: the web console's origin
// serves this same handler, and the browser must keep calling (and
// uploading to) that origin, while the URLs a user shares — downloadUrl,
// s3ApiUrl — stay the gateway's.
type Endpoints struct {
	// API is the base of apiUrl and of upload URLs.
	API string
	// Public is the base of downloadUrl and s3ApiUrl.
	Public string
}

type endpointsKey struct{}

// WithEndpoints returns ctx carrying e for the requests served with it.
func WithEndpoints(ctx context.Context, e Endpoints) context.Context {
	return context.WithValue(ctx, endpointsKey{}, e)
}

// apiBase is where the client sends calls and uploads.
func (h *Handler) apiBase(r *http.Request) string {
	if e, ok := r.Context().Value(endpointsKey{}).(Endpoints); ok && e.API != "" {
		return e.API
	}
	return h.baseURL(r)
}

// publicBase is the gateway's URL for downloads and S3.
func (h *Handler) publicBase(r *http.Request) string {
	if e, ok := r.Context().Value(endpointsKey{}).(Endpoints); ok && e.Public != "" {
		return e.Public
	}
	return h.baseURL(r)
}

// baseURL is the URL clients reach this gateway at (Config.PublicURL).
func (h *Handler) baseURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return h.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
