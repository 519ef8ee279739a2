package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/clustertest"
)

// metricValue finds the sample of name whose labels include every pair in
// labels, in Prometheus' text format; ok is false when there is none.
func metricValue(text, name string, labels map[string]string) (v float64, ok bool) {
	for _, line := range strings.Split(text, "\n") {
		rest, found := strings.CutPrefix(line, name+"{")
		if !found {
			continue
		}
		set, value, found := strings.Cut(rest, "} ")
		if !found {
			continue
		}
		match := true
		for k, want := range labels {
			if !strings.Contains(","+set+",", ","+k+`="`+want+`",`) {
				match = false
			}
		}
		if match {
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// TestMetricsAndAccessLog: each dialect's requests are counted by API,
// operation and status class, timed, and their bytes summed on the
// process's /metrics; each gets one access log line at INFO with its
// request id, key id, operation, bucket, status, bytes and duration — and
// no signature, token or secret, even for a presigned URL or a B2 token.
func TestMetricsAndAccessLog(t *testing.T) {
	logs := &syncBuffer{}
	c := clustertest.StartLogged(t, logs)
	ctx := context.Background()
	tg := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	s3c := tg.AWS(t)
	bucket := conformance.BucketName("observe")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("m"), 3000)
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	pre, err := s3.NewPresignClient(s3c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		resp, err := http.Get(pre.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(got) != len(body) {
			t.Fatalf("presigned GET: %d, %d bytes", resp.StatusCode, len(got))
		}
	}
	if _, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")}); err == nil {
		t.Fatal("GET of a missing key succeeded")
	}
	b2 := conformance.NewB2(t, conformance.B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}, 2)
	b2.Must("b2_list_buckets", map[string]any{"accountId": b2.AccountID})
	req, _ := http.NewRequest(http.MethodGet, c.Endpoint+"/client/v4/accounts/"+c.AccountID()+"/r2/buckets", nil)
	req.Header.Set("Authorization", "Bearer "+clustertest.AccessKeyID+":"+clustertest.SecretKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("R2 list: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	resp, err := http.Get("http://" + c.Process.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(raw)
	atLeast := func(name string, labels map[string]string, min float64) {
		t.Helper()
		v, ok := metricValue(text, name, labels)
		if !ok || v < min {
			t.Errorf("%s%v = %v (found %v), want >= %v", name, labels, v, ok, min)
		}
	}
	atLeast("coffer_http_requests_total", map[string]string{"api": "s3", "op": "PutObject", "code_class": "2xx"}, 1)
	atLeast("coffer_http_requests_total", map[string]string{"api": "s3", "op": "GetObject", "code_class": "2xx"}, 2)
	atLeast("coffer_http_requests_total", map[string]string{"api": "s3", "op": "GetObject", "code_class": "4xx"}, 1)
	atLeast("coffer_http_requests_total", map[string]string{"api": "b2", "op": "b2_list_buckets", "code_class": "2xx"}, 1)
	atLeast("coffer_http_requests_total", map[string]string{"api": "b2", "op": "b2_authorize_account", "code_class": "2xx"}, 1)
	atLeast("coffer_http_requests_total", map[string]string{"api": "r2", "op": "ListBuckets", "code_class": "2xx"}, 1)
	atLeast("coffer_http_request_duration_seconds_count", map[string]string{"api": "s3", "op": "GetObject"}, 3)
	atLeast("coffer_http_request_bytes_total", map[string]string{"api": "s3", "op": "PutObject"}, float64(len(body)))
	atLeast("coffer_http_response_bytes_total", map[string]string{"api": "s3", "op": "GetObject"}, float64(2*len(body)))
	if v, ok := metricValue(text, "coffer_http_inflight", map[string]string{"api": "s3"}); !ok || v != 0 {
		t.Errorf("coffer_http_inflight{api=s3} = %v (found %v), want 0 between requests", v, ok)
	}

	// One access line per request, at INFO, with what happened and who
	// asked; nothing from the URL or the credentials.
	var gets, b2lists int
	for _, l := range logs.lines() {
		if l["msg"] != "access" {
			continue
		}
		if l["level"] != "INFO" {
			t.Errorf("access line at %v", l["level"])
		}
		for _, f := range []string{"api", "request_id", "key_id", "op", "bucket", "status", "bytes_in", "bytes_out", "duration"} {
			if _, ok := l[f]; !ok {
				t.Errorf("access line lacks %s: %v", f, l)
			}
		}
		switch {
		case l["api"] == "s3" && l["op"] == "GetObject" && l["status"] == float64(200):
			gets++
			if l["bucket"] != bucket || l["key_id"] != clustertest.AccessKeyID || l["bytes_out"] != float64(len(body)) || l["request_id"] == "" {
				t.Errorf("GetObject access line: %v", l)
			}
		case l["api"] == "b2" && l["op"] == "b2_list_buckets":
			b2lists++
			if l["key_id"] != clustertest.AccessKeyID {
				t.Errorf("b2_list_buckets access line: %v", l)
			}
		}
	}
	if gets != 2 || b2lists != 1 {
		t.Errorf("access lines: %d GetObject (want 2), %d b2_list_buckets (want 1)", gets, b2lists)
	}
	all := logs.String()
	sig := pre.URL[strings.Index(pre.URL, "X-Amz-Signature=")+len("X-Amz-Signature="):]
	for what, secret := range map[string]string{"secret key": clustertest.SecretKey, "presigned signature": sig,
		"B2 token": b2.Token, "presigned query": "X-Amz-Credential"} {
		if strings.Contains(all, secret) {
			t.Errorf("the log shows the %s", what)
		}
	}
}
