package s3_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/clustertest"
)

// heapWatch samples the heap while a transfer runs and reports the largest
// growth over the starting point.
type heapWatch struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func watchHeap() *heapWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapWatch{base: ms.HeapInuse, stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > h.peak.Load() {
					h.peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	return h
}

func (h *heapWatch) growth() uint64 {
	close(h.stop)
	h.wg.Wait()
	if p := h.peak.Load(); p > h.base {
		return p - h.base
	}
	return 0
}

// TestBoundedMemory streams a 1 GiB object in and out through every role
// (client and server share this process, so the bound covers both) and
// checks the heap never grows by more than 128 MiB.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB transfer; run without -short")
	}
	c := clustertest.Start(t)
	tg := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	client := tg.AWS(t)
	ctx := context.Background()
	bucket := conformance.BucketName("memory")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	const size = 1 << 30
	const limit = 128 << 20
	data := conformance.NewData(42, size)
	want := data.SHA256()

	w := watchHeap()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("big"), Body: data, ContentLength: aws.Int64(size)}); err != nil {
		t.Fatal(err)
	}
	if g := w.growth(); g > limit {
		t.Fatalf("PUT of 1 GiB grew the heap by %d MiB (limit %d MiB)", g>>20, limit>>20)
	} else {
		t.Logf("PUT 1 GiB: heap growth %d MiB", g>>20)
	}

	w = watchHeap()
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	n, sum, err := conformance.HashReader(out.Body)
	out.Body.Close()
	if err != nil || n != size || sum != want {
		t.Fatalf("GET: %d bytes, err %v, sha256 match %v", n, err, sum == want)
	}
	if g := w.growth(); g > limit {
		t.Fatalf("GET of 1 GiB grew the heap by %d MiB (limit %d MiB)", g>>20, limit>>20)
	} else {
		t.Logf("GET 1 GiB: heap growth %d MiB", g>>20)
	}
}
