package corsd_test

import (
	"context"
	"sort"
	"testing"
	"time"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
)

// BenchmarkEvaluate measures one Evaluate through gRPC (a cached bucket,
// five rules, the match in the last one) and reports p50/p99 latency.
func BenchmarkEvaluate(b *testing.B) {
	e := start(b, time.Minute)
	ctx := context.Background()
	var rules []*corsv1.CorsRule
	for _, o := range []string{"https://a.test", "https://b.test", "https://c.test", "https://d.test", "https://app.test"} {
		rules = append(rules, &corsv1.CorsRule{AllowedOrigins: []string{o}, AllowedOperations: []string{"GET", "PUT"}, AllowedHeaders: []string{"x-custom"}})
	}
	if _, err := e.cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: e.bucket.GetBucketId(), Rules: rules, Dialect: corsv1.Dialect_DIALECT_S3}); err != nil {
		b.Fatal(err)
	}
	req := &corsv1.EvaluateRequest{BucketId: e.bucket.GetBucketId(), Dialect: corsv1.Dialect_DIALECT_S3, Operation: "s3_get",
		Origin: "https://app.test", Method: "GET", RequestHeaders: []string{"X-Custom"}, Preflight: true, BucketPublic: true}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		d, err := e.cors.Evaluate(ctx, req)
		lat = append(lat, time.Since(t0))
		if err != nil || d.GetDecision() != corsv1.Decision_DECISION_ALLOW {
			b.Fatalf("evaluate: %v %v", d, err)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
