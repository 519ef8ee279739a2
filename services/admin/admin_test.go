package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/admin"
	"github.com/coffer-project/coffer/services/clustertest"
)

// run runs `coffer admin args...` as the operator (the bootstrap key from
// the environment) and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := admin.Run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func must(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, args...)
	if code != 0 {
		t.Fatalf("coffer admin %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func operator(t *testing.T) {
	t.Setenv(admin.EnvKeyID, clustertest.AccessKeyID)
	t.Setenv(admin.EnvKey, clustertest.SecretKey)
}

// TestKeysAndBuckets: the operator manages keys and buckets through the
// public B2 API with an application key, like any client; a key without
// the capability gets B2's refusal.
func TestKeysAndBuckets(t *testing.T) {
	c := clustertest.Start(t)
	operator(t)
	ep := "--endpoint=" + c.Endpoint
	out := must(t, "key", "create", ep, "--name", "reader", "--capabilities", "listBuckets,readFiles")
	if !strings.Contains(out, "secret:") {
		t.Fatalf("key create:\n%s", out)
	}
	keyID := strings.Fields(out[strings.Index(out, "key id:"):])[2]
	secret := strings.Fields(out[strings.Index(out, "secret:"):])[1]
	if out := must(t, "key", "list", ep); !strings.Contains(out, keyID) || !strings.Contains(out, "listBuckets,readFiles") {
		t.Fatalf("key list:\n%s", out)
	}
	must(t, "bucket", "create", ep, "ops-bucket", "--lifecycle", "logs/:hide=10,delete=1", "--lifecycle", "up/:cancel=7")
	if out := must(t, "bucket", "list", ep); !strings.Contains(out, "ops-bucket") || !strings.Contains(out, `"logs/":hide=10,delete=1`) {
		t.Fatalf("bucket list:\n%s", out)
	}
	if out := must(t, "bucket", "set", ep, "ops-bucket", "--type", "allPublic", "--no-lifecycle"); !strings.Contains(out, "allPublic") || strings.Contains(out, "lifecycle") {
		t.Fatalf("bucket set:\n%s", out)
	}
	// The new key may list buckets but not create keys or buckets.
	t.Setenv(admin.EnvKeyID, keyID)
	t.Setenv(admin.EnvKey, secret)
	must(t, "bucket", "list", ep)
	if code, _, errOut := run(t, "key", "create", ep, "--name", "x", "--capabilities", "readFiles"); code != 1 || !strings.Contains(errOut, "unauthorized") {
		t.Fatalf("key create with a reader key: %d %s", code, errOut)
	}
	operator(t)
	must(t, "bucket", "delete", ep, "ops-bucket")
	must(t, "key", "delete", ep, keyID)
	if out := must(t, "key", "list", ep); strings.Contains(out, keyID) {
		t.Fatalf("deleted key still listed:\n%s", out)
	}
	if code, _, _ := run(t, "key", "create", ep); code != 2 {
		t.Fatalf("key create without flags: exit %d", code)
	}
}

// TestLifecycleDryRunAhead: `lifecycle run --dry-run --now=+40d` lists
// exactly what B2's rules do to today's uploads by then, changes nothing,
// and the same run without --dry-run does exactly that.
func TestLifecycleDryRunAhead(t *testing.T) {
	c := clustertest.Start(t)
	operator(t)
	ep := "--endpoint=" + c.Endpoint
	grpc := "--addr=" + c.Process.GRPCAddr()
	must(t, "bucket", "create", ep, "rules-bucket",
		"--lifecycle", "logs/:hide=10,delete=1", // hidden on day 10, gone on day 11
		"--lifecycle", "keep/:hide=30", // hidden on day 30, kept
		"--lifecycle", "late/:hide=41", // not yet by day 40
		"--lifecycle", "old/:delete=30") // non-current versions go 30 days after
	tg := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	s3c := tg.AWS(t)
	ctx := context.Background()
	ids := map[string]string{}
	put := func(key string) string {
		out, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("rules-bucket"), Key: aws.String(key), Body: strings.NewReader(key)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}
	ids[put("logs/a.log")] = "a"
	ids[put("keep/b.txt")] = "b"
	put("late/c.txt")
	ids[put("old/d.txt")] = "d1"
	put("old/d.txt") // d1 is non-current from now on
	put("other/e.txt")

	// What B2's rules do by day 40, by their definitions.
	want := []string{
		"delete rules-bucket/logs/a.log a",      // hidden day 10, deleted a day later
		"delete rules-bucket/logs/a.log marker", // and its hide marker, then alone
		"delete rules-bucket/old/d.txt d1",      // non-current for 30 days
		"hide rules-bucket/keep/b.txt b",
		"hide rules-bucket/logs/a.log a",
	}
	lines := func(out string) []string {
		var got []string
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) < 3 || (f[0] != "hide" && f[0] != "delete" && f[0] != "hidden" && f[0] != "deleted") {
				continue
			}
			verb := map[string]string{"hide": "hide", "hidden": "hide", "delete": "delete", "deleted": "delete"}[f[0]]
			v := f[3]
			if f[2] == "hide" && f[3] == "marker" {
				v = "marker"
			} else {
				v = ids[v]
			}
			got = append(got, verb+" "+f[1]+" "+v)
		}
		slices.Sort(got)
		return got
	}
	before := versions(t, s3c)
	out := must(t, "lifecycle", "run", grpc, "--dry-run", "--now=+40d")
	if got := lines(out); !slices.Equal(got, want) || !strings.Contains(out, "summary: 2 would be hidden, 3 would be deleted") {
		t.Fatalf("dry run:\n%s\ngot  %v\nwant %v", out, got, want)
	}
	if after := versions(t, s3c); !slices.Equal(after, before) {
		t.Fatalf("the dry run changed the bucket: %v → %v", before, after)
	}
	out = must(t, "lifecycle", "run", grpc, "--now=+40d")
	if got := lines(out); !slices.Equal(got, want) || !strings.Contains(out, "summary: 2 hidden, 3 deleted") {
		t.Fatalf("run:\n%s\ngot  %v\nwant %v", out, got, want)
	}
	// Nothing is left to do at that time.
	if out := must(t, "lifecycle", "run", grpc, "--dry-run", "--now=+40d"); !strings.Contains(out, "summary: 0 would be hidden, 0 would be deleted") {
		t.Fatalf("second dry run:\n%s", out)
	}
	// A wrong key is refused, and a bad --now is a usage error.
	t.Setenv(admin.EnvKey, "K00wrongsecret000000000000000")
	if code, _, errOut := run(t, "lifecycle", "run", grpc, "--dry-run"); code != 1 || !strings.Contains(errOut, "invalid application key") {
		t.Fatalf("wrong key: %d %s", code, errOut)
	}
	if code, _, _ := run(t, "lifecycle", "run", grpc, "--now=tomorrow"); code != 2 {
		t.Fatalf("bad --now: exit %d", code)
	}
}

