package corscache_test

import (
	"context"
	"testing"

	"github.com/coffer-project/coffer/gateway/corscache"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/runtime"
)

// TestDecisionsFollowTheRulesIndex runs against real corsd and metadata: a
// decision is reused only under the cors_index it was made with, so a rule
// change is seen by the very next request that read the bucket.
func TestDecisionsFollowTheRulesIndex(t *testing.T) {
	c := clustertest.Start(t)
	ctx := context.Background()
	meta := c.Meta()
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cors := corsv1.NewCorsServiceClient(cc)
	cache := corscache.New(cors, 100)
	b, err := meta.CreateBucket(ctx, &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: "cachebucket", AccountId: c.AccountID(), Type: metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC}})
	if err != nil {
		t.Fatal(err)
	}
	id := b.GetBucket().GetBucketId()
	put := func(origin string) uint64 {
		t.Helper()
		if _, err := cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_S3,
			Rules: []*corsv1.CorsRule{{AllowedOrigins: []string{origin}, AllowedOperations: []string{"GET"}}}}); err != nil {
			t.Fatal(err)
		}
		got, err := meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: id}})
		if err != nil {
			t.Fatal(err)
		}
		return got.GetBucket().GetCorsIndex()
	}
	req := &corsv1.EvaluateRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_S3, Operation: "s3_get",
		Origin: "https://app.test", Method: "GET", Preflight: true, BucketPublic: true}
	ask := func(index uint64) corsv1.Decision {
		t.Helper()
		d, err := cache.Evaluate(ctx, index, req)
		if err != nil {
			t.Fatal(err)
		}
		return d.GetDecision()
	}
	first := put("https://app.test")
	if ask(first) != corsv1.Decision_DECISION_ALLOW || ask(first) != corsv1.Decision_DECISION_ALLOW {
		t.Fatal("allowed origin refused")
	}
	second := put("https://other.test")
	if second == first {
		t.Fatal("a rule change did not move cors_index")
	}
	if ask(second) != corsv1.Decision_DECISION_DENY {
		t.Fatal("a decision made under the old rules answered a question about the new ones")
	}
	// Asking with a stale index returns corsd's current decision but does
	// not store it under the stale index.
	third := put("https://app.test")
	if ask(second) != corsv1.Decision_DECISION_DENY {
		t.Fatal("the entry under the second index should still be the second rules' answer")
	}
	if ask(third) != corsv1.Decision_DECISION_ALLOW {
		t.Fatal("third rules refused the origin they allow")
	}
}
