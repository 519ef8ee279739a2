package authcache_test

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/coffer-project/coffer/authd"
	"github.com/coffer-project/coffer/authd/sigv4"
	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/metadata"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/runtime"
)

// The tests run the real metadata role and authd, each behind the real
// runtime on 127.0.0.1, and talk to them through runtime.Dial — the way the
// gateway does in `coffer serve`. Metadata can be stopped and started again
// on the same address, which breaks the watch stream for real.

const (
	clusterKey  = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	adminID     = "admin-key"
	adminSecret = "admin-secret-0123"
)

var quiet = slog.New(slog.DiscardHandler)

// testLog logs through t.Log, so a failing test shows what the cache did.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// serve runs register+start behind a runtime on addr and returns the bound
// address and a stop function (also registered for cleanup).
func serve(t testing.TB, addr string, register func(*runtime.Server), start, stop func(context.Context) error) (string, func()) {
	t.Helper()
	rt, err := runtime.New(runtime.Config{GRPCAddr: addr, LogLevel: "error", LogFormat: "text", ShutdownTimeout: 200 * time.Millisecond}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	register(rt)
	served := make(chan error, 1)
	go func() { served <- rt.Serve() }()
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			rt.Stop(context.Background())
			<-served
			_ = stop(context.Background())
		})
	}
	if err := start(ctx(t)); err != nil {
		shutdown()
		t.Fatal(err)
	}
	t.Cleanup(shutdown)
	return rt.GRPCAddr(), shutdown
}

// metaServer is a metadata node that can be restarted on its address.
type metaServer struct {
	cfg  metadata.Config
	addr string
	stop func()
}

func metaConfig(t testing.TB) metadata.Config {
	var cfg metadata.Config
	cfg.RegisterFlags("metadata.", flag.NewFlagSet("test", flag.ContinueOnError))
	cfg.DataDir = t.TempDir()
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.HeartbeatTimeout = 50 * time.Millisecond
	cfg.ElectionTimeout = 50 * time.Millisecond
	return cfg
}

// startMeta starts metadata on cfg at addr ("127.0.0.1:0" for any port).
func startMeta(t testing.TB, cfg metadata.Config, addr string) *metaServer {
	t.Helper()
	srv, err := metadata.New(cfg, metadata.Deps{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	bound, stop := serve(t, addr, func(rt *runtime.Server) { srv.Register(rt.GRPC()) }, srv.Start, srv.Stop)
	return &metaServer{cfg: cfg, addr: bound, stop: stop}
}

// restart stops the node and starts it again on the same directory and
// gRPC address.
func (m *metaServer) restart(t testing.TB) {
	t.Helper()
	m.stop()
	n := startMeta(t, m.cfg, m.addr)
	m.stop = n.stop
}

func dial(t testing.TB, addr string) *runtimeConn {
	t.Helper()
	cc, err := runtime.Dial("passthrough:///" + addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &runtimeConn{meta: metadatav1.NewMetadataServiceClient(cc), auth: authv1.NewAuthServiceClient(cc)}
}

type runtimeConn struct {
	meta metadatav1.MetadataServiceClient
	auth authv1.AuthServiceClient
}

// env is metadata + authd + their clients.
type env struct {
	meta     *metaServer
	metaConn *runtimeConn
	auth     authv1.AuthServiceClient
}

func newEnv(t testing.TB) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with a change to metadata's configuration.
func newEnvWith(t testing.TB, mod func(*metadata.Config)) *env {
	t.Helper()
	t.Setenv(authd.EnvClusterKey, clusterKey)
	mcfg := metaConfig(t)
	if mod != nil {
		mod(&mcfg)
	}
	e := &env{meta: startMeta(t, mcfg, "127.0.0.1:0")}
	e.metaConn = dial(t, e.meta.addr)
	var cfg authd.Config
	cfg.RegisterFlags("authd.", flag.NewFlagSet("test", flag.ContinueOnError))
	cfg.DataDir = t.TempDir()
	cfg.BootstrapKeyID, cfg.BootstrapSecret = adminID, adminSecret
	cfg.MasterSecret = "master-secret-for-tests"
	srv, err := authd.New(cfg, authd.Deps{Meta: e.metaConn.meta, Log: quiet, Out: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serve(t, "127.0.0.1:0", func(rt *runtime.Server) { srv.Register(rt.GRPC()) }, srv.Start, srv.Stop)
	e.auth = dial(t, addr).auth
	return e
}

// cache starts a credential cache over the environment (one per gateway),
// and waits for its watch stream to be live.
func (e *env) cache(t testing.TB) *authcache.Cache {
	t.Helper()
	c := authcache.New(authcache.Config{Region: "us-east-1"}, authcache.Deps{Auth: e.auth, Meta: dial(t, e.meta.addr).meta, Log: testLog(t)})
	c.Start()
	t.Cleanup(c.Stop)
	waitFor(t, 10*time.Second, "the watch stream to be live", c.Live)
	return c
}

func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// createKey creates an application key through authd.
func (e *env) createKey(t testing.TB, req *authv1.CreateKeyRequest) (string, string) {
	t.Helper()
	req.AccountToken = e.adminToken(t)
	resp, err := e.auth.CreateKey(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Key.KeyId, resp.Secret
}

// adminToken is an account token of the bootstrap key, which key
// management takes with each call.
func (e *env) adminToken(t testing.TB) string {
	t.Helper()
	resp, err := e.auth.AuthorizeAccount(ctx(t), &authv1.AuthorizeAccountRequest{KeyId: adminID, Secret: adminSecret})
	if err != nil {
		t.Fatal(err)
	}
	return resp.AuthorizationToken
}

// signedReq is a request header-signed by aws-sdk-go-v2 now, as the
// gateway receives it.
func signedReq(t testing.TB, method, rawURL, id, secret string) *sigv4.Request {
	t.Helper()
	return signedAt(t, method, rawURL, id, secret, time.Now())
}

func signedAt(t testing.TB, method, rawURL, id, secret string, at time.Time) *sigv4.Request {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req,
		sigv4.EmptySHA256, "s3", "us-east-1", at, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	return &sigv4.Request{Method: req.Method, RawPath: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery, Host: req.URL.Host, Header: req.Header}
}

// wire is what the gateway sends authd for a request, with an access.
func wire(r *sigv4.Request, a *authv1.Access) *authv1.VerifySigV4Request {
	req := &authv1.VerifySigV4Request{Method: r.Method, RawPath: r.RawPath, RawQuery: r.RawQuery, Host: r.Host, Access: a}
	for name, values := range r.Header {
		for _, v := range values {
			req.Headers = append(req.Headers, &authv1.HTTPHeader{Name: name, Value: v})
		}
	}
	return req
}
