package bucketcache_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/clustertest"
)

// TestBucketSettingsAcrossGateways checks read-after-write of bucket
// settings with the bucket cache on, through HTTP as clients see it, with
// two gateways in front of one cluster: a CORS rule change or an ACL change
// made through gateway A applies to A's very next request (every time, in
// a loop that flips the setting back and forth), and reaches gateway B —
// which had the bucket cached — within the watch stream's bound.
func TestBucketSettingsAcrossGateways(t *testing.T) {
	c := clustertest.Start(t)
	g2 := c.StartGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}.AWS(t)
	bucket := conformance.BucketName("cached")
	if _, err := a.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("o"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	// preflight reports whether endpoint allows a GET from origin.
	preflight := func(endpoint, origin string) bool {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, endpoint+"/"+bucket+"/o", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && resp.Header.Get("Access-Control-Allow-Origin") != ""
	}
	// anonymous reports whether endpoint serves the object without credentials.
	anonymous := func(endpoint string) bool {
		t.Helper()
		resp, err := http.Get(endpoint + "/" + bucket + "/o")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	allow := func(origin string) {
		t.Helper()
		if _, err := a.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &bucket, CORSConfiguration: &types.CORSConfiguration{
			CORSRules: []types.CORSRule{{AllowedOrigins: []string{origin}, AllowedMethods: []string{"GET"}}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	within := func(what string, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > staleBound {
				t.Fatalf("%s: not seen on the other gateway within %v", what, staleBound)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(start)
	}

	// Both gateways cache the bucket (no rules yet).
	if preflight(c.Endpoint, "https://one.example") || preflight(g2.Endpoint, "https://one.example") {
		t.Fatal("a preflight passed before any rule")
	}
	var worst time.Duration
	for i := range 10 {
		origin, other := "https://one.example", "https://two.example"
		if i%2 == 1 {
			origin, other = other, origin
		}
		allow(origin)
		if !preflight(c.Endpoint, origin) || preflight(c.Endpoint, other) {
			t.Fatalf("round %d: gateway A answered a preflight with the rules before its own write", i)
		}
		worst = max(worst, within("a CORS change", func() bool { return preflight(g2.Endpoint, origin) && !preflight(g2.Endpoint, other) }))
	}
	t.Logf("CORS changes through gateway A reached gateway B within %v", worst)

	// The bucket's ACL (its B2 type): public-read, then private again.
	for i, acl := range []types.BucketCannedACL{types.BucketCannedACLPublicRead, types.BucketCannedACLPrivate, types.BucketCannedACLPublicRead} {
		if _, err := a.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: &bucket, ACL: acl}); err != nil {
			t.Fatal(err)
		}
		want := acl == types.BucketCannedACLPublicRead
		if anonymous(c.Endpoint) != want {
			t.Fatalf("ACL %d (%s): gateway A served the old ACL after its own write", i, acl)
		}
		within("an ACL change", func() bool { return anonymous(g2.Endpoint) == want })
	}
}
