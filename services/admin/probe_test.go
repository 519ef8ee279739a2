package admin_test

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/certs"
	"github.com/coffer-project/coffer/services/clustertest"
)

// issue writes a certificate for roles under dir and returns the
// --mtls-* flags.
func issue(t *testing.T, ca *certs.CA, caFile, dir, name string, roles ...string) []string {
	t.Helper()
	c, k, err := ca.Issue(certs.Leaf{CommonName: name, Roles: roles, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := certs.WriteFiles(cf, c, kf, k); err != nil {
		t.Fatal(err)
	}
	return []string{"--mtls-ca=" + caFile, "--mtls-cert=" + cf, "--mtls-key=" + kf}
}

// TestProbe: against a process running mutual TLS, `admin probe` without a
// certificate reaches neither the gRPC port nor the Raft port; with the
// admin certificate it reaches gRPC, and Raft still refuses it (metadata
// nodes only).
func TestProbe(t *testing.T) {
	dir := t.TempDir()
	ca, key, err := certs.NewCA("probe CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := certs.WriteFiles(caFile, ca.PEM, filepath.Join(dir, "ca-key.pem"), key); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raft := l.Addr().String()
	l.Close()
	serve := append(issue(t, ca, caFile, dir, "all", "metadata", "blobstore", "authd", "corsd", "gateway"), "--metadata.raft-addr="+raft)
	c := clustertest.Start(t, serve...)
	grpc := c.Process.GRPCAddr()

	code, out, _ := run(t, "probe", "--addrs", grpc, "--raft-addrs", raft, "--timeout=5s")
	if code != 1 || strings.Count(out, "refused or unreachable") != 2 {
		t.Fatalf("probe without a certificate: exit %d\n%s", code, out)
	}
	adminFlags := issue(t, ca, caFile, dir, "admin", "admin")
	code, out, _ = run(t, append([]string{"probe", "--addrs", grpc, "--timeout=5s"}, adminFlags...)...)
	if code != 0 || !strings.Contains(out, grpc+": SERVING") {
		t.Fatalf("probe with the admin certificate: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, append([]string{"probe", "--raft-addrs", raft, "--timeout=5s"}, adminFlags...)...)
	if code != 1 || !strings.Contains(out, "refused") {
		t.Fatalf("the admin certificate on the Raft port: exit %d\n%s", code, out)
	}
	metaFlags := issue(t, ca, caFile, dir, "meta", "metadata")
	code, out, _ = run(t, append([]string{"probe", "--raft-addrs", raft, "--timeout=5s"}, metaFlags...)...)
	if code != 0 || !strings.Contains(out, "handshake accepted") {
		t.Fatalf("a metadata certificate on the Raft port: exit %d\n%s", code, out)
	}
}
