package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/clustertest"
)

// publicObject creates a public bucket holding one object of size bytes
// and returns the bucket's name.
func publicObject(t *testing.T, c *clustertest.Cluster, name string, size int) (*conformance.B2, string) {
	t.Helper()
	b2 := conformance.NewB2(t, conformance.B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}, 2)
	b := b2.CreateBucket("slow", "allPublic", nil)
	b2.Upload(b["bucketId"].(string), name, bytes.Repeat([]byte("x"), size), nil)
	return b2, b["bucketName"].(string)
}

// stalledGET sends an anonymous GET of path, reads the status line and
// never reads the body; its socket's receive buffer is small, so the
// server's writes block once its own send buffer is full. A 200 means the
// request holds a slot and streams.
func stalledGET(t *testing.T, endpoint, path string) int {
	t.Helper()
	u, _ := url.Parse(endpoint)
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, u.Host)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 4096), nil)
	if err != nil {
		t.Fatalf("stalled GET %s: %v", path, err)
	}
	return resp.StatusCode
}

// stall starts n stalled GETs of path and returns how many got a slot.
func stall(t *testing.T, endpoint, path string, n int) int {
	t.Helper()
	ok := 0
	for range n {
		switch st := stalledGET(t, endpoint, path); st {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
		default:
			t.Fatalf("stalled GET %s: %d", path, st)
		}
	}
	return ok
}

func status(t *testing.T, method, u string, header map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// waitStatus polls an anonymous GET of u until it answers want, and
// returns how long that took (or fails after limit).
func waitStatus(t *testing.T, u string, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, _ := status(t, http.MethodGet, u, nil)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("GET %s still answers %d after %v, want %d", u, got, limit, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStalledReadersFreeTheirSlots: anonymous clients that request a big
// public object and never read it fill the anonymous share of the slots;
// meanwhile authenticated clients are still served (their share is their
// own), and within the stall timeout of the readers stopping, the slots are
// free again for everyone (issue 14: they used to be held for as long as
// the sockets stayed open).
func TestStalledReadersFreeTheirSlots(t *testing.T) {
	const timeout = time.Second
	c := clustertest.Start(t, "--max-inflight=4", "--max-inflight-anonymous=2", "--stall-timeout="+timeout.String())
	b2, bucket := publicObject(t, c, "big", 24<<20)
	b2.Upload(b2bucketID(t, b2, bucket), "small", []byte("hello"), nil)
	small := c.Endpoint + "/" + bucket + "/small"
	// Four anonymous readers try; the anonymous share lets two in.
	if n := stall(t, c.Endpoint, "/"+bucket+"/big", 4); n != 2 {
		t.Fatalf("%d stalled readers hold a slot, want the anonymous share, 2", n)
	}
	waitStatus(t, small, http.StatusServiceUnavailable, 5*time.Second)
	// Authenticated clients keep being served while the anonymous share
	// is full.
	s3c := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}.AWS(t)
	if _, err := s3c.ListBuckets(context.Background(), nil); err != nil {
		t.Fatalf("an authenticated request was refused while anonymous readers stalled: %v", err)
	}
	took := waitStatus(t, small, http.StatusOK, timeout+4*time.Second)
	t.Logf("slots freed %v after the anonymous share was seen full (stall timeout %v)", took, timeout)
}

// b2bucketID finds a bucket's id by name.
func b2bucketID(t *testing.T, b2 *conformance.B2, name string) string {
	t.Helper()
	resp := b2.Must("b2_list_buckets", map[string]any{"accountId": b2.AccountID, "bucketName": name})
	return resp["buckets"].([]any)[0].(map[string]any)["bucketId"].(string)
}

// TestStalledBodyIsAnswered: a B2 call announcing Content-Length: 100000
// whose body stalls after a few bytes is answered (408 request_timeout, in
// B2's JSON) within the stall timeout, instead of never.
func TestStalledBodyIsAnswered(t *testing.T) {
	const timeout = time.Second
	c := clustertest.Start(t, "--stall-timeout="+timeout.String())
	b2 := conformance.NewB2(t, conformance.B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}, 2)
	u, _ := url.Parse(c.Endpoint)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /b2api/v2/b2_list_buckets HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"accountId\":", u.Host, b2.Token)
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(timeout + 5*time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer %v after the body stalled: %v", time.Since(start), err)
	}
	defer resp.Body.Close()
	var e struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != http.StatusRequestTimeout || e.Code != "request_timeout" {
		t.Fatalf("answer: %d %s", resp.StatusCode, body)
	}
	t.Logf("answered %d %s %v after the body stalled (stall timeout %v)", resp.StatusCode, e.Code, time.Since(start), timeout)
}

// TestOverloadInEachDialect: with the anonymous share held by stalled
// readers, each dialect refuses the next anonymous request in its own
// format: S3 503 SlowDown XML, B2 503 service_unavailable JSON, R2 429 in
// Cloudflare's envelope — never S3 XML to a B2 or R2 client.
func TestOverloadInEachDialect(t *testing.T) {
	c := clustertest.Start(t, "--max-inflight=8", "--max-inflight-anonymous=2", "--stall-timeout=30s")
	_, bucket := publicObject(t, c, "big", 24<<20)
	if n := stall(t, c.Endpoint, "/file/"+bucket+"/big", 2); n != 2 {
		t.Fatalf("%d stalled readers hold a slot, want 2", n)
	}
	waitStatus(t, c.Endpoint+"/"+bucket+"/big", http.StatusServiceUnavailable, 5*time.Second)

	st, body := status(t, http.MethodGet, c.Endpoint+"/"+bucket+"/big", nil)
	var s3e struct {
		Code string `xml:"Code"`
	}
	if err := xml.Unmarshal(body, &s3e); err != nil || st != 503 || s3e.Code != "SlowDown" {
		t.Errorf("S3: %d %s", st, body)
	}
	st, body = status(t, http.MethodGet, c.Endpoint+"/file/"+bucket+"/big", nil)
	var b2e struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if err := json.Unmarshal(body, &b2e); err != nil || st != 503 || b2e.Code != "service_unavailable" || b2e.Status != 503 {
		t.Errorf("B2: %d %s", st, body)
	}
	st, body = status(t, http.MethodGet, c.Endpoint+"/client/v4/accounts/"+c.AccountID()+"/r2/buckets", nil)
	var r2e struct {
		Success bool `json:"success"`
		Errors  []struct {
			Code int `json:"code"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &r2e); err != nil || st != 429 || r2e.Success || len(r2e.Errors) != 1 || r2e.Errors[0].Code != 10058 {
		t.Errorf("R2: %d %s", st, body)
	}
	if !strings.Contains(string(body), `"result"`) {
		t.Errorf("R2 envelope lacks result: %s", body)
	}
}
