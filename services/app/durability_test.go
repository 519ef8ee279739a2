package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/gateway/conformance"
)

const (
	durKeyID  = "00durabilitytestkey0000001"
	durSecret = "K00durabilitytestsecret00000001"
)

// buildCoffer builds the real binary once per test run.
func buildCoffer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "coffer")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/coffer-project/coffer/services/cmd/coffer")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build coffer: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type server struct {
	cmd      *exec.Cmd
	endpoint string
	done     chan error
}

// startServer runs `coffer serve` on dir and waits for /readyz.
func startServer(t *testing.T, bin, dir string) *server {
	t.Helper()
	httpAddr, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data-dir", dir, "--http-addr", httpAddr, "--grpc-addr", freeAddr(t),
		"--admin-addr", admin, "--metadata.raft-addr", freeAddr(t), "--console-addr=", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "COFFER_ACCESS_KEY_ID="+durKeyID, "COFFER_SECRET_ACCESS_KEY="+durSecret)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, endpoint: "http://" + httpAddr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-s.done })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("coffer exited: %v\n%s", err, logs.String())
		default:
		}
	}
	t.Fatalf("coffer not ready\n%s", logs.String())
	return nil
}

func (s *server) client(t *testing.T) *s3.Client {
	return conformance.Target{Endpoint: s.endpoint, AccessKeyID: durKeyID, SecretKey: durSecret, Region: "us-east-1"}.AWS(t)
}

func (s *server) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("graceful stop: %v", err)
		}
		s.done <- err // let Cleanup's wait return
	case <-time.After(60 * time.Second):
		t.Fatal("coffer did not stop")
	}
}

// TestDurability writes objects from several clients, stops the server —
// gracefully, then with SIGKILL while writes are in flight — restarts it on
// the same data directory and checks every acknowledged object byte for byte.
func TestDurability(t *testing.T) {
	bin := buildCoffer(t)
	dir := t.TempDir()
	ctx := context.Background()
	bucket := "durability"
	acked := map[string]*conformance.Data{}
	var mu sync.Mutex

	s := startServer(t, bin, dir)
	c := s.client(t)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		key := fmt.Sprintf("graceful/%d", i)
		d := conformance.NewData(uint64(i), int64(i*7919))
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: &key, Body: d}); err != nil {
			t.Fatal(err)
		}
		acked[key] = d
	}
	s.stop(t, syscall.SIGTERM)

	s = startServer(t, bin, dir)
	verify(t, s.client(t), bucket, acked)

	// Writers keep going while the server is killed.
	c = s.client(t)
	var wg sync.WaitGroup
	stopWriters := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopWriters:
					return
				default:
				}
				key := fmt.Sprintf("killed/%d/%d", w, i)
				d := conformance.NewData(uint64(1000*w+i), int64(1+(i*4099)%300_000))
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: &key, Body: d}); err == nil {
					mu.Lock()
					acked[key] = d
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(2 * time.Second)
	s.stop(t, syscall.SIGKILL)
	close(stopWriters)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < 40 {
		t.Fatalf("only %d objects acknowledged before the kill; the test proves little", n)
	}
	s = startServer(t, bin, dir)
	verify(t, s.client(t), bucket, acked)
	t.Logf("%d acknowledged objects survived a SIGKILL", n)
}

func verify(t *testing.T, c *s3.Client, bucket string, acked map[string]*conformance.Data) {
	t.Helper()
	ctx := context.Background()
	for key, d := range acked {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("acknowledged %s lost: %v", key, err)
		}
		n, sum, err := conformance.HashReader(out.Body)
		out.Body.Close()
		if err != nil || n != d.Size || sum != d.SHA256() {
			t.Fatalf("acknowledged %s: %d bytes (want %d), err %v, content match %v", key, n, d.Size, err, sum == d.SHA256())
		}
	}
}
