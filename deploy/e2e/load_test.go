//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Workload shape: a steady trickle that a 2-core machine running the whole
// cluster sustains next to the faults, with enough writes per second to
// measure a failover to a fraction of a second.
const (
	writersPerGateway = 2
	readersPerGateway = 2
	writePause        = 100 * time.Millisecond
	readPause         = 50 * time.Millisecond
	opTimeout         = 30 * time.Second
)

// op is one client call of the history.
type op struct {
	write bool
	gw    int // 0 or 1
	key   string
	// phase is the phase in which the call ended: a call that fails after
	// a fault was injected counts against that fault, even if it began
	// (and was retried) before.
	phase      string
	start, end time.Time
	outcome    string // "" when it succeeded, else its class (see classify)
}

// object is what an acknowledged write stored.
type object struct {
	sha  string
	size int
}

// load runs writers and readers against both gateways and records every
// call. Each write puts a new key, so an acknowledged write is lost exactly
// when its key does not read back with its bytes.
type load struct {
	t       *testing.T
	clients [2]*s3.Client
	bucket  string
	phase   atomic.Pointer[string]

	mu     sync.Mutex
	ops    []op
	acked  map[string]object // key → what was stored
	keys   []string          // acknowledged keys, in order
	failed map[string]object // keys whose write failed → what was attempted

	stopc chan struct{}
	wg    sync.WaitGroup
}

// s3Client returns a client with the SDK's standard retries (3 attempts)
// and no client-side retry quota, so failures are counted the same way in
// every phase.
func s3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(keyID, secretKey, ""),
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = ratelimit.None
		}),
		HTTPClient: &http.Client{Timeout: opTimeout},
	})
}

func newLoad(t *testing.T, c *cluster, bucket string) *load {
	l := &load{t: t, bucket: bucket, acked: map[string]object{}, failed: map[string]object{}, stopc: make(chan struct{})}
	for i, gw := range c.gateways {
		l.clients[i] = s3Client(gw)
	}
	l.setPhase("warm-up")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := l.clients[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return l
}

func (l *load) setPhase(name string) { l.phase.Store(&name) }

// start starts the clients; they run until stop.
func (l *load) start() {
	for gw := 0; gw < 2; gw++ {
		for i := 0; i < writersPerGateway; i++ {
			id := gw*writersPerGateway + i
			l.wg.Go(func() { l.writer(id, gw) })
		}
		for i := 0; i < readersPerGateway; i++ {
			seed := uint64(gw*readersPerGateway + i)
			l.wg.Go(func() { l.reader(seed, gw) })
		}
	}
}

// stop stops the clients and waits for them.
func (l *load) stop() {
	close(l.stopc)
	l.wg.Wait()
}

func (l *load) stopped(d time.Duration) bool {
	select {
	case <-l.stopc:
		return true
	case <-time.After(d):
		return false
	}
}

// body returns the deterministic body of a key: mostly small objects, some
// of a few stripes, a few larger than one 4+2 stripe (1 MiB).
func body(r *rand.Rand) []byte {
	var n int
	switch p := r.IntN(100); {
	case p < 70:
		n = 1<<10 + r.IntN(15<<10)
	case p < 97:
		n = 16<<10 + r.IntN(240<<10)
	default:
		n = 1<<20 + r.IntN(512<<10)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func (l *load) writer(id, gw int) {
	r := rand.New(rand.NewPCG(uint64(id), 42))
	for seq := 0; ; seq++ {
		if l.stopped(writePause) {
			return
		}
		key := fmt.Sprintf("load/w%d/%07d", id, seq)
		b := body(r)
		sum := sha256.Sum256(b)
		o := object{sha: hex.EncodeToString(sum[:]), size: len(b)}
		rec := op{write: true, gw: gw, key: key, start: time.Now()}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		_, err := l.clients[gw].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key), Body: bytes.NewReader(b)})
		cancel()
		rec.end, rec.outcome, rec.phase = time.Now(), classify(err), *l.phase.Load()
		l.mu.Lock()
		l.ops = append(l.ops, rec)
		if err == nil {
			l.acked[key] = o
			l.keys = append(l.keys, key)
		} else {
			l.failed[key] = o
		}
		l.mu.Unlock()
	}
}

