// Command loadgen is coffer's S3 load generator. It drives PUT and GET of
// fixed-size objects at fixed concurrency for a bounded time and prints
// ops/s, MiB/s and latency percentiles per scenario. Scenarios are put, get
// and mpu (a multipart upload of the given size in -part-size parts:
// create, the parts one after another, complete).
//
//	go run ./gateway/loadgen -server bin/coffer       # fresh all-in-one server in a temp dir
//	go run ./gateway/loadgen -endpoint http://127.0.0.1:9000 -access-key … -secret …
//
// Every run is bounded: each scenario stops after -duration (or -max-ops).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

type scenario struct {
	op          string // put, get or mpu (multipart upload)
	size        int64
	concurrency int
}

func parseScenarios(s string) ([]scenario, error) {
	var out []scenario
	for _, part := range strings.Split(s, ",") {
		// op-size:concurrency, e.g. put-4k:32
		name, conc, ok := strings.Cut(strings.TrimSpace(part), ":")
		op, sizeStr, ok2 := strings.Cut(name, "-")
		if !ok || !ok2 || (op != "put" && op != "get" && op != "mpu") {
			return nil, fmt.Errorf("bad scenario %q (want put-4k:32, get-4k:32 or mpu-64m:4)", part)
		}
		size, err := parseSize(sizeStr)
		if err != nil {
			return nil, err
		}
		c, err := strconv.Atoi(conc)
		if err != nil || c < 1 {
			return nil, fmt.Errorf("bad concurrency in %q", part)
		}
		out = append(out, scenario{op, size, c})
	}
	return out, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, strings.TrimSuffix(s, "g")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func main() {
	server := flag.String("server", "", "path to a coffer binary: start a fresh all-in-one server for the run")
	endpoint := flag.String("endpoint", "", "S3 endpoint of a running server (instead of -server)")
	accessKey := flag.String("access-key", "0000loadgen0000000000000001", "access key id")
	secret := flag.String("secret", "K000loadgensecretkey00000000001", "secret access key")
	scenarios := flag.String("scenarios", "put-4k:32,get-4k:32,put-64m:4,get-64m:4,mpu-64m:4", "comma-separated op-size:concurrency")
	duration := flag.Duration("duration", 10*time.Second, "how long each scenario runs")
	maxOps := flag.Int64("max-ops", 0, "stop a scenario after this many operations (0: only -duration)")
	partSize := flag.String("part-size", "8m", "part size of mpu scenarios")
	signed := flag.Bool("signed-payload", false, "sign payload hashes and send checksums (default: UNSIGNED-PAYLOAD, to measure the server, not the client's hashing)")
	flag.Parse()

	scs, err := parseScenarios(*scenarios)
	if err != nil {
		fatal(err)
	}
	if mpuPartSize, err = parseSize(*partSize); err != nil || mpuPartSize < 5<<20 {
		fatal(fmt.Errorf("bad -part-size %q (at least 5m)", *partSize))
	}
	if *server != "" {
		stop, ep, err := startServer(*server, *accessKey, *secret)
		if err != nil {
			fatal(err)
		}
		defer stop()
		*endpoint = ep
	}
	if *endpoint == "" {
		fatal(errors.New("need -server or -endpoint"))
	}
	client := newClient(*endpoint, *accessKey, *secret, *signed, maxConc(scs))
	ctx := context.Background()
	bucket := fmt.Sprintf("loadgen-%d", time.Now().Unix())
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		fatal(fmt.Errorf("create bucket: %w", err))
	}
	fmt.Printf("coffer loadgen: endpoint %s, %s per scenario, payload signing %v\n", *endpoint, *duration, *signed)
	fmt.Printf("%-10s %5s %9s %10s %10s %10s %7s\n", "scenario", "conc", "ops", "ops/s", "MiB/s", "p50", "p99")
	written := map[int64][]string{}
	for _, sc := range scs {
		res := run(ctx, client, bucket, sc, *duration, *maxOps, written)
		name := fmt.Sprintf("%s-%s", sc.op, human(sc.size))
		fmt.Printf("%-10s %5d %9d %10.1f %10.1f %10s %7s", name, sc.concurrency, res.ops, res.opsPerSec(),
			res.mibPerSec(sc.size), round(res.pct(50)), round(res.pct(99)))
		if res.errors > 0 {
			fmt.Printf("  ERRORS: %d (first: %v)", res.errors, res.firstErr)
		}
		fmt.Println()
	}
}

