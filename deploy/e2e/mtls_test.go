//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// roleAddrs is one gRPC address of every role in the cluster.
var roleAddrs = []string{"metadata-1:9100", "metadata-2:9100", "blobstore-1:9100", "authd-1:9100", "corsd-1:9100", "gateway-1:9100"}

// raftAddrs are the metadata nodes' Raft ports.
var raftAddrs = []string{"metadata-1:9200", "metadata-2:9200", "metadata-3:9200"}

// mutualTLS shows that the cluster runs mutual TLS everywhere: a container
// on the internal network without a certificate reaches no role's gRPC
// port, no Raft port and not etcd; the admin container's certificate
// reaches them all; and the operator's runs (a lifecycle dry run on the
// metadata leader, a scrub of every blobstore node) go through with its key.
func mutualTLS(t *testing.T, c *cluster, fig *figures) {
	start := time.Now()
	probe := []string{"probe", "--addrs", strings.Join(roleAddrs, ","), "--raft-addrs", strings.Join(raftAddrs, ","),
		"--etcd-endpoints", "https://etcd:2379", "--timeout", "10s"}
	out, err := c.bare(3*time.Minute, append([]string{"admin"}, probe...)...)
	if err == nil {
		t.Fatalf("a container without a certificate reached the roles:\n%s", out)
	}
	refused := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "refused or unreachable") {
			refused++
		}
	}
	if want := len(roleAddrs) + len(raftAddrs) + 1; refused != want {
		t.Fatalf("without a certificate: %d of %d endpoints refused\n%s", refused, want, out)
	}
	// Plaintext, the way a pre-mTLS client would call: refused too.
	if out, err := c.bare(time.Minute, "admin", "status", "--addr", "metadata-1:9100", "--timeout", "10s"); err == nil {
		t.Fatalf("a plaintext admin status went through:\n%s", out)
	}
	// The operator's certificate: every role's gRPC port and etcd (not
	// Raft, which admits metadata nodes only).
	out, err = c.admin(3*time.Minute, "probe", "--addrs", strings.Join(roleAddrs, ","), "--etcd-endpoints", "https://etcd:2379", "--timeout", "10s")
	if err != nil {
		t.Fatalf("the admin certificate does not reach every role: %v\n%s", err, out)
	}
	// ... and Raft refuses even it.
	if rout, err := c.admin(time.Minute, "probe", "--raft-addrs", raftAddrs[0], "--timeout", "10s"); err == nil {
		t.Fatalf("the admin certificate got a Raft connection:\n%s", rout)
	}
	if n := strings.Count(out, "SERVING"); n != len(roleAddrs) {
		t.Fatalf("admin probe: %d SERVING, want %d\n%s", n, len(roleAddrs), out)
	}
	out, err = c.admin(5*time.Minute, "lifecycle", "run", "--dry-run", "--now=+40d")
	if err != nil || !strings.Contains(out, "dry run as of") {
		t.Fatalf("lifecycle dry run in the cluster: %v\n%s", err, out)
	}
	out, err = c.admin(10*time.Minute, "scrub")
	if err != nil || !strings.Contains(out, "total (6 of 6 nodes)") {
		t.Fatalf("scrub of every blobstore node: %v\n%s", err, out)
	}
	fig.note("mutual TLS: a container without a certificate reached 0 of %d endpoints (roles, Raft, etcd); the admin certificate reached all; lifecycle dry run and a scrub of 6 nodes through it (%.0f s)",
		len(roleAddrs)+len(raftAddrs)+1, time.Since(start).Seconds())
}
