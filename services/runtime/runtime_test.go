package runtime

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/coffer-project/coffer/services/errs"
)

// testHealth is a health server whose Check answers by a function, so the
// interceptor chain can be exercised without a service of our own.
type testHealth struct {
	healthpb.UnimplementedHealthServer
	check func(ctx context.Context) error
}

func (h *testHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func start(t *testing.T, check func(ctx context.Context) error) (*Server, healthpb.HealthClient) {
	t.Helper()
	return startWith(t, Config{}, check)
}

func startWith(t *testing.T, cfg Config, check func(ctx context.Context) error) (*Server, healthpb.HealthClient) {
	t.Helper()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.LogLevel, cfg.LogFormat, cfg.ShutdownTimeout = "127.0.0.1:0", "127.0.0.1:0", "debug", "text", 5*time.Second
	// The standard health service is not registered here: a separate
	// server carries the test service under the same interface.
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	other := grpc.NewServer(grpc.ChainUnaryInterceptor(s.unaryInterceptors()...))
	healthpb.RegisterHealthServer(other, &testHealth{check: check})
	go other.Serve(s.grpcLis)
	go func() {
		if s.adminLis != nil {
			_ = s.admin.Serve(s.adminLis)
		}
	}()
	t.Cleanup(func() { other.Stop(); s.Stop(context.Background()) })
	cc, err := Dial("passthrough:///" + s.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return s, healthpb.NewHealthClient(cc)
}

func TestDomainErrorsCrossGRPC(t *testing.T) {
	_, c := start(t, func(context.Context) error {
		return errs.E(errs.BucketNotFound, "meta.GetBucket", nil).WithBucket("photos").WithDetail("x", "y")
	})
	_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	e := errs.As(err)
	if e == nil || e.Kind != errs.BucketNotFound || e.Bucket != "photos" || e.Details["x"] != "y" || e.Op != "meta.GetBucket" {
		t.Fatalf("client got %#v (%v)", e, err)
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	_, c := start(t, func(context.Context) error { panic("boom at /secret/path") })
	_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if errs.KindOf(err) != errs.Internal {
		t.Fatalf("want Internal, got %v", err)
	}
	if strings.Contains(err.Error(), "/secret/path") {
		t.Fatalf("panic text leaked to the client: %v", err)
	}
	// The server survives.
	_, err = c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if errs.KindOf(err) != errs.Internal {
		t.Fatalf("second call: %v", err)
	}
}

func TestRequestIDPropagates(t *testing.T) {
	got := make(chan string, 1)
	_, c := start(t, func(ctx context.Context) error { got <- RequestID(ctx); return nil })
	ctx := WithRequestID(context.Background(), "ABC123")
	if _, err := c.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if id := <-got; id != "ABC123" {
		t.Fatalf("server saw request id %q", id)
	}
	if _, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if id := <-got; len(id) != 16 {
		t.Fatalf("server made request id %q", id)
	}
}

func TestContextErrorsPassThrough(t *testing.T) {
	_, c := start(t, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
	if k := errs.KindOf(err); k != errs.DeadlineExceeded {
		t.Fatalf("want DeadlineExceeded, got %v (%v)", k, err)
	}
	if status.Code(errs.ToStatus(context.Canceled).Err()) != codes.Canceled {
		t.Fatal("context.Canceled must map to codes.Canceled")
	}
}

func TestAdminEndpoints(t *testing.T) {
	s, c := start(t, func(context.Context) error { return nil })
	if _, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.AdminAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz with no checks: %d", code)
	}
	s.AddReadyCheck("metadata", func() error { return errors.New("no leader yet") })
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "metadata: no leader yet") {
		t.Fatalf("readyz while not ready: %d %q", code, body)
	}
	s.AddReadyCheck("metadata", func() error { return nil })
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz when ready: %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "coffer_grpc_server_handled_total") {
		t.Fatalf("metrics %d, missing the gRPC counter", code)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{GRPCAddr: "x:1", LogLevel: "info", LogFormat: "json"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Config{{LogLevel: "info", LogFormat: "text"}, {GRPCAddr: "x", LogLevel: "loud", LogFormat: "text"}, {GRPCAddr: "x", LogLevel: "info", LogFormat: "xml"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

func adminGet(t *testing.T, s *Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPprofOffByDefault: no profiler unless --debug-pprof; with it, the
// cmdline page never shows a secret flag's value (issue 14 item 3).
func TestPprofOffByDefault(t *testing.T) {
	s, _ := start(t, func(context.Context) error { return nil })
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile?seconds=1", "/debug/pprof/heap"} {
		if code, _ := adminGet(t, s, p); code != http.StatusNotFound {
			t.Errorf("%s without --debug-pprof: %d, want 404", p, code)
		}
	}

	old := os.Args
	os.Args = []string{"coffer", "serve", "--authd.bootstrap-secret=K001topsecret", "--authd.master-secret", "K001mastersecret",
		"--authd.bootstrap-key-id", "0012345", "--tls-key=/etc/coffer/key.pem", "--data-dir", "/data"}
	t.Cleanup(func() { os.Args = old })
	s, _ = startWith(t, Config{DebugPprof: true}, func(context.Context) error { return nil })
	if code, _ := adminGet(t, s, "/debug/pprof/"); code != http.StatusOK {
		t.Fatalf("/debug/pprof/ with --debug-pprof: %d", code)
	}
	code, body := adminGet(t, s, "/debug/pprof/cmdline")
	if code != http.StatusOK || strings.Contains(body, "topsecret") || strings.Contains(body, "mastersecret") {
		t.Fatalf("cmdline %d shows a secret: %q", code, body)
	}
	want := strings.Join([]string{"coffer", "serve", "--authd.bootstrap-secret=<redacted>", "--authd.master-secret", "<redacted>",
		"--authd.bootstrap-key-id", "0012345", "--tls-key=/etc/coffer/key.pem", "--data-dir", "/data"}, "\x00")
	if body != want {
		t.Fatalf("cmdline = %q, want %q", body, want)
	}
}
