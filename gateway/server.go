package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/gateway/b2"
	"github.com/coffer-project/coffer/gateway/bucketcache"
	"github.com/coffer-project/coffer/gateway/console"
	"github.com/coffer-project/coffer/gateway/objects"
	"github.com/coffer-project/coffer/gateway/r2"
	"github.com/coffer-project/coffer/gateway/s3"
	"github.com/coffer-project/coffer/gateway/shell"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// Deps are the gateway's dependencies: the other roles' clients.
type Deps struct {
	Meta metadatav1.MetadataServiceClient
	Auth authv1.AuthServiceClient
	Cors corsv1.CorsServiceClient
	// Blobs opens blobstore; called at Start, when the blobstore role is up.
	Blobs func(ctx context.Context) (objects.Blobs, error)
	// Cluster reports the cluster for the console's Cluster page
	// (services/app provides it; nil: not available).
	Cluster console.ClusterFunc
	Log     *slog.Logger
	// Registerer receives the HTTP metrics (the process's registry; nil:
	// not exported).
	Registerer prometheus.Registerer
}

// Server is the gateway role.
type Server struct {
	cfg  Config
	deps Deps
	lis  net.Listener
	http *http.Server
	// tls is the edge TLS configuration (nil: plain HTTP); see tls.go.
	tls *tls.Config
	// creds is the credential cache, built at Start.
	creds *authcache.Cache
	// shell runs every request (gateway/shell), built at Start.
	shell *shell.Shell
	// The web console's listener and server (console_listener.go); nil
	// when it is off.
	consoleLis  net.Listener
	consoleHTTP *http.Server
	// buckets is the bucket cache, built at Start.
	buckets *bucketcache.Client

	mu    sync.Mutex
	ready bool
}

// New binds the HTTP listener, so that its address is known before Start.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	edge, err := edgeTLS(cfg, deps.Log)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen: %w", err)
	}
	clis, err := listenConsole(cfg, deps.Log)
	if err != nil {
		lis.Close()
		return nil, err
	}
	return &Server{cfg: cfg, deps: deps, lis: lis, consoleLis: clis, tls: edge}, nil
}

// Addr is the bound HTTP address.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Register registers nothing: the gateway serves HTTP, not gRPC.
func (s *Server) Register(grpc.ServiceRegistrar) {}

// Start connects to blobstore and starts serving HTTP.
func (s *Server) Start(ctx context.Context) error {
	blobs, err := s.deps.Blobs(ctx)
	if err != nil {
		return fmt.Errorf("gateway: blobstore: %w", err)
	}
	// Bucket lookups come from a cache that follows metadata's watch
	// stream; a bucket write through this gateway (metadata's UpdateBucket
	// and DeleteBucket, corsd's CORS writes) drops its entry as it returns
	// (gateway/bucketcache).
	size := s.cfg.BucketCacheSize
	if size == 0 {
		size = -1 // off
	}
	s.buckets = bucketcache.New(s.deps.Meta, bucketcache.Config{MaxEntries: size, MaxAge: s.cfg.BucketCacheMaxAge}, s.deps.Log)
	s.buckets.Start()
	meta := metadatav1.MetadataServiceClient(s.buckets)
	cors := s.buckets.WrapCors(s.deps.Cors)
	// authd's data keys encrypt SSE-B2 objects at rest.
	layer := objects.New(meta, blobs, s.deps.Log, s.cfg.MaxObjectSize, objects.WithDataKeys(s.deps.Auth), objects.WithInlineMax(s.cfg.InlineMaxSize))
	// One credential cache per gateway, following metadata's key changes.
	s.creds = authcache.New(authcache.Config{MaxEntries: s.cfg.AuthCacheSize, MaxAge: s.cfg.AuthCacheMaxAge, Region: s.cfg.Region},
		authcache.Deps{Auth: s.deps.Auth, Meta: s.deps.Meta, Log: s.deps.Log})
	s.creds.Start()
	s3front := s3.New(s3.Config{Region: s.cfg.Region, Domains: s.cfg.DomainList()},
		s3.Deps{Objects: layer, Auth: s.deps.Auth, Creds: s.creds, Cors: cors, Log: s.deps.Log})
	b2front := b2.New(b2.Config{PublicURL: s.cfg.PublicURL, TestMode: s.cfg.B2TestMode, RecommendedPartSize: s.cfg.B2RecommendedPartSize},
		b2.Deps{Objects: layer, Auth: s.deps.Auth, Creds: s.creds, Cors: cors, Log: s.deps.Log})
	r2front, err := r2.NewHandler(r2.Config{}, r2.Deps{Meta: meta, Cors: cors, Auth: s.deps.Auth, Creds: s.creds, Log: s.deps.Log})
	if err != nil {
		return fmt.Errorf("gateway: r2: %w", err)
	}
	// One shell around every front-end: one set of slots, one way to
	// log, recover and answer in the client's own dialect.
	sh := shell.New(shell.Config{MaxInflight: s.cfg.MaxInflight, MaxInflightAnonymous: s.cfg.MaxInflightAnonymous,
		StallTimeout: s.cfg.StallTimeout, AccessLog: s.cfg.AccessLog}, shell.Deps{Log: s.deps.Log, Registerer: s.deps.Registerer})
	s.shell = sh
	s3http := sh.Wrap(s3front.Dialect(), s3front)
	b2http := sh.Wrap(b2front.Dialect(), b2front)
	r2http := sh.Wrap(r2front.Dialect(), r2front)
	s.http = s.serveHTTP("gateway", s.lis, route(s3http, r2http, b2http, s.cfg.DomainList()))
	s.startConsole(b2http)
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
	return nil
}