func (l *load) reader(seed uint64, gw int) {
	r := rand.New(rand.NewPCG(seed, 7))
	for {
		if l.stopped(readPause) {
			return
		}
		l.mu.Lock()
		if len(l.keys) == 0 {
			l.mu.Unlock()
			continue
		}
		// Mostly recent keys (read-your-writes across gateways), some old.
		i := len(l.keys) - 1 - r.IntN(min(len(l.keys), 50))
		if r.IntN(4) == 0 {
			i = r.IntN(len(l.keys))
		}
		key := l.keys[i]
		want := l.acked[key]
		l.mu.Unlock()
		rec := op{gw: gw, key: key, start: time.Now()}
		rec.outcome = l.check(l.clients[gw], key, want)
		rec.end, rec.phase = time.Now(), *l.phase.Load()
		l.mu.Lock()
		l.ops = append(l.ops, rec)
		l.mu.Unlock()
	}
}

// check reads key and compares it with want: "" when it matches,
// "corrupt" when other bytes came back, else the error's class.
func (l *load) check(c *s3.Client, key string, want object) string {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key)})
	if err != nil {
		return classify(err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		// A body cut short is the server refusing to hand on bytes it
		// could not verify: an error, not corruption.
		return "body: " + classify(err)
	}
	if int(n) != want.size || hex.EncodeToString(h.Sum(nil)) != want.sha {
		return "corrupt"
	}
	return ""
}

// classify names an outcome: "503 ServiceUnavailable", "404 NoSuchKey",
// "conn: connection refused" (no HTTP answer, with the last words of the
// error), "timeout".
func classify(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "timeout"
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		code := ""
		var ae smithy.APIError
		if errors.As(err, &ae) {
			code = ae.ErrorCode()
		}
		return strings.TrimSpace(fmt.Sprintf("%d %s", re.HTTPStatusCode(), code))
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if len(msg) > 40 {
		msg = msg[:40]
	}
	return "conn: " + msg
}

// snapshot returns a copy of the history.
func (l *load) snapshot() []op {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]op(nil), l.ops...)
}

// ackedKeys returns the acknowledged keys and what they hold.
func (l *load) ackedKeys() map[string]object {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]object, len(l.acked))
	for k, v := range l.acked {
		out[k] = v
	}
	return out
}

// failedKeys returns the keys whose write failed.
func (l *load) failedKeys() map[string]object {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]object, len(l.failed))
	for k, v := range l.failed {
		out[k] = v
	}
	return out
}

// verifyAll reads every key of want through c (with a few retries for
// transient errors) and returns the keys that did not read back exactly,
// by outcome.
func (l *load) verifyAll(c *s3.Client, want map[string]object) map[string][]string {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := map[string][]string{}
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for key := range work {
				var outcome string
				for try := 0; try < 3; try++ {
					if outcome = l.check(c, key, want[key]); outcome == "" || outcome == "corrupt" || strings.HasPrefix(outcome, "404") {
						break
					}
					time.Sleep(time.Second)
				}
				if outcome != "" {
					mu.Lock()
					bad[outcome] = append(bad[outcome], key)
					mu.Unlock()
				}
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	return bad
}

// lastWriteSuccess returns when the most recent successful write ended.
func lastWriteSuccess(ops []op) time.Time {
	var t time.Time
	for _, o := range ops {
		if o.write && o.outcome == "" && o.end.After(t) {
			t = o.end
		}
	}
	return t
}

// resumedAfter is how long after t the first write that started at or
// after t succeeded (-1 when none did yet).
func resumedAfter(ops []op, t time.Time) time.Duration {
	best := time.Duration(-1)
	for _, o := range ops {
		if o.write && o.outcome == "" && !o.start.Before(t) {
			if d := o.end.Sub(t); best < 0 || d < best {
				best = d
			}
		}
	}
	return best
}

// gapAround is the longest interval without a successful write completion
// that spans t (spec/reliability.md §7, "unavailability window").
func gapAround(ops []op, t time.Time) time.Duration {
	var before, after time.Time
	for _, o := range ops {
		if !o.write || o.outcome != "" {
			continue
		}
		if !o.end.After(t) && o.end.After(before) {
			before = o.end
		}
		if o.end.After(t) && (after.IsZero() || o.end.Before(after)) {
			after = o.end
		}
	}
	if before.IsZero() || after.IsZero() {
		return -1
	}
	return after.Sub(before)
}
