package fsm

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// benchKeys is the size of the big bucket: COFFER_BENCH_KEYS, default 100,000
// (set it to 1000000 for the full-size run).
func benchKeys(b *testing.B) int {
	if s := os.Getenv("COFFER_BENCH_KEYS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2000 {
			b.Fatalf("COFFER_BENCH_KEYS=%q: want an integer ≥ 2000", s)
		}
		return n
	}
	return 100_000
}

// BenchmarkListObjects lists 1,000-entry pages with a delimiter in a bucket
// of many keys. The bucket is built through the real apply path (ApplyBatch
// with CommitObject entries, 10,000 per bbolt transaction), not through Raft.
// Half of the keys are flat ("flat/k…"), half are grouped 50 to a folder
// ("tree/d…/f…"), so that:
//
//   - keys: a page of 1,000 current keys under "flat/";
//   - prefixes: a page of 1,000 common prefixes under "tree/", each one
//     seek past 50 keys (50,000 keys skipped per page at the default size);
//   - root: the two top-level prefixes, skipping the whole bucket.
func BenchmarkListObjects(b *testing.B) {
	n := benchKeys(b)
	h := newHarness(b)
	h.must(cmdCreateBucket(bkt, "bench-bucket"))
	start := time.Now()
	const batchSize = 10_000
	batch := make([]*raft.Log, 0, batchSize)
	flush := func() {
		for _, out := range h.f.ApplyBatch(batch) {
			if err := out.(*Result).Err; err != nil {
				b.Fatal(err)
			}
		}
		batch = batch[:0]
	}
	for i := range n {
		key := fmt.Sprintf("flat/k%08d", i/2)
		if i%2 == 1 {
			key = fmt.Sprintf("tree/d%06d/f%03d", i/2/50, i/2%50)
		}
		batch = append(batch, h.entry(cmdCommit(bkt, key, fmt.Sprintf("v%09d", i), "0123456789abcdef0123456789abcdef", nil, fmt.Sprintf("blob%09d", i))))
		if len(batch) == batchSize {
			flush()
		}
	}
	flush()
	build := time.Since(start)
	size, _ := os.Stat(h.f.Path())
	b.Logf("built %d keys in %v (%.0f commits/s through ApplyBatch), state file %d MiB", n, build.Round(time.Millisecond), float64(n)/build.Seconds(), size.Size()>>20)

	cases := []struct {
		name              string
		prefix, after     string
		wantObj, wantPref int
	}{
		{"keys", "flat/", fmt.Sprintf("flat/k%08d", n/8), 1000, 0},
		{"prefixes", "tree/", "", 0, min(1000, n/2/50)},
		{"root", "", "", 0, 2},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := &metadatav1.ListObjectsRequest{BucketId: bkt, Prefix: c.prefix, Delimiter: "/", StartAfter: c.after, PageSize: 1000}
			b.ReportAllocs()
			for b.Loop() {
				err := h.f.View(func(r *Reader) error {
					resp, err := r.ListObjects(req)
					if err != nil {
						return err
					}
					if len(resp.Objects) != c.wantObj || len(resp.CommonPrefixes) != c.wantPref {
						b.Fatalf("got %d objects, %d prefixes", len(resp.Objects), len(resp.CommonPrefixes))
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
