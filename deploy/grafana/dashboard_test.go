package grafana

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/gateway/conformance"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/runtime"
)

// exprs returns every PromQL expression of the dashboard (panels and
// template variables).
func exprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("coffer.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("coffer.json: %v", err)
	}
	var out []string
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("a %s panel has no query", p.Type)
		}
		for _, q := range p.Targets {
			out = append(out, q.Expr)
		}
	}
	for _, v := range d.Templating.List {
		out = append(out, v.Definition)
	}
	return out
}

var metricName = regexp.MustCompile(`coffer_[a-z0-9_]+`)

// TestDashboardSeriesExist: every series the dashboard charts is one a
// coffer process exports — the gateway's HTTP series, the background jobs'
// and gRPC's — checked against a live all-in-one server after traffic, a
// lifecycle run and a scrub, so a renamed metric breaks this test and not
// the dashboard.
func TestDashboardSeriesExist(t *testing.T) {
	want := map[string]bool{}
	for _, e := range exprs(t) {
		for _, n := range metricName.FindAllString(e, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if strings.HasSuffix(n, "_seconds"+suffix) {
					n = strings.TrimSuffix(n, suffix)
				}
			}
			want[n] = true
		}
	}
	if len(want) < 15 {
		t.Fatalf("only %d series in the dashboard: %v", len(want), want)
	}

	c := clustertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	s3c := tg.AWS(t)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("dashboard-bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("dashboard-bucket"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	_, _ = s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dashboard-bucket"), Key: aws.String("missing")})
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	token := c.AccountToken()
	if _, err := metadatav1.NewClusterServiceClient(cc).RunLifecycle(ctx, &metadatav1.RunLifecycleRequest{AccountToken: token}); err != nil {
		t.Fatal(err)
	}
	stream, err := blobv1.NewBlobServiceClient(cc).RunMaintenance(ctx, &blobv1.RunMaintenanceRequest{Job: blobv1.MaintenanceJob_MAINTENANCE_JOB_SCRUB, AccountToken: token})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}

	resp, err := http.Get("http://" + c.Process.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	have := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			have[strings.Fields(line)[2]] = true
		}
	}
	var missing []string
	for n := range want {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("the dashboard charts series no coffer process exports: %v", missing)
	}
}
