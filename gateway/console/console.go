package console

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/gateway/b2"
)

// ClusterFunc reports the cluster for the Cluster page: what `coffer admin
// cluster` shows, as a value encoded to JSON. It is called for every page
// load and must bound its own time.
type ClusterFunc func(ctx context.Context) (any, error)

// Config configures the console.
type Config struct {
	// PublicURL is the gateway's --public-url: the base of the URLs the
	// console shows (Endpoint, Friendly URL, S3 URL). Empty: the console
	// request's host with GatewayPort.
	PublicURL string
	// GatewayPort is the port of the gateway's own listener.
	GatewayPort string
}

// Deps are the console's dependencies.
type Deps struct {
	// B2 is the gateway's B2 front-end: /b2api/ and /file/ on the console
	// origin go to it, exactly as on the gateway port.
	B2 http.Handler
	// Creds verifies the account token of the cluster status request.
	Creds *authcache.Cache
	// Cluster reports the cluster; nil: the Cluster page says it is not
	// available.
	Cluster ClusterFunc
	Log     *slog.Logger
	// Now is the clock for authorization decisions; nil means time.Now.
	Now func() time.Time
}

// Handler serves the console origin. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	deps   Deps
	assets *assets
}

// ClusterPath is the cluster status endpoint, the console's only API of
// its own.
const ClusterPath = "/api/cluster"

// New builds the console handler.
func New(cfg Config, deps Deps) *Handler {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Handler{cfg: cfg, deps: deps, assets: loadAssets()}
}

// ServeHTTP routes by path: the B2 API and downloads to the gateway's B2
// handler, the cluster status, and the embedded files.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Every answer of this origin: no framing (clickjacking), no type
	// sniffing, no referrer leaking names to other sites.
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, b2.DownloadPrefix) || strings.HasPrefix(p, b2.APIPrefix):
		if strings.HasPrefix(p, b2.DownloadPrefix) || strings.Contains(p, "b2_download_file_by_id") {
			// A stored file is the uploader's content, served on the
			// console's origin: in a sandbox (an opaque origin, no
			// scripts), an HTML file cannot read the console's session.
			hd.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'")
		}
		ctx := b2.WithEndpoints(r.Context(), b2.Endpoints{API: origin(r), Public: h.gatewayURL(r)})
		h.deps.B2.ServeHTTP(w, r.WithContext(ctx))
	case p == ClusterPath:
		h.cluster(w, r)
	default:
		h.assets.serve(w, r)
	}
}

// origin is the console's origin as the browser reached it.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// gatewayURL is the gateway's base URL as a user of this console reaches
// it: --public-url, or the host the browser used with the gateway's port.
func (h *Handler) gatewayURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return h.cfg.PublicURL
	}
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if h.cfg.GatewayPort == "" {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + h.cfg.GatewayPort
}
