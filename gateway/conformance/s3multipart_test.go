package conformance

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/runtime"
)

// TestS3Multipart runs the multipart suite against every role started
// in-process, with restricted keys made through authd.
func TestS3Multipart(t *testing.T) {
	c := clustertest.Start(t)
	tg := Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID,
		SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	S3Multipart(t, tg)
	t.Run("Authorization", func(t *testing.T) { S3MultipartAuthorization(t, tg, clusterKeys(t, c)) })
}

// TestS3MultipartTLS runs the HTTPS suite through a TLS-terminating proxy
// in front of the in-process cluster (127.0.0.1, a test certificate). The
// proxy keeps the Host header, which the signatures cover.
func TestS3MultipartTLS(t *testing.T) {
	c := clustertest.Start(t)
	backend, err := url.Parse(c.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	payloads := map[string]int{}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(backend)
		pr.Out.Host = pr.In.Host
		mu.Lock()
		payloads[pr.In.Header.Get("X-Amz-Content-Sha256")]++
		mu.Unlock()
	}}
	srv := httptest.NewTLSServer(proxy)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	S3MultipartTLS(t, Target{Endpoint: srv.URL, AccessKeyID: clustertest.AccessKeyID,
		SecretKey: clustertest.SecretKey, Region: clustertest.Region}, client)
	mu.Lock()
	defer mu.Unlock()
	if payloads["STREAMING-UNSIGNED-PAYLOAD-TRAILER"] == 0 {
		t.Fatalf("no request used unsigned aws-chunked trailers: %v", payloads)
	}
}

// clusterKeys makes application keys through the cluster's authd.
func clusterKeys(t *testing.T, c *clustertest.Cluster) KeyMaker {
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	auth, meta := authv1.NewAuthServiceClient(cc), metadatav1.NewMetadataServiceClient(cc)
	return func(t testing.TB, caps []string, bucket, prefix string) (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := &authv1.CreateKeyRequest{Name: "multipart", Capabilities: caps, NamePrefix: prefix}
		if bucket != "" {
			b, err := meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: bucket}})
			if err != nil {
				t.Fatal(err)
			}
			req.BucketIds = []string{b.GetBucket().GetBucketId()}
		}
		req.AccountToken = c.AccountToken()
		resp, err := auth.CreateKey(ctx, req)
		if err != nil {
			t.Fatalf("create key %v: %v", caps, err)
		}
		return resp.GetKey().GetKeyId(), resp.GetSecret()
	}
}
