package clitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
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
	keyID  = "00clitestkey00000000000001"
	secret = "K00clitestsecret000000000000001"
	region = "us-east-1"
)

// server is a running `coffer serve`.
type server struct {
	endpoint string // http://127.0.0.1:port
	host     string // 127.0.0.1:port
}

// startServer builds coffer and runs it on a temp directory until the test
// ends. Only the process started here is ever stopped, by its PID.
func startServer(t *testing.T) *server {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "coffer")
	build := exec.Command("go", "build", "-o", bin, "github.com/coffer-project/coffer/services/cmd/coffer")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build coffer: %v\n%s", err, out)
	}
	httpAddr, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data-dir", t.TempDir(), "--http-addr", httpAddr, "--grpc-addr", freeAddr(t),
		"--admin-addr", admin, "--metadata.raft-addr", freeAddr(t), "--console-addr=", "--log-level", "warn")
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
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &server{endpoint: "http://" + httpAddr, host: httpAddr}
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

// tool returns the Debian binary /usr/bin/<name>, installing pkg with
// apt-get when it is missing. The Debian binaries in /usr/bin are used
// on purpose: a pip-installed aws on PATH would be another client.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path := "/usr/bin/" + name
	have := func() bool { _, err := os.Stat(path); return err == nil }
	if err := debpkg.Ensure(have, false, pkg); err != nil {
		t.Fatalf("%s is not installed and could not be: %v", name, err)
	}
	return path
}

// session runs one tool's commands with an isolated HOME and environment.
type session struct {
	t    *testing.T
	bin  string
	env  []string
	dir  string // working directory
	home string
}

func newSession(t *testing.T, bin string, env ...string) *session {
	home := t.TempDir()
	base := []string{"HOME=" + home, "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TMPDIR=" + t.TempDir()}
	return &session{t: t, bin: bin, env: append(base, env...), dir: t.TempDir(), home: home}
}

// run runs the tool and fails the test on a non-zero exit.
func (s *session) run(args ...string) string {
	s.t.Helper()
	out, err := s.try(args...)
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", filepath.Base(s.bin), strings.Join(args, " "), err, out)
	}
	return out
}

// try runs the tool and returns its combined output and exit error.
func (s *session) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env, cmd.Dir = s.env, s.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeFile writes size deterministic bytes (or the given content) under dir.
func writeFile(t *testing.T, path string, size int64, seed byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 64<<10)
	x := uint32(seed) + 1
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		for i := range buf[:n] {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			buf[i] = byte(x)
		}
		if _, err := io.MultiWriter(f, h).Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fileSHA256 is the hex SHA-256 of a file.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tree is a local directory of files whose names exercise key encoding.
var treeNames = []string{
	"plain.txt",
	"dir one/with space.txt",
	"plus+sign/a+b=c.txt",
	"percent/100% done %2F %41.txt",
	"unicode/ünïcødé ✓ 日本.txt",
	"dots/x..y/..z.txt",
	"deep/a/b/c/d/e.bin",
	"symbols/!$&'()*,;=@[]~.txt",
}

// makeTree writes treeNames under root and returns name → SHA-256.
func makeTree(t *testing.T, root string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for i, name := range treeNames {
		sums[name] = writeFile(t, filepath.Join(root, filepath.FromSlash(name)), int64(100+i*1777), byte(i))
	}
	return sums
}

// checkTree compares the files under root with sums.
func checkTree(t *testing.T, root string, sums map[string]string) {
	t.Helper()
	for name, want := range sums {
		if got := fileSHA256(t, filepath.Join(root, filepath.FromSlash(name))); got != want {
			t.Fatalf("%s: content differs after the round trip", name)
		}
	}
}
