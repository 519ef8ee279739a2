package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/metadata/fsm"
	"github.com/coffer-project/coffer/metadata/metadatatest"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/runtime"
)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestMain(m *testing.M) {
	code := m.Run()
	metadatatest.Cleanup()
	os.Exit(code)
}

// procCluster is a group of `coffer serve --roles=metadata` child processes
// on fixed loopback ports, bootstrapped from one peer list that carries
// both Raft and gRPC addresses. Raft runs with its production timeouts.
type procCluster struct {
	t       testing.TB
	procs   []*metadatatest.Process
	dirs    []string
	grpc    []string
	raft    []string
	meta    []metadatav1.MetadataServiceClient
	cluster []metadatav1.ClusterServiceClient
}

func newProcCluster(t testing.TB, size int, extra ...string) *procCluster {
	t.Helper()
	bin := metadatatest.Binary(t)
	ports := metadatatest.FreePorts(t, 2*size)
	c := &procCluster{t: t, grpc: ports[:size], raft: ports[size:]}
	var peers []string
	for i := range size {
		peers = append(peers, fmt.Sprintf("m%d=%s/%s", i+1, c.raft[i], c.grpc[i]))
	}
	for i := range size {
		dir := t.TempDir()
		args := append([]string{"serve", "--roles=metadata",
			"--data-dir=" + dir, "--grpc-addr=" + c.grpc[i], "--admin-addr=", "--log-level=info", "--shutdown-timeout=5s",
			"--metadata.node-id=" + fmt.Sprintf("m%d", i+1), "--metadata.raft-addr=" + c.raft[i],
			"--metadata.peers=" + strings.Join(peers, ","),
		}, extra...)
		c.dirs = append(c.dirs, dir)
		c.procs = append(c.procs, metadatatest.StartProcess(t, bin, args...))
		cc, err := runtime.Dial("passthrough:///" + c.grpc[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		c.meta = append(c.meta, metadatav1.NewMetadataServiceClient(cc))
		c.cluster = append(c.cluster, metadatav1.NewClusterServiceClient(cc))
	}
	c.leader(60 * time.Second)
	return c
}

// statuses returns the status of every running node (nil for the others).
func (c *procCluster) statuses() []*metadatav1.GetClusterStatusResponse {
	out := make([]*metadatav1.GetClusterStatusResponse, len(c.procs))
	for i, p := range c.procs {
		if !p.Running() {
			continue
		}
		st, err := c.cluster[i].GetClusterStatus(ctx(c.t), &metadatav1.GetClusterStatusRequest{})
		if err == nil {
			out[i] = st
		}
	}
	return out
}

// leader waits until every running node answers and names the same leader,
// and returns its position.
func (c *procCluster) leader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ids := map[string]bool{}
		answered := 0
		for i, st := range c.statuses() {
			if st != nil {
				answered++
				ids[st.LeaderId] = true
			} else if c.procs[i].Running() {
				ids["?"] = true
			}
		}
		if len(ids) == 1 && !ids[""] && !ids["?"] && answered > 0 {
			for id := range ids {
				var i int
				fmt.Sscanf(id, "m%d", &i)
				return i - 1
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no agreed leader within %v: %v", timeout, ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// converge waits until the leader has committed its whole log and every
// running node has applied the same index, twice in a row.
func (c *procCluster) converge() uint64 {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last uint64
	for {
		var idx []uint64
		settled := false
		for i, st := range c.statuses() {
			switch {
			case st == nil && c.procs[i].Running():
				idx = append(idx, 0)
			case st != nil:
				idx = append(idx, st.AppliedIndex)
				if st.State == "Leader" && st.CommitIndex == st.LastIndex {
					settled = true
				}
			}
		}
		same := settled && len(idx) > 0
		for _, x := range idx {
			same = same && x == idx[0] && x > 0
		}
		if same && idx[0] == last {
			return last
		}
		if same {
			last = idx[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nodes did not converge: applied %v", idx)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stopAll stops every node gracefully.
func (c *procCluster) stopAll() {
	for _, p := range c.procs {
		if !p.Stop(15 * time.Second) {
			c.t.Errorf("a node did not stop within 15s after SIGTERM")
		}
	}
}

// startAll starts every stopped node again (same arguments, same data).
func (c *procCluster) startAll() {
	for _, p := range c.procs {
		if !p.Running() {
			p.Start()
		}
	}
}

// fileDigests opens each stopped node's state file and returns its digest
// and applied index.
func (c *procCluster) fileDigests() ([][]byte, []uint64) {
	c.t.Helper()
	var digests [][]byte
	var applied []uint64
	for _, dir := range c.dirs {
		f, err := fsm.Open(filepath.Join(dir, "metadata", "fsm.db"), fsm.Options{})
		if err != nil {
			c.t.Fatal(err)
		}
		d, err := f.Digest()
		if err != nil {
			c.t.Fatal(err)
		}
		digests, applied = append(digests, d), append(applied, f.AppliedIndex())
		f.Close()
	}
	return digests, applied
}

// assertIdenticalFiles stops every node and checks that their state files
// are at the same index with the same digest.
func (c *procCluster) assertIdenticalFiles() {
	c.t.Helper()
	c.stopAll()
	digests, applied := c.fileDigests()
	for i := range digests {
		if applied[i] != applied[0] || !bytes.Equal(digests[i], digests[0]) {
			c.t.Fatalf("state files differ: applied %v, digest of m%d %x vs m1 %x", applied, i+1, digests[i][:8], digests[0][:8])
		}
	}
	c.t.Logf("all %d state files identical at index %d", len(digests), applied[0])
}

// versionsOn lists every version id of a bucket on node i (stale read of
// that node's own state).
func (c *procCluster) versionsOn(i int, bucketID string) map[string]bool {
	c.t.Helper()
	out := map[string]bool{}
	req := &metadatav1.ListObjectVersionsRequest{BucketId: bucketID, PageSize: 1000, StaleOk: true}
	for {
		resp, err := c.meta[i].ListObjectVersions(ctx(c.t), req)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, v := range resp.Versions {
			out[v.VersionId] = true
		}
		if !resp.Truncated {
			return out
		}
		req.KeyMarker, req.VersionIdMarker = resp.NextKeyMarker, resp.NextVersionIdMarker
	}
}

// assertAckedOnAll checks that every acknowledged version is on every
// node. It reads each node's own state (a follower may still be catching
// up), so it retries for a while before it calls a write lost.
func (c *procCluster) assertAckedOnAll(bucketID string, acked []string) {
	c.t.Helper()
	for i := range c.procs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			have := c.versionsOn(i, bucketID)
			missing := 0
			for _, v := range acked {
				if !have[v] {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("m%d is missing %d of %d acknowledged writes", i+1, missing, len(acked))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c.t.Logf("all %d acknowledged writes present on all %d nodes", len(acked), len(c.procs))
}