// route sends each request to its front-end by path: the R2-style account
// API lives under /client/v4/, the B2 native API under /b2api/ and /file/,
// everything else is S3. The bucket name "client" is reserved
// (objects.ValidateBucketName) so no path-style S3 request can collide with
// the R2 prefix; "b2api" and "file" are too short to be bucket names, so
// path-style S3 cannot collide with B2 either. A virtual-hosted S3 request
// (<bucket>.<domain>) is S3 whatever its path: its key may well start with
// "file/".
func route(s3front, r2front, b2front http.Handler, domains []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, r2.Prefix):
			r2front.ServeHTTP(w, r)
		case (strings.HasPrefix(p, b2.APIPrefix) || strings.HasPrefix(p, b2.DownloadPrefix)) && s3.BucketFromHost(r.Host, domains) == "":
			b2front.ServeHTTP(w, r)
		default:
			s3front.ServeHTTP(w, r)
		}
	})
}

// Ready reports whether the gateway serves.
func (s *Server) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready {
		return errors.New("gateway not started")
	}
	return nil
}

// Drain stops accepting requests and waits for in-flight ones. It also
// ends the credential cache's watch stream: the roles' gRPC servers stop
// gracefully after Drain, and would otherwise wait for that stream.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.ready = false
	s.mu.Unlock()
	if s.creds != nil {
		defer s.creds.Stop()
	}
	if s.buckets != nil {
		defer s.buckets.Stop()
	}
	var consoleErr error
	switch {
	case s.consoleHTTP != nil:
		consoleErr = s.consoleHTTP.Shutdown(ctx)
	case s.consoleLis != nil:
		s.consoleLis.Close()
	}
	if s.http == nil {
		return errors.Join(s.lis.Close(), consoleErr)
	}
	return errors.Join(s.http.Shutdown(ctx), consoleErr)
}

// serveHTTP serves h on lis with the gateway's limits and, when
// configured, its edge TLS (the console's listener too: a console reached
// over https keeps the session token off the wire as the API does).
func (s *Server) serveHTTP(name string, lis net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.deps.Log.Handler(), slog.LevelDebug),
		TLSConfig:         s.tls,
	}
	go func() {
		serve := func() error { return srv.Serve(lis) }
		if s.tls != nil {
			// ServeTLS (not Serve on a TLS listener) also sets up HTTP/2.
			serve = func() error { return srv.ServeTLS(lis, "", "") }
		}
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.deps.Log.Error(name+" HTTP server stopped", "err", err)
		}
	}()
	return srv
}

// Stop closes whatever Drain left open.
func (s *Server) Stop(context.Context) error {
	if s.creds != nil {
		s.creds.Stop()
	}
	if s.buckets != nil {
		s.buckets.Stop()
	}
	switch {
	case s.consoleHTTP != nil:
		_ = s.consoleHTTP.Close()
	case s.consoleLis != nil:
		_ = s.consoleLis.Close()
	}
	if s.http != nil {
		return s.http.Close()
	}
	_ = s.lis.Close()
	return nil
}
