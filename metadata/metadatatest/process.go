package metadatatest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// Binary builds the coffer binary of this module once per test process and
// returns its path. Call Cleanup from TestMain to remove it.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "coffer-bin-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "coffer")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/coffer-project/coffer/services/cmd/coffer")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build coffer: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Cleanup removes the binary Binary built, if any.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Process is a coffer child process. Its output goes to a log file, whose
// tail is printed when the test fails.
//
// Concurrency: a Process is driven by one goroutine at a time.
type Process struct {
	t    testing.TB
	bin  string
	args []string
	log  string
	cmd  *exec.Cmd
	done chan error
	runs int
}

// StartProcess runs `bin args...`; the process is killed at the end of the
// test if it is still running.
func StartProcess(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, bin: bin, args: args, log: filepath.Join(t.TempDir(), "process.log")}
	p.Start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %v:\n%s", p.args, p.Tail(4000))
		}
		p.Kill()
	})
	return p
}

// Start (re)starts the process with the same arguments. Its output is
// appended to the same log.
func (p *Process) Start() {
	p.t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	p.runs++
	fmt.Fprintf(f, "=== run %d at %s\n", p.runs, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatal(err)
	}
	p.cmd, p.done = cmd, make(chan error, 1)
	go func() {
		p.done <- cmd.Wait()
		f.Close()
	}()
}

// Running reports whether the process has been started and not yet exited.
func (p *Process) Running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case err := <-p.done:
		p.done <- err // keep it for Wait
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL (a crash: nothing is flushed or closed) and waits for
// the process to exit. It is a no-op when the process is not running.
func (p *Process) Kill() {
	if !p.Running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

// Stop sends SIGTERM (a graceful stop) and waits up to timeout before it
// kills the process; it reports whether the process exited by itself.
func (p *Process) Stop(timeout time.Duration) bool {
	if !p.Running() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return true
	case <-time.After(timeout):
		p.Kill()
		return false
	}
}

// Pid is the process id of the current run.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Tail returns the last n bytes of the process's log.
func (p *Process) Tail(n int) string {
	b, _ := os.ReadFile(p.log)
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// NeverSent reports whether a failed gRPC call certainly never left the
// client: grpc-go fails a call with one of these texts only when it could
// not get a connection to the target (dialling failed, or the server did
// not complete the HTTP/2 handshake; a transport is handed to calls only
// after the server's preface arrived). The metadata role's forwarding makes
// the same judgement (metadata/forward.go).
func NeverSent(err error) bool {
	if err == nil || status.Code(err) != codes.Unavailable { // Code looks through wrapping
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "Error while dialing") || strings.Contains(msg, "error reading server preface")
}
