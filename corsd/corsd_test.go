package corsd_test

import (
	"context"
	"flag"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/corsd"
	"github.com/coffer-project/coffer/metadata"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

var quiet = slog.New(slog.DiscardHandler)

type role interface {
	Register(grpc.ServiceRegistrar)
	Start(context.Context) error
	Stop(context.Context) error
}

// serve runs a real role behind a real runtime on 127.0.0.1:0 and returns a
// client connection to it.
func serve(t testing.TB, r role) *grpc.ClientConn {
	t.Helper()
	rt, err := runtime.New(runtime.Config{GRPCAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "text", ShutdownTimeout: 5 * time.Second}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	r.Register(rt.GRPC())
	served := make(chan error, 1)
	go func() { served <- rt.Serve() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cc, err := runtime.Dial("passthrough:///" + rt.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		rt.Stop(context.Background())
		<-served
		_ = r.Stop(context.Background())
	})
	return cc
}

type env struct {
	meta   metadatav1.MetadataServiceClient
	cors   corsv1.CorsServiceClient
	bucket *metadatav1.Bucket
}

func start(t testing.TB, ttl time.Duration) *env {
	var mcfg metadata.Config
	mcfg.RegisterFlags("", flag.NewFlagSet("m", flag.ContinueOnError))
	mcfg.DataDir, mcfg.RaftAddr = t.TempDir(), "127.0.0.1:0"
	m, err := metadata.New(mcfg, metadata.Deps{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	meta := metadatav1.NewMetadataServiceClient(serve(t, m))
	c, err := corsd.New(corsd.Config{CacheSize: 100, CacheTTL: ttl}, corsd.Deps{Meta: meta, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{meta: meta, cors: corsv1.NewCorsServiceClient(serve(t, c))}
	ctx := context.Background()
	if _, err := meta.InitAccount(ctx, &metadatav1.InitAccountRequest{AccountId: "0123456789ab"}); err != nil {
		t.Fatal(err)
	}
	resp, err := meta.CreateBucket(ctx, &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: "cors-bucket", AccountId: "0123456789ab", Type: metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC}})
	if err != nil {
		t.Fatal(err)
	}
	e.bucket = resp.GetBucket()
	return e
}

func TestRulesThroughThreeDialects(t *testing.T) {
	e := start(t, time.Minute)
	ctx := context.Background()
	id := e.bucket.GetBucketId()
	_, err := e.cors.GetBucketCors(ctx, &corsv1.GetBucketCorsRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_S3})
	if e := errs.As(err); e == nil || e.Kind != errs.NoSuchConfiguration || e.Details["config"] != "cors" {
		t.Fatalf("empty S3 view: %v", err)
	}
	// S3 writes: the ID "my rule" is not a valid B2 name.
	_, err = e.cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_S3, Rules: []*corsv1.CorsRule{
		{Name: "my rule", AllowedOrigins: []string{"https://app.test"}, AllowedOperations: []string{"GET", "GET", "HEAD"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	native, err := e.cors.GetBucketCors(ctx, &corsv1.GetBucketCorsRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_B2})
	if err != nil || len(native.GetRules()) != 1 || native.GetRules()[0].GetName() != "s3-rule-1" ||
		len(native.GetRules()[0].GetAllowedOperations()) != 2 {
		t.Fatalf("native view: %v %v", native, err)
	}
	s3, err := e.cors.GetBucketCors(ctx, &corsv1.GetBucketCorsRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_R2})
	if err != nil || s3.GetRules()[0].GetName() != "my rule" || s3.GetRules()[0].GetAllowedOperations()[0] != "GET" {
		t.Fatalf("R2 view: %v %v", s3, err)
	}
	// Native writes replace the list; validation errors store nothing.
	_, err = e.cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_B2, Rules: []*corsv1.CorsRule{
		{Name: "bad", AllowedOrigins: []string{"*"}, AllowedOperations: []string{"b2_download_file_by_name"}},
	}})
	if !errs.Is(err, errs.InvalidRequest) {
		t.Fatalf("bad native rule: %v", err)
	}
	if got, _ := e.cors.GetBucketCors(ctx, &corsv1.GetBucketCorsRequest{BucketId: id}); len(got.GetRules()) != 1 || got.GetRules()[0].GetName() != "s3-rule-1" {
		t.Fatalf("a refused write changed the rules: %v", got)
	}
	if _, err := e.cors.DeleteBucketCors(ctx, &corsv1.DeleteBucketCorsRequest{BucketId: id}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.cors.GetBucketCors(ctx, &corsv1.GetBucketCorsRequest{BucketId: id}); len(got.GetRules()) != 0 {
		t.Fatalf("delete left %v", got)
	}
}

func TestEvaluateFollowsChanges(t *testing.T) {
	const ttl = 500 * time.Millisecond
	e := start(t, ttl)
	ctx := context.Background()
	id := e.bucket.GetBucketId()
	ask := func() *corsv1.EvaluateResponse {
		t.Helper()
		d, err := e.cors.Evaluate(ctx, &corsv1.EvaluateRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_S3,
			Operation: "s3_get", Origin: "https://app.test", Method: "GET", Preflight: true, BucketPublic: true})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := ask(); d.GetDecision() != corsv1.Decision_DECISION_DENY {
		t.Fatalf("no rules: %v", d)
	}
	if _, err := e.cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_S3, Rules: []*corsv1.CorsRule{
		{Name: "webapp", AllowedOrigins: []string{"https://app.test"}, AllowedOperations: []string{"GET"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if d := ask(); d.GetDecision() != corsv1.Decision_DECISION_ALLOW {
		t.Fatalf("after put through corsd: %v", d)
	}
	// A change made elsewhere (another corsd replica, the B2 API) reaches
	// this replica through the watch stream, or at worst the TTL.
	if _, err := e.meta.UpdateBucket(ctx, &metadatav1.UpdateBucketRequest{BucketId: id, SetCorsRules: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(ttl + 5*time.Second)
	for ask().GetDecision() != corsv1.Decision_DECISION_DENY {
		if time.Now().After(deadline) {
			t.Fatal("cached rules outlived a change made in metadata")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err := e.cors.Evaluate(ctx, &corsv1.EvaluateRequest{BucketId: "000000000000000000000000", Operation: "s3_get", Origin: "https://a.test", Preflight: true})
	if !errs.Is(err, errs.BucketNotFound) {
		t.Fatalf("unknown bucket: %v", err)
	}
}

// A replica whose watch lags must not answer with rules older than the ones
// its caller has read: the gateway passes the cors_index it saw, and the
// replica reloads. The replica's watch is stopped, so its entries live on
// the TTL (a minute).
func TestEvaluateNeverOlderThanCaller(t *testing.T) {
	e := start(t, time.Minute)
	ctx := context.Background()
	lagging, err := corsd.New(corsd.Config{CacheSize: 100, CacheTTL: time.Minute}, corsd.Deps{Meta: e.meta, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cors := corsv1.NewCorsServiceClient(serve(t, lagging))
	id := e.bucket.GetBucketId()
	ask := func(minIndex uint64) corsv1.Decision {
		t.Helper()
		d, err := cors.Evaluate(ctx, &corsv1.EvaluateRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_S3,
			Operation: "s3_get", Origin: "https://app.test", Method: "GET", Preflight: true, BucketPublic: true, MinRulesIndex: minIndex})
		if err != nil {
			t.Fatal(err)
		}
		return d.GetDecision()
	}
	// Stopping the watch before the first load makes the lag certain: a
	// live stream's first message would clear what was loaded before it.
	if err := lagging.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := ask(0); d != corsv1.Decision_DECISION_DENY {
		t.Fatalf("no rules: %v", d)
	}
	put, err := e.cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: id, Dialect: corsv1.Dialect_DIALECT_S3, Rules: []*corsv1.CorsRule{
		{Name: "webapp", AllowedOrigins: []string{"https://app.test"}, AllowedOperations: []string{"GET"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Without a floor the replica still believes its stale entry…
	if d := ask(0); d != corsv1.Decision_DECISION_DENY {
		t.Fatalf("the replica's watch was expected to lag: %v", d)
	}
	// …with the index the caller read, it must not.
	if d := ask(put.GetRulesIndex()); d != corsv1.Decision_DECISION_ALLOW {
		t.Fatalf("decision older than the caller's cors_index %d: %v", put.GetRulesIndex(), d)
	}
}
