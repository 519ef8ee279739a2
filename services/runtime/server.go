package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/coffer-project/coffer/services/bufpool"
	"github.com/coffer-project/coffer/services/certs"
)

// TransportBufferSize is the size of gRPC's read and write buffers on every
// connection: large enough that a stream of object bytes takes one system
// call per few dozen frames, not one per two (the default is 32 KiB).
const TransportBufferSize = 512 << 10

// MaxMessageSize bounds one gRPC message. Blob data is streamed in much
// smaller chunks; the bound exists for metadata pages and listings.
const MaxMessageSize = 16 << 20

// Server is one process's gRPC server plus its admin HTTP server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	grpc     *grpc.Server
	health   *health.Server
	registry *prometheus.Registry
	metrics  *serverMetrics

	grpcLis  net.Listener
	adminLis net.Listener
	admin    *http.Server

	mu     sync.Mutex
	checks map[string]func() error

	// identity is the mTLS identity (nil: plaintext); policy authorizes
	// calls under it (mtls.go).
	identity *certs.Identity
	policy   Policy

	stopOnce sync.Once
}

// New binds the listeners (so that their addresses are known before Serve)
// and builds the gRPC server with the standard interceptor chain.
func New(cfg Config, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      log,
		health:   health.NewServer(),
		registry: prometheus.NewRegistry(),
		checks:   map[string]func() error{},
	}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.identity, err = loadIdentity(cfg); err != nil {
		return nil, err
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newServerMetrics(s.registry)
	creds := insecure.NewCredentials()
	if s.identity != nil {
		creds = credentials.NewTLS(s.identity.ServerConfig())
	}
	s.grpc = grpc.NewServer(
		grpc.Creds(creds),
		grpc.ChainUnaryInterceptor(s.unaryInterceptors()...),
		grpc.ChainStreamInterceptor(s.streamInterceptors()...),
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// Object bytes stream through gRPC between roles (blobstore/DESIGN.md):
		// buffers that are not zeroed for every frame, and transport buffers
		// that batch many 16 KiB HTTP/2 frames per system call.
		experimental.BufferPool(bufpool.GRPC()),
		grpc.ReadBufferSize(TransportBufferSize),
		grpc.WriteBufferSize(TransportBufferSize),
	)
	healthpb.RegisterHealthServer(s.grpc, s.health)

	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("runtime: listen grpc: %w", err)
	}
	if cfg.AdminAddr != "" {
		if s.adminLis, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			s.grpcLis.Close()
			return nil, fmt.Errorf("runtime: listen admin: %w", err)
		}
	}
	s.admin = &http.Server{Handler: s.adminMux(), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// GRPC is the server roles register their services on.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Health is the gRPC health server; roles set their service status on it.
func (s *Server) Health() *health.Server { return s.health }

// Registry is the process's Prometheus registry.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Logger is the process logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// GRPCAddr is the bound gRPC address (useful with port 0).
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// AdminAddr is the bound admin address, or "".
func (s *Server) AdminAddr() string {
	if s.adminLis == nil {
		return ""
	}
	return s.adminLis.Addr().String()
}

// AddReadyCheck registers a readiness check: /readyz answers 200 only when
// every check returns nil.
func (s *Server) AddReadyCheck(name string, check func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = check
}

// Ready runs the readiness checks and returns the first failure.
func (s *Server) Ready() error {
	s.mu.Lock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
	}
	checks := s.checks
	s.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		if err := checks[n](); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}

func (s *Server) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	if s.cfg.DebugPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Serve serves gRPC and admin HTTP until Stop is called. It returns nil after
// a Stop, or the first listener error.
func (s *Server) Serve() error {
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.grpcLis) }()
	if s.adminLis != nil {
		go func() {
			if err := s.admin.Serve(s.adminLis); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
				return
			}
			errc <- nil
		}()
	} else {
		errc <- nil
	}
	var first error
	for i := 0; i < 2; i++ {
		if err := <-errc; err != nil && first == nil && !errors.Is(err, grpc.ErrServerStopped) {
			first = err
			s.Stop(context.Background())
		}
	}
	return first
}

// Stop drains gRPC (in-flight calls finish, new ones are refused) within
// ctx or the configured shutdown timeout, then cuts what is left. It is
// idempotent.
func (s *Server) Stop(ctx context.Context) {
	s.stopOnce.Do(func() {
		s.health.Shutdown()
		ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
		defer cancel()
		done := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			s.grpc.Stop()
			<-done
		}
		_ = s.admin.Shutdown(ctx)
		if s.adminLis != nil {
			s.adminLis.Close()
		}
	})
}
