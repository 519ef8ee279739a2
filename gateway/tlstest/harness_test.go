package tlstest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/debpkg"
)

// Credentials of the bootstrap key of the server under test.
const (
	keyID  = "00tlstestkey000000000000001"
	secret = "K00tlstestsecret00000000000001"
	region = "us-east-1"
)

// server is a running `coffer serve` with the certificate `coffer cert
// dev` wrote.
type server struct {
	bin      string
	tlsDir   string // ca.pem, server.pem, server-key.pem
	caFile   string
	endpoint string // https://127.0.0.1:port
	port     string
}

// build builds the coffer binary once per test binary.
var build = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "coffer-tlstest-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "coffer")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/coffer-project/coffer/services/cmd/coffer")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err, out}
	}
	return bin, nil
})

type buildError struct {
	err error
	out []byte
}

func (b *buildError) Error() string { return b.err.Error() + "\n" + string(b.out) }

// coffer runs the built binary and fails the test on a non-zero exit.
func coffer(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("coffer %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startServer writes a development CA and certificate with `coffer cert
// dev`, and serves HTTPS with them until the test ends. Only the process
// started here is stopped, by its PID.
func startServer(t *testing.T) *server {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatalf("build coffer: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "tls")
	out := coffer(t, bin, "cert", "dev", "--dir", dir)
	if !strings.Contains(out, "--tls-cert "+filepath.Join(dir, "server.pem")) {
		t.Fatalf("coffer cert dev does not say how to serve:\n%s", out)
	}
	httpAddr, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data-dir", t.TempDir(), "--http-addr", httpAddr, "--grpc-addr", freeAddr(t),
		"--admin-addr", admin, "--metadata.raft-addr", freeAddr(t), "--log-level", "warn",
		"--tls-cert", filepath.Join(dir, "server.pem"), "--tls-key", filepath.Join(dir, "server-key.pem"))
	cmd.Env = append(os.Environ(), "COFFER_ACCESS_KEY_ID="+keyID, "COFFER_SECRET_ACCESS_KEY="+secret)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("coffer log:\n%s", logs.String())
		}
	})
	_, port, _ := net.SplitHostPort(httpAddr)
	s := &server{bin: bin, tlsDir: dir, caFile: filepath.Join(dir, "ca.pem"), endpoint: "https://" + httpAddr, port: port}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if !strings.Contains(logs.String(), "serving S3 at https://"+httpAddr) {
					t.Fatalf("coffer serve does not announce https:\n%s", logs.String())
				}
				return s
			}
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("coffer exited: %v\n%s", err, logs.String())
		default:
		}
	}
	t.Fatalf("coffer not ready\n%s", logs.String())
	return nil
}

// pool is a certificate pool holding only the development CA.
func (s *server) pool(t *testing.T) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(s.caFile)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatal("ca.pem holds no certificate")
	}
	return p
}

// httpClient trusts only the development CA and speaks HTTP/2 when offered.
func (s *server) httpClient(t *testing.T) *http.Client {
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: s.pool(t)},
		ForceAttemptHTTP2: true,
	}}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the process's two output streams.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs a command with env (added to a clean base) and fails on error.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"}, env...)
	cmd.Dir = home
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// debian makes sure a Debian package is installed (file is one of its
// files), installing it when missing: the clients under test are Debian's,
// not whatever pip put on PATH.
func debian(t *testing.T, file, pkg string) {
	t.Helper()
	have := func() bool { _, err := os.Stat(file); return err == nil }
	if err := debpkg.Ensure(have, false, pkg); err != nil {
		t.Fatalf("%s is not installed and could not be: %v", pkg, err)
	}
}
