package metadata

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// BenchmarkCommitObject measures CommitObject throughput end to end (gRPC
// client → runtime → leader stamping → raft log fsync → batched FSM apply in
// one bbolt transaction) on a single node, with 1, 16 and 64 concurrent
// writers. Concurrent writers share raft appends and FSM commits, which is
// what the commits/s figure shows.
func BenchmarkCommitObject(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			n := startNode(b, testConfig(b))
			bucket := mustBucket(b, n, "bench-bucket")
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						v := &metadatav1.ObjectVersion{
							BucketId: bucket.BucketId, Key: fmt.Sprintf("w%02d/key-%09d", w, i), Size: 1024,
							Etag: "0123456789abcdef0123456789abcdef", ContentType: "application/octet-stream",
							Segments: []*metadatav1.Segment{{Size: 1024, Placement: &metadatav1.BlobPlacement{BlobId: fmt.Sprintf("blob-%09d", i), DataShards: 1}}},
						}
						if _, err := n.meta.CommitObject(ctx(b), &metadatav1.CommitObjectRequest{Version: v}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
		})
	}
}

// BenchmarkListObjectsGRPC lists 1,000-entry pages with a delimiter end to
// end (linearizable read, gRPC marshalling) in a bucket of 4,000 keys written
// through CommitObject: 2,000 flat keys and 2,000 grouped two to a folder.
// The bucket-size scaling is measured by metadata/fsm's BenchmarkListObjects.
func BenchmarkListObjectsGRPC(b *testing.B) {
	n := startNode(b, testConfig(b))
	bucket := mustBucket(b, n, "bench-bucket")
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= 4000; i = next.Add(1) {
				key := fmt.Sprintf("flat/k%06d", i)
				if i%2 == 0 {
					key = fmt.Sprintf("tree/d%06d/f%d", i/4, i%4)
				}
				if _, err := n.meta.CommitObject(ctx(b), &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{BucketId: bucket.BucketId, Key: key, Size: 1}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range []struct{ name, prefix string }{{"keys", "flat/"}, {"prefixes", "tree/"}} {
		b.Run(c.name, func(b *testing.B) {
			req := &metadatav1.ListObjectsRequest{BucketId: bucket.BucketId, Prefix: c.prefix, Delimiter: "/", PageSize: 1000}
			for b.Loop() {
				resp, err := n.meta.ListObjects(ctx(b), req)
				if err != nil {
					b.Fatal(err)
				}
				if len(resp.Objects)+len(resp.CommonPrefixes) != 1000 {
					b.Fatalf("page of %d", len(resp.Objects)+len(resp.CommonPrefixes))
				}
			}
		})
	}
}

// BenchmarkCommitObjectCluster is BenchmarkCommitObject on a 3-node group
// (in-process nodes over loopback TCP): every commit is replicated to a
// majority, each node fsyncing its log, before the leader applies it. The
// "follower" variants send to a follower, which forwards to the leader.
func BenchmarkCommitObjectCluster(b *testing.B) {
	for _, via := range []string{"leader", "follower"} {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("via=%s/writers=%d", via, writers), func(b *testing.B) {
				c := newCluster(b, 3, false, nil)
				l := c.leader()
				n := c.nodes[l]
				if via == "follower" {
					n = c.nodes[c.follower(l)]
				}
				bucket := mustBucket(b, n, "bench-bucket")
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							v := &metadatav1.ObjectVersion{
								BucketId: bucket.BucketId, Key: fmt.Sprintf("w%02d/key-%09d", w, i), Size: 1024,
								Etag: "0123456789abcdef0123456789abcdef", ContentType: "application/octet-stream",
								Segments: []*metadatav1.Segment{{Size: 1024, Placement: &metadatav1.BlobPlacement{BlobId: fmt.Sprintf("blob-%09d", i), DataShards: 1}}},
							}
							if _, err := n.meta.CommitObject(ctx(b), &metadatav1.CommitObjectRequest{Version: v}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
			})
		}
	}
}