func maxConc(scs []scenario) int {
	m := 1
	for _, s := range scs {
		m = max(m, s.concurrency)
	}
	return m
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dg", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dm", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dk", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

func round(d time.Duration) string {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

func newClient(endpoint, ak, sk string, signed bool, conc int) *s3.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conc*2, conc*2
	opts := s3.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, ""),
		BaseEndpoint: aws.String(endpoint), UsePathStyle: true, HTTPClient: &http.Client{Transport: tr},
	}
	var fns []func(*s3.Options)
	if !signed {
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		opts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		fns = append(fns, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	}
	return s3.New(opts, fns...)
}

type result struct {
	ops, errors int64
	firstErr    error
	elapsed     time.Duration
	lat         []time.Duration
}

func (r *result) opsPerSec() float64 { return float64(r.ops) / r.elapsed.Seconds() }
func (r *result) mibPerSec(size int64) float64 {
	return float64(r.ops) * float64(size) / (1 << 20) / r.elapsed.Seconds()
}
func (r *result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*p/100)]
}

func run(ctx context.Context, c *s3.Client, bucket string, sc scenario, d time.Duration, maxOps int64, written map[int64][]string) *result {
	payload := make([]byte, sc.size)
	for i := range payload {
		payload[i] = byte(i*31 + i>>9)
	}
	keys := written[sc.size]
	if sc.op == "get" && len(keys) == 0 {
		// Nothing written at this size yet: write one object per worker.
		for i := 0; i < sc.concurrency; i++ {
			k := fmt.Sprintf("seed/%s/%d", human(sc.size), i)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &k, Body: bytes.NewReader(payload)}); err != nil {
				fatal(err)
			}
			keys = append(keys, k)
		}
		written[sc.size] = keys
	}
	var (
		mu    sync.Mutex
		res   = &result{}
		count atomic.Int64
		wg    sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < sc.concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			var lat []time.Duration
			var mine []string
			for i := 0; time.Now().Before(deadline); i++ {
				n := count.Add(1)
				if maxOps > 0 && n > maxOps {
					break
				}
				t0 := time.Now()
				var err error
				if sc.op == "mpu" {
					k := fmt.Sprintf("mpu/%s/%d/%d", human(sc.size), w, i)
					err = putMultipart(ctx, c, bucket, k, payload)
				} else if sc.op == "put" {
					k := fmt.Sprintf("%s/%d/%d", human(sc.size), w, i)
					_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &k, Body: bytes.NewReader(payload)})
					if err == nil && len(mine) < 64 {
						mine = append(mine, k)
					}
				} else {
					k := keys[(w+i)%len(keys)]
					var out *s3.GetObjectOutput
					if out, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &k}); err == nil {
						var got int64
						got, err = io.CopyBuffer(io.Discard, out.Body, buf)
						out.Body.Close()
						if err == nil && got != sc.size {
							err = fmt.Errorf("short GET: %d of %d bytes", got, sc.size)
						}
					}
				}
				lat = append(lat, time.Since(t0))
				if err != nil {
					mu.Lock()
					res.errors++
					if res.firstErr == nil {
						res.firstErr = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			written[sc.size] = append(written[sc.size], mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ops = int64(len(res.lat)) - res.errors
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}

// mpuPartSize is the part size of mpu scenarios (-part-size).
var mpuPartSize int64 = 8 << 20

// putMultipart uploads payload as a multipart upload of mpuPartSize parts.
func putMultipart(ctx context.Context, c *s3.Client, bucket, key string, payload []byte) error {
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return err
	}
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < int64(len(payload)) || n == 1; off, n = off+mpuPartSize, n+1 {
		end := min(off+mpuPartSize, int64(len(payload)))
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(payload[off:end])})
		if err != nil {
			_, _ = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId})
			return err
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	return err
}

// startServer starts a fresh all-in-one coffer on free loopback ports with
// a temp data dir, waits until it is ready, and returns a stop function.
func startServer(bin, ak, sk string) (func(), string, error) {
	dir, err := os.MkdirTemp("", "coffer-loadgen-")
	if err != nil {
		return nil, "", err
	}
	ports := make([]string, 4)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		ports[i] = l.Addr().String()
		l.Close()
	}
	cmd := exec.Command(bin, "serve", "--data-dir", filepath.Join(dir, "data"), "--http-addr", ports[0],
		"--grpc-addr", ports[1], "--admin-addr", ports[2], "--metadata.raft-addr", ports[3], "--console-addr=", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "COFFER_ACCESS_KEY_ID="+ak, "COFFER_SECRET_ACCESS_KEY="+sk)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + ports[2] + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return stop, "http://" + ports[0], nil
			}
		}
	}
	stop()
	return nil, "", errors.New("server did not become ready within 60s")
}