// versions lists every version of rules-bucket as key:latest/deleted.
func versions(t *testing.T, c *s3.Client) []string {
	t.Helper()
	out, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String("rules-bucket")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range out.Versions {
		got = append(got, aws.ToString(v.Key)+":"+aws.ToString(v.VersionId))
	}
	for _, m := range out.DeleteMarkers {
		got = append(got, aws.ToString(m.Key)+":marker")
	}
	slices.Sort(got)
	return got
}

// TestMaintenance: scrub, repair and gc run on the node with plain progress
// lines (not a terminal) and a summary; without an operator's key they are
// refused.
func TestMaintenance(t *testing.T) {
	c := clustertest.Start(t)
	operator(t)
	tg := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	s3c := tg.AWS(t)
	ctx := context.Background()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("scrubbed")}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("scrubbed"), Key: aws.String(string(rune('a' + i))),
			Body: bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 256<<10))}); err != nil { // not inline: blobs on the node
			t.Fatal(err)
		}
	}
	grpc := "--addr=" + c.Process.GRPCAddr()
	for _, job := range []string{"scrub", "repair", "gc"} {
		code, out, errOut := run(t, job, grpc)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", job, code, out, errOut)
		}
		if !strings.Contains(errOut, job+" on "+c.Process.GRPCAddr()+": done") || strings.Contains(errOut, "\r") {
			t.Fatalf("%s progress (plain lines expected):\n%s", job, errOut)
		}
		if !strings.Contains(out, "total (1 of 1 nodes)") {
			t.Fatalf("%s summary:\n%s", job, out)
		}
		if job == "scrub" && !strings.Contains(out, "scrub: 0 damaged") {
			t.Fatalf("scrub summary:\n%s", out)
		}
	}
	_, out, _ := run(t, "scrub", grpc, "--json")
	var res []struct {
		Addr    string
		Scanned int64
		Bytes   int64
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || res[0].Scanned < 5 || res[0].Bytes < 5*256<<10 {
		t.Fatalf("scrub --json: %v\n%s", err, out)
	}
	t.Setenv(admin.EnvKey, "K00wrongsecret000000000000000")
	if code, _, _ := run(t, "gc", grpc); code != 1 {
		t.Fatalf("gc with a wrong key: exit %d", code)
	}
}
