package s3_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/clustertest"
)

// TestBadInput sends malformed and hostile requests straight over TCP. Every
// one must get a well-formed HTTP answer — an S3 XML error when the request
// reaches the S3 front-end — and the server must keep serving.
func TestBadInput(t *testing.T) {
	c := clustertest.Start(t)
	addr := strings.TrimPrefix(c.Endpoint, "http://")
	auth := "AWS4-HMAC-SHA256 Credential=" + clustertest.AccessKeyID + "/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64)
	cases := []struct {
		name    string
		raw     string
		status  int
		s3Error string // expected <Code>, "" when Go's HTTP server answers first
	}{
		{"unknown method", "BREW /bucket/key HTTP/1.1\r\nHost: h\r\n\r\n", 405, "MethodNotAllowed"},
		{"post to service", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 405, "MethodNotAllowed"},
		{"anonymous list", "GET /somebucket HTTP/1.1\r\nHost: h\r\n\r\n", 403, "AccessDenied"},
		{"anonymous put", "PUT /somebucket/k HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", 403, "AccessDenied"},
		{"sigv2", "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: AWS AKID:c2ln\r\n\r\n", 400, "InvalidRequest"},
		{"garbage auth", "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: AWS4-HMAC-SHA256 nonsense\r\n\r\n", 400, "AuthorizationHeaderMalformed"},
		{"skewed date", "GET / HTTP/1.1\r\nHost: h\r\nX-Amz-Date: 20000101T000000Z\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\nAuthorization: " +
			strings.NewReplacer("20250101", "20000101", "SignedHeaders=host", "SignedHeaders=host;x-amz-content-sha256;x-amz-date").Replace(auth) + "\r\n\r\n", 403, "RequestTimeTooSkewed"},
		{"bad presign expiry", "GET /b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + clustertest.AccessKeyID + "%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=" + strings.Repeat("0", 64) + " HTTP/1.1\r\nHost: h\r\n\r\n", 400, "AuthorizationQueryParametersError"},
		{"tagging", "GET /bucket?tagging HTTP/1.1\r\nHost: h\r\n\r\n", 501, "NotImplemented"},
		{"preflight", "OPTIONS /bucket/k HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\nAccess-Control-Request-Method: GET\r\n\r\n", 404, "NoSuchBucket"},
		{"huge header", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", 431, ""},
		{"bad request line", "GET\r\n\r\n", 400, ""},
		{"bad escape", "GET /b/%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400, ""},
		// Go's server lets chunked TE win over Content-Length (RFC 9112 §6.3).
		{"te and cl", "PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 403, "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, tc.raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.s3Error != "" {
				if !strings.Contains(string(body), "<Code>"+tc.s3Error+"</Code>") || resp.Header.Get("Content-Type") != "application/xml" {
					t.Fatalf("want S3 XML error %s, got %s", tc.s3Error, body)
				}
				if resp.Header.Get("x-amz-request-id") == "" {
					t.Fatal("no x-amz-request-id")
				}
			}
		})
	}
	// Still serving.
	resp, err := http.Get(fmt.Sprintf("%s/", c.Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("after the bad input: anonymous ListBuckets answered %d", resp.StatusCode)
	}
}
