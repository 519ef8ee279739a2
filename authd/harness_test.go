package authd_test

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coffer-project/coffer/authd"
	"github.com/coffer-project/coffer/metadata"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// The end-to-end tests run the real metadata role and authd, each behind
// the real runtime on 127.0.0.1:0, talking gRPC through runtime.Dial — as
// `coffer serve --roles=all` does.

var quiet = slog.New(slog.DiscardHandler)

// clock is an injectable clock (the only fake: an external edge).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func wantKind(t testing.TB, err error, kind errs.Kind) *errs.Error {
	t.Helper()
	if err == nil || errs.KindOf(err) != kind {
		t.Fatalf("error %v (kind %v), want kind %v", err, errs.KindOf(err), kind)
	}
	return errs.As(err)
}

// serve runs a role behind a runtime server and returns a client connection.
func serve(t testing.TB, register func(*runtime.Server), start func(context.Context) error, stop func(context.Context) error) (addr string) {
	t.Helper()
	rt, err := runtime.New(runtime.Config{GRPCAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "text", ShutdownTimeout: 5 * time.Second}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	register(rt)
	served := make(chan error, 1)
	go func() { served <- rt.Serve() }()
	shutdown := func() {
		rt.Stop(context.Background())
		<-served
		if err := stop(context.Background()); err != nil {
			t.Error(err)
		}
	}
	if err := start(ctx(t)); err != nil {
		shutdown()
		t.Fatal(err)
	}
	t.Cleanup(shutdown)
	return rt.GRPCAddr()
}

// metaNode is a running metadata role.
type metaNode struct {
	dir    string
	client metadatav1.MetadataServiceClient
}

func startMetadata(t testing.TB) *metaNode {
	t.Helper()
	var cfg metadata.Config
	cfg.RegisterFlags("metadata.", flag.NewFlagSet("test", flag.ContinueOnError))
	cfg.DataDir = t.TempDir()
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.HeartbeatTimeout = 50 * time.Millisecond
	cfg.ElectionTimeout = 50 * time.Millisecond
	srv, err := metadata.New(cfg, metadata.Deps{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, func(rt *runtime.Server) { srv.Register(rt.GRPC()) }, srv.Start, srv.Stop)
	cc, err := runtime.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &metaNode{dir: cfg.DataDir, client: metadatav1.NewMetadataServiceClient(cc)}
}

// authNode is a running authd.
type authNode struct {
	srv    *authd.Server
	client authv1.AuthServiceClient
	out    *bytes.Buffer
	stop   func()
}

// testConfig is the flag defaults with a data dir (so the KEK file lives in it).
func testConfig(t testing.TB, dataDir string) authd.Config {
	t.Helper()
	var cfg authd.Config
	cfg.RegisterFlags("authd.", flag.NewFlagSet("test", flag.ContinueOnError))
	cfg.DataDir = dataDir
	return cfg
}

// startAuthd starts authd over meta; it fails the test if Start fails.
func startAuthd(t testing.TB, cfg authd.Config, meta *metaNode, now func() time.Time) *authNode {
	t.Helper()
	n, err := tryStartAuthd(t, cfg, meta, now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func tryStartAuthd(t testing.TB, cfg authd.Config, meta *metaNode, now func() time.Time) (*authNode, error) {
	t.Helper()
	return tryStartAuthdLogged(t, cfg, meta, now, quiet)
}

// tryStartAuthdLogged is tryStartAuthd with log as authd's and its
// runtime's logger, and the runtime logging at debug level.
func tryStartAuthdLogged(t testing.TB, cfg authd.Config, meta *metaNode, now func() time.Time, log *slog.Logger) (*authNode, error) {
	t.Helper()
	out := &bytes.Buffer{}
	srv, err := authd.New(cfg, authd.Deps{Meta: meta.client, Log: log, Out: out, Now: now})
	if err != nil {
		return nil, err
	}
	if srv.Ready() == nil {
		t.Fatal("ready before Start")
	}
	rt, err := runtime.New(runtime.Config{GRPCAddr: "127.0.0.1:0", LogLevel: "debug", LogFormat: "text", ShutdownTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(rt.GRPC())
	served := make(chan error, 1)
	go func() { served <- rt.Serve() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			rt.Stop(context.Background())
			<-served
			_ = srv.Stop(context.Background())
		})
	}
	t.Cleanup(stop)
	if err := srv.Start(ctx(t)); err != nil {
		stop()
		return nil, err
	}
	if err := srv.Ready(); err != nil {
		t.Fatal(err)
	}
	cc, err := runtime.Dial(rt.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &authNode{srv: srv, client: authv1.NewAuthServiceClient(cc), out: out, stop: stop}, nil
}

// wire converts a client-side signed request into what the gateway sends.
func wire(r *http.Request) *authv1.VerifySigV4Request {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	req := &authv1.VerifySigV4Request{Method: r.Method, RawPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Host: host}
	for name, vs := range r.Header {
		for _, v := range vs {
			req.Headers = append(req.Headers, &authv1.HTTPHeader{Name: name, Value: v})
		}
	}
	if r.ContentLength > 0 && r.Header.Get("Content-Length") == "" { // a client-side request
		req.Headers = append(req.Headers, &authv1.HTTPHeader{Name: "Content-Length", Value: strconv.FormatInt(r.ContentLength, 10)})
	}
	return req
}

// adminToken is an account token of the bootstrap key (every capability),
// which key management takes: reaching authd is not enough.
func adminToken(t testing.TB, c authv1.AuthServiceClient) string {
	t.Helper()
	resp, err := c.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: adminID, Secret: adminSecret})
	if err != nil {
		t.Fatalf("authorize the bootstrap key: %v", err)
	}
	return resp.AuthorizationToken
}
