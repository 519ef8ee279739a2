package faulttest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// BenchmarkLeaderKill measures, per iteration, a fresh 3-process cluster
// with production Raft timeouts: 8 writers (spread over the three nodes)
// commit continuously; the leader is killed with SIGKILL; the figure is the
// time from the kill to the completion of the first write that was sent
// after the kill and succeeded. Reported: mean, and the worst iteration.
//
//	go test -run '^$' -bench LeaderKill -benchtime 10x ./metadata/faulttest
func BenchmarkLeaderKill(b *testing.B) {
	var samples []float64
	for range b.N {
		samples = append(samples, killOnce(b).Seconds())
	}
	sort.Float64s(samples)
	sum := 0.0
	for _, s := range samples {
		sum += s
	}
	b.ReportMetric(sum/float64(len(samples)), "s/kill-to-write")
	b.ReportMetric(samples[len(samples)-1], "max-s")
	b.ReportMetric(0, "ns/op")
}

func killOnce(b *testing.B) time.Duration {
	c := newProcCluster(b, 3)
	defer func() {
		for _, p := range c.procs {
			p.Kill()
		}
	}()
	l := c.leader(30 * time.Second)
	resp, err := c.meta[l].CreateBucket(ctx(b), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "bench-bucket"}})
	if err != nil {
		b.Fatal(err)
	}
	var (
		killed    atomic.Int64 // unix nanos of the kill, 0 before
		firstMu   sync.Mutex
		first     time.Time
		stop      atomic.Bool
		wg        sync.WaitGroup
		seq       atomic.Int64
		recovered = make(chan struct{})
		once      sync.Once
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := w % 3
			for !stop.Load() {
				call := time.Now()
				cctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
				_, err := c.meta[node].CommitObject(cctx, &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{
					BucketId: resp.Bucket.BucketId, Key: fmt.Sprintf("k%09d", seq.Add(1)), Size: 1,
				}})
				cancel()
				if err != nil {
					node = (node + 1) % 3
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if k := killed.Load(); k != 0 && call.UnixNano() > k {
					firstMu.Lock()
					if first.IsZero() {
						first = time.Now()
					}
					firstMu.Unlock()
					once.Do(func() { close(recovered) })
				}
			}
		}()
	}
	time.Sleep(time.Second)
	at := time.Now()
	killed.Store(at.UnixNano())
	c.procs[l].Kill()
	select {
	case <-recovered:
	case <-time.After(30 * time.Second):
		b.Fatal("no write succeeded within 30s of the leader kill")
	}
	stop.Store(true)
	wg.Wait()
	return first.Sub(at)
}
