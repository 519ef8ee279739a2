// Package clustertest starts every coffer role in-process for tests: real
// gRPC over loopback, real Raft and real disks in a temp directory, and the
// gateway on 127.0.0.1:0. It returns the S3 endpoint and the bootstrap
// credentials.
package clustertest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/app"
	"github.com/coffer-project/coffer/services/runtime"
)

// Test credentials of the bootstrap key (every capability).
const (
	AccessKeyID = "0012345678901234567890abc"
	SecretKey   = "K001testsecretkeyforcoffertests"
	Region      = "us-east-1"
)

// Cluster is a running in-process coffer.
type Cluster struct {
	t        testing.TB
	Dir      string
	Endpoint string // http://127.0.0.1:port (https:// with --tls-cert)
	// Console is the web console's origin, like Endpoint.
	Console string
	Process *app.Process
	extra   []string
	logs    io.Writer
	stopped bool
}

// Start starts all roles on a fresh temp directory. extraArgs are appended to
// the `coffer serve` flags (for example "--log-level=debug").
func Start(t testing.TB, extraArgs ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Dir: t.TempDir(), extra: extraArgs}
	c.start()
	t.Cleanup(c.Stop)
	return c
}

// StartLogged is Start with the process's log written to logs as JSON
// lines, every level included, for tests that check what is logged.
func StartLogged(t testing.TB, logs io.Writer, extraArgs ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Dir: t.TempDir(), extra: extraArgs, logs: logs}
	c.start()
	t.Cleanup(c.Stop)
	return c
}

// Args are the serve flags for a process on dir with every listener on a
// free loopback port.
func Args(dir string) []string {
	return []string{
		"--data-dir", dir,
		"--grpc-addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0",
		"--console-addr", "127.0.0.1:0",
		"--metadata.raft-addr", "127.0.0.1:0",
		"--authd.bootstrap-key-id", AccessKeyID,
		"--authd.bootstrap-secret", SecretKey,
		"--shutdown-timeout", "10s",
	}
}

func (c *Cluster) start() {
	c.t.Helper()
	cfg, _, err := app.ParseConfig("clustertest", append(Args(c.Dir), c.extra...))
	if err != nil {
		c.t.Fatalf("clustertest: config: %v", err)
	}
	var logOut io.Writer = io.Discard
	if os.Getenv("COFFER_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if c.logs != nil {
		log = slog.New(slog.NewJSONHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := app.Start(ctx, cfg, io.Discard, log)
	if err != nil {
		c.t.Fatalf("clustertest: start: %v", err)
	}
	c.Process, c.Endpoint, c.Console, c.stopped = p, p.HTTPURL(), p.ConsoleURL(), false
}

// Stop stops every role gracefully. It is idempotent.
func (c *Cluster) Stop() {
	if c.stopped {
		return
	}
	c.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Process.Stop(ctx); err != nil {
		c.t.Errorf("clustertest: stop: %v", err)
	}
}

// Restart stops the process and starts a new one on the same directory. The
// endpoint changes (new ports).
func (c *Cluster) Restart() {
	c.t.Helper()
	c.Stop()
	c.start()
}

// Meta returns a metadata client connected to the process's gRPC port.
func (c *Cluster) Meta() metadatav1.MetadataServiceClient {
	c.t.Helper()
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		c.t.Fatalf("clustertest: dial: %v", err)
	}
	c.t.Cleanup(func() { cc.Close() })
	return metadatav1.NewMetadataServiceClient(cc)
}

// AccountID returns the account id the process bootstrapped.
func (c *Cluster) AccountID() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Meta().GetAccount(ctx, &metadatav1.GetAccountRequest{})
	if err != nil {
		c.t.Fatalf("clustertest: account: %v", err)
	}
	return resp.GetAccount().GetAccountId()
}

// AccountToken returns a B2 account token of the bootstrap key (every
// capability): what key management (authd CreateKey, ListKeys, DeleteKey)
// and operator runs (lifecycle, maintenance) take with each call.
func (c *Cluster) AccountToken() string {
	c.t.Helper()
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		c.t.Fatalf("clustertest: dial: %v", err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := authv1.NewAuthServiceClient(cc).AuthorizeAccount(ctx, &authv1.AuthorizeAccountRequest{KeyId: AccessKeyID, Secret: SecretKey})
	if err != nil {
		c.t.Fatalf("clustertest: authorize the bootstrap key: %v", err)
	}
	return resp.GetAuthorizationToken()
}

// Gateway is another gateway process in front of the cluster's roles (as
// a second gateway of a real cluster, with its own caches).
type Gateway struct {
	Endpoint string
	Process  *app.Process
}

// StartGateway starts one more process running only the gateway role, over
// this cluster's metadata, authd, corsd and blobstore. It is stopped when
// the test ends.
func (c *Cluster) StartGateway(t testing.TB, extraArgs ...string) *Gateway {
	t.Helper()
	addr := c.Process.GRPCAddr()
	args := append(Args(t.TempDir()), "--roles=gateway", "--metadata-addrs="+addr, "--authd-addrs="+addr,
		"--corsd-addrs="+addr, "--blobstore-addrs="+addr)
	cfg, _, err := app.ParseConfig("clustertest-gateway", append(args, extraArgs...))
	if err != nil {
		t.Fatalf("clustertest: gateway config: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := app.Start(ctx, cfg, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("clustertest: start gateway: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.Stop(ctx)
	})
	return &Gateway{Endpoint: p.HTTPURL(), Process: p}
}
