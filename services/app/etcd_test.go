package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/services/admin"
	"github.com/coffer-project/coffer/services/app"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/discovery/etcdtest"
)

// startRoles starts one in-process coffer with the given roles, discovering
// the others through etcd.
func startRoles(t *testing.T, etcd, roles string, extra ...string) *app.Process {
	t.Helper()
	args := append(clustertest.Args(t.TempDir()), "--roles", roles, "--etcd-endpoints", etcd,
		"--etcd-prefix", "apptest", "--etcd-lease-ttl", "3s")
	cfg, _, err := app.ParseConfig("etcdtest", append(args, extra...))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := app.Start(ctx, cfg, io.Discard, log)
	if err != nil {
		t.Fatalf("start %s: %v", roles, err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.Stop(sctx)
	})
	waitRegistered(t, etcd, p, roles)
	return p
}

// waitRegistered waits until etcd lists p under each of its roles. A process
// registers in the background once started, so a process started next may
// not find it yet: an edge that saw one blobstore node of two wrote every
// blob with a single shard of its 1+1 (degraded, as designed while a node
// is missing), and the shard report failed.
func waitRegistered(t *testing.T, etcd string, p *app.Process, roles string) {
	t.Helper()
	d, err := discovery.NewEtcd(discovery.EtcdOptions{Endpoints: []string{etcd}, Prefix: "apptest"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, role := range strings.Split(roles, ",") {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			insts, err := d.List(ctx, role)
			cancel()
			if slices.ContainsFunc(insts, func(in discovery.Instance) bool { return in.Addr == p.GRPCAddr() }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s at %s is not registered in etcd after 30s (%v; listed %+v)", role, p.GRPCAddr(), err, insts)
			}
		}
	}
}

func clusterReport(t *testing.T, etcd string) *admin.ClusterReport {
	t.Helper()
	var out, errb bytes.Buffer
	code := app.Run(context.Background(), []string{"admin", "cluster", "--json", "--verify", "--etcd-endpoints", etcd, "--etcd-prefix", "apptest"}, &out, &errb)
	rep := &admin.ClusterReport{}
	if err := json.Unmarshal(out.Bytes(), rep); err != nil {
		t.Fatalf("admin cluster (exit %d): %v\n%s%s", code, err, out.String(), errb.String())
	}
	return rep
}

// TestEtcdDiscoveredCluster runs the roles as three processes that find each
// other only through etcd: objects go in and out through the gateway, `coffer
// admin cluster` shows every role, the Raft leader and every blob's shards,
// requests keep succeeding while etcd is down, and a process that stops
// leaves etcd.
func TestEtcdDiscoveredCluster(t *testing.T) {
	etcd := etcdtest.Start(t)
	// Small objects stay blobs here (no inline data), so that the cluster
	// report has shards to show.
	ec := []string{"--ec.data-shards=1", "--ec.parity-shards=1", "--inline-max-size=0"}
	startRoles(t, etcd.Endpoint, "metadata,blobstore", "--blobstore.zone=z1")
	blob2 := startRoles(t, etcd.Endpoint, "blobstore", "--blobstore.zone=z2")
	edge := startRoles(t, etcd.Endpoint, "authd,corsd,gateway", ec...)

	s3c := s3.New(s3.Options{
		Region:       clustertest.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(clustertest.AccessKeyID, clustertest.SecretKey, ""),
		BaseEndpoint: aws.String("http://" + edge.HTTPAddr()),
		UsePathStyle: true,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("etcd-bucket")}); err != nil {
		t.Fatal(err)
	}
	put := func(key string) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("etcd-bucket"), Key: aws.String(key), Body: strings.NewReader("body of " + key)}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	get := func(key string) {
		t.Helper()
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("etcd-bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(b) != "body of "+key {
			t.Fatalf("get %s: %q", key, b)
		}
	}
	for i := 0; i < 5; i++ {
		put(fmt.Sprintf("before-%d", i))
	}

	// The metadata node flags itself leader (it may have been elected just
	// after it registered).
	rep := clusterReport(t, etcd.Endpoint)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if m := rep.Roles[discovery.Metadata]; len(m) == 1 && m[0].Leader {
			break
		}
		rep = clusterReport(t, etcd.Endpoint)
	}
	for _, role := range discovery.Roles {
		if len(rep.Roles[role]) == 0 {
			t.Fatalf("role %s not registered: %+v", role, rep.Roles)
		}
	}
	if n := len(rep.Roles[discovery.Blobstore]); n != 2 {
		t.Fatalf("%d blobstore nodes registered", n)
	}
	zones := map[string]bool{}
	for _, in := range rep.Roles[discovery.Blobstore] {
		if in.NodeID == "" {
			t.Fatalf("blobstore %s published no node id", in.Addr)
		}
		zones[in.Zone] = true
	}
	if !zones["z1"] || !zones["z2"] {
		t.Fatalf("zones published: %v", zones)
	}
	if m := rep.Roles[discovery.Metadata]; len(m) != 1 || !m[0].Leader || m[0].Term == 0 {
		t.Fatalf("metadata entry %+v: want the leader flag and term", m)
	}
	if gw := rep.Roles[discovery.Gateway]; len(gw) != 1 || gw[0].HTTP != edge.HTTPAddr() {
		t.Fatalf("gateway entry %+v, want http %s", gw, edge.HTTPAddr())
	}
	if rep.Leader == "" || len(rep.Members) != 1 {
		t.Fatalf("raft: leader %q members %+v", rep.Leader, rep.Members)
	}
	for _, b := range rep.Blobstore {
		if !b.Up || b.CapacityBytes <= 0 {
			t.Fatalf("blobstore node %+v", b)
		}
	}
	if s := rep.Shards; s == nil || s.Blobs < 5 || s.Healthy != s.Blobs || !s.Verified {
		t.Fatalf("shards %+v: want every blob healthy", s)
	}

	// etcd goes away for longer than the lease TTL: requests go on with the
	// endpoints every process last saw.
	etcd.Stop()
	for end, i := time.Now().Add(8*time.Second), 0; time.Now().Before(end); i++ {
		put(fmt.Sprintf("outage-%d", i))
		get(fmt.Sprintf("outage-%d", i))
		get("before-0")
		time.Sleep(100 * time.Millisecond)
	}
	etcd.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rep = clusterReport(t, etcd.Endpoint)
		n := 0
		for _, insts := range rep.Roles {
			n += len(insts)
		}
		if n == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage %d instances are registered: %+v", n, rep.Roles)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A process that stops deregisters at once (no wait for its lease).
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if err := blob2.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	rep = clusterReport(t, etcd.Endpoint)
	if n := len(rep.Roles[discovery.Blobstore]); n != 1 {
		t.Fatalf("after a blobstore stopped %d are registered", n)
	}
	// Reads go on from the remaining copy (1+1 coding).
	get("before-1")
}

// TestHealthcheck runs `coffer healthcheck` against a real process: ready
// answers 0, a closed port 1.
func TestHealthcheck(t *testing.T) {
	c := clustertest.Start(t)
	var out, errb bytes.Buffer
	if code := app.Run(context.Background(), []string{"healthcheck", "--addr", c.Process.AdminAddr()}, &out, &errb); code != 0 {
		t.Fatalf("healthcheck of a ready process: exit %d: %s", code, errb.String())
	}
	if code := app.Run(context.Background(), []string{"healthcheck", "--live", "--addr", c.Process.AdminAddr()}, &out, &errb); code != 0 {
		t.Fatalf("liveness check: exit %d: %s", code, errb.String())
	}
	addr := c.Process.AdminAddr()
	c.Stop()
	errb.Reset()
	if code := app.Run(context.Background(), []string{"healthcheck", "--timeout=2s", "--addr", addr}, &out, &errb); code != 1 {
		t.Fatalf("healthcheck of a stopped process: exit %d: %s", code, errb.String())
	}
}
