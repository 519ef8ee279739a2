package conformance

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3CORSAnswers checks the CORS answers of the S3 endpoint, preflights and
// actual requests, against the cases of spec/cors.md §6 that apply to S3.
// Requests are raw HTTP, as a browser sends them (no SDK adds Origin).
func S3CORSAnswers(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := BucketName("corsans")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b, ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { EmptyBucket(context.Background(), t, c, b) })
	plain := BucketName("corsnone")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &plain}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { EmptyBucket(context.Background(), t, c, plain) })
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{
		{ID: aws.String("readers"), AllowedOrigins: []string{"https://app.test"}, AllowedMethods: []string{"GET", "HEAD"},
			AllowedHeaders: []string{"x-custom", "range"}, ExposeHeaders: []string{"x-amz-version-id", "ETag"}, MaxAgeSeconds: aws.Int32(600)},
		{ID: aws.String("uploads"), AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PUT"}},
	}}}); err != nil {
		t.Fatal(err)
	}
	send := func(method, path string, h map[string]string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, tg.Endpoint+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	code := func(body string) string { return Raw{Body: []byte(body)}.Code() }
	obj := "/" + b + "/k"

	// Cases 24, 25 and an invalid method: 400 BadRequest.
	for _, h := range []map[string]string{
		{"Access-Control-Request-Method": "GET"},
		{"Origin": "https://app.test"},
		{"Origin": "https://app.test", "Access-Control-Request-Method": "PATCH"},
	} {
		if st, _, body := send(http.MethodOptions, obj, h); st != 400 || code(body) != "BadRequest" {
			t.Fatalf("preflight %v: %d %s", h, st, body)
		}
	}
	pre := map[string]string{"Origin": "https://app.test", "Access-Control-Request-Method": "GET"}
	// Case 27: a bucket that does not exist is S3's 404 NoSuchBucket
	// (issue 15 replaced the spec's 403).
	if st, _, body := send(http.MethodOptions, "/"+BucketName("nosuch")+"/k", pre); st != 404 || code(body) != "NoSuchBucket" {
		t.Fatalf("preflight on a missing bucket: %d %s", st, body)
	}
	// Case 26: a bucket without rules.
	if st, _, body := send(http.MethodOptions, "/"+plain+"/k", pre); st != 403 || !strings.Contains(body, "CORS is not enabled for this bucket") {
		t.Fatalf("preflight without rules: %d %s", st, body)
	}
	// Case 15 and 29: allowed, with an explicit origin echoed and credentials allowed.
	st, hd, body := send(http.MethodOptions, obj, map[string]string{"Origin": "https://app.test", "Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "X-Custom, Range"})
	if st != 200 || hd.Get("Access-Control-Allow-Origin") != "https://app.test" || hd.Get("Access-Control-Allow-Credentials") != "true" ||
		hd.Get("Access-Control-Allow-Methods") != "GET, HEAD" || hd.Get("Access-Control-Allow-Headers") != "x-custom, range" ||
		hd.Get("Access-Control-Max-Age") != "600" || !strings.Contains(hd.Get("Vary"), "Origin") {
		t.Fatalf("allowed preflight: %d %v %s", st, hd, body)
	}
	// Case 20: a header the rule does not list is refused, with S3's extra elements.
	st, _, body = send(http.MethodOptions, obj, map[string]string{"Origin": "https://app.test", "Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "x-other"})
	if st != 403 || code(body) != "AccessForbidden" || !strings.Contains(body, "<Method>GET</Method>") || !strings.Contains(body, "<ResourceType>OBJECT</ResourceType>") {
		t.Fatalf("refused preflight: %d %s", st, body)
	}
	// Case 15: a method the matching origin's rule does not list.
	if st, _, _ := send(http.MethodOptions, obj, map[string]string{"Origin": "https://app.test", "Access-Control-Request-Method": "DELETE"}); st != 403 {
		t.Fatalf("preflight for DELETE: %d", st)
	}
	// Case 29: a '*' rule answers '*' and no credentials.
	st, hd, _ = send(http.MethodOptions, obj, map[string]string{"Origin": "https://anyone.test", "Access-Control-Request-Method": "PUT"})
	if st != 200 || hd.Get("Access-Control-Allow-Origin") != "*" || hd.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("wildcard preflight: %d %v", st, hd)
	}
	// Case 32: preflights are not authenticated; a bad Authorization header changes nothing.
	if st, _, body := send(http.MethodOptions, obj, map[string]string{"Origin": "https://app.test", "Access-Control-Request-Method": "GET",
		"Authorization": "AWS4-HMAC-SHA256 Credential=nobody/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"}); st != 200 {
		t.Fatalf("preflight with a bad Authorization: %d %s", st, body)
	}
	// Actual requests (anonymous reads of a public bucket).
	st, hd, body = send(http.MethodGet, obj, map[string]string{"Origin": "https://app.test"})
	if st != 200 || body != "hello" || hd.Get("Access-Control-Allow-Origin") != "https://app.test" ||
		!strings.Contains(hd.Get("Access-Control-Expose-Headers"), "x-amz-version-id") {
		t.Fatalf("actual GET: %d %v", st, hd)
	}
	// Case 30: an error answer carries the CORS headers too.
	st, hd, body = send(http.MethodGet, "/"+b+"/missing", map[string]string{"Origin": "https://app.test"})
	if st != 404 || code(body) != "NoSuchKey" || hd.Get("Access-Control-Allow-Origin") != "https://app.test" {
		t.Fatalf("actual GET of a missing key: %d %v %s", st, hd, body)
	}
	// Case 31: an origin no rule allows gets the body, no CORS headers, and Vary.
	st, hd, body = send(http.MethodGet, obj, map[string]string{"Origin": "https://evil.test"})
	if st != 200 || body != "hello" || hd.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(hd.Get("Vary"), "Origin") {
		t.Fatalf("actual GET from an unknown origin: %d %v", st, hd)
	}
	// Case 23: no Origin, no CORS headers.
	if _, hd, _ := send(http.MethodGet, obj, nil); hd.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("GET without Origin got CORS headers: %v", hd)
	}
	// Deleting the rules takes effect at once for the next preflight.
	if _, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	if st, _, body := send(http.MethodOptions, obj, pre); st != 403 || !bytes.Contains([]byte(body), []byte("not enabled")) {
		t.Fatalf("preflight after DeleteBucketCors: %d %s", st, body)
	}
}
