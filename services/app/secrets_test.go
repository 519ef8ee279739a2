package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/services/app"
	"github.com/coffer-project/coffer/services/clustertest"
)

// lockedBuffer is a log sink written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoSecretsExposed: the bootstrap and master secrets given as flags
// appear nowhere an operator or a scraper looks — the debug log of a start
// and of S3 traffic (good and bad signatures), /metrics, /debug/pprof with
// --debug-pprof — and the profiler is absent without it (issue 14 item 3).
func TestNoSecretsExposed(t *testing.T) {
	const master = "K001mastersecretneverprinted0000"
	args := append(clustertest.Args(t.TempDir()), "--authd.master-secret", master, "--log-level", "debug")
	start := func(extra ...string) (*app.Process, *lockedBuffer) {
		cfg, _, err := app.ParseConfig("secrets", append(args, extra...))
		if err != nil {
			t.Fatal(err)
		}
		logs := &lockedBuffer{}
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		p, err := app.Start(ctx, cfg, &out, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Stop(context.Background()) })
		return p, logs
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	p, logs := start()
	if code, _ := get("http://" + p.AdminAddr() + "/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ without --debug-pprof: %d", code)
	}
	// Traffic that logs: a good request and one with a wrong secret.
	for _, secret := range []string{clustertest.SecretKey, "K001wrongsecret0000000000000000"} {
		cli := s3.New(s3.Options{Region: clustertest.Region, BaseEndpoint: aws.String("http://" + p.HTTPAddr()), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(clustertest.AccessKeyID, secret, "")})
		_, _ = cli.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	}
	_, metrics := get("http://" + p.AdminAddr() + "/metrics")
	p.Stop(context.Background())

	p2, logs2 := start("--debug-pprof")
	code, index := get("http://" + p2.AdminAddr() + "/debug/pprof/")
	if code != http.StatusOK {
		t.Fatalf("/debug/pprof/ with --debug-pprof: %d", code)
	}
	_, cmdline := get("http://" + p2.AdminAddr() + "/debug/pprof/cmdline")
	for what, text := range map[string]string{"log": logs.String(), "log after restart": logs2.String(), "/metrics": metrics,
		"pprof index": index, "pprof cmdline": cmdline} {
		for _, secret := range []string{master, clustertest.SecretKey} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows a secret (%s…)", what, secret[:8])
			}
		}
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatal("the debug log is empty; the test checks nothing")
	}
}
