package b2

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/gateway/corscache"
	"github.com/coffer-project/coffer/gateway/objects"
	"github.com/coffer-project/coffer/gateway/shell"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
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

// Handler is the B2 front-end, a shell.Handler safe for concurrent use.
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
	ex    *shell.Exchange
	route Route
	spec  callSpec
	// token is the Authorization the request carried ("" when none);
	// principal is who it authenticated as (anonymous for public reads).
	token     string
	principal *authv1.Principal
	tokenKind authv1.TokenKind
	// overrides are the b2Content* values a download authorization binds.
	overrides *authv1.DownloadOverrides
}

// accountID is the caller's account.
func (c *call) accountID() string { return c.principal.GetAccountId() }

// callNames names every call for logs and metrics; index 0 is a path that
// names no call. callOps is its inverse.
var callNames, callOps = func() ([]string, map[string]int) {
	names := []string{"unknown"}
	for name := range calls {
		names = append(names, name)
	}
	slices.Sort(names[1:])
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	return names, index
}()

// Dialect is what the request shell needs to serve B2: its request id
// header, B2's JSON errors (per call), and what makes a request anonymous
// (no token in the header or the query).
func (h *Handler) Dialect() shell.Dialect {
	return shell.Dialect{
		API:       "b2",
		Ops:       callNames,
		IDHeaders: []string{"X-Bz-Request-Id"},
		Anonymous: func(r *http.Request) bool {
			return len(r.Header["Authorization"]) == 0 && !strings.Contains(r.URL.RawQuery, "Authorization=")
		},
		WriteError: func(w http.ResponseWriter, r *http.Request, ex *shell.Exchange, err error) {
			writeError(w, r, ex.OpName(), err)
		},
	}
}

// Serve serves one B2 request inside the request shell.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, ex *shell.Exchange) error {
	return h.serve(w, r, &call{id: ex.ID, ex: ex})
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
	c.ex.SetOp(callOps[route.Call])
	c.ex.Bucket = route.Bucket
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
	if err := h.authenticate(r, c); err != nil {
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
