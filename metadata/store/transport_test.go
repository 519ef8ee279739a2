package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/coffer-project/coffer/metadata/fsm"
	"github.com/coffer-project/coffer/services/certs"
)

// identities issues, under one CA, a certificate per role given.
func identities(t *testing.T, roles ...string) map[string]*certs.Identity {
	t.Helper()
	dir := t.TempDir()
	ca, key, err := certs.NewCA("raft test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := certs.WriteFiles(caFile, ca.PEM, filepath.Join(dir, "ca-key.pem"), key); err != nil {
		t.Fatal(err)
	}
	out := map[string]*certs.Identity{}
	for _, r := range roles {
		c, k, err := ca.Issue(certs.Leaf{Roles: []string{r}, Validity: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		cf, kf := filepath.Join(dir, r+".pem"), filepath.Join(dir, r+"-key.pem")
		if err := certs.WriteFiles(cf, c, kf, k); err != nil {
			t.Fatal(err)
		}
		if out[r], err = certs.LoadIdentity(caFile, cf, kf); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestRaftOverTLS: three nodes form a group and replicate over mutual TLS;
// a gateway's certificate, or none, gets no conversation with a Raft port.
func TestRaftOverTLS(t *testing.T) {
	ids := identities(t, "metadata", "gateway")
	meta := &TLS{Server: ids["metadata"].ServerConfig("metadata"), Client: ids["metadata"].ClientConfig("metadata")}
	var addrs []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		l.Close()
	}
	var peers []Peer
	for i, a := range addrs {
		peers = append(peers, Peer{ID: fmt.Sprintf("m%d", i+1), Address: a})
	}
	var stores []*Store
	for i, a := range addrs {
		cfg := testConfig(t.TempDir(), false)
		cfg.NodeID, cfg.BindAddr, cfg.Peers, cfg.TLS = peers[i].ID, a, peers, meta
		// Three nodes on a busy test machine: timeouts that survive a
		// scheduler stall (a single node's 50 ms would cost elections).
		cfg.HeartbeatTimeout, cfg.ElectionTimeout = 300*time.Millisecond, 300*time.Millisecond
		s, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Propose through whichever node leads, until one commits (leadership
	// may move while the group settles).
	propose := func(id, name string) *fsm.Result {
		t.Helper()
		for {
			for _, s := range stores {
				if !s.IsLeader() {
					continue
				}
				if res, err := s.Propose(ctx, createBucket(id, name)); err == nil && res.Err == nil {
					return res
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("nothing committed over TLS within 30s")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	res := propose(bucketID, "over-tls")
	for _, s := range stores {
		for s.FSM().AppliedIndex() < res.Bucket.GetCreateIndex() {
			if ctx.Err() != nil {
				t.Fatal("a follower did not apply the entry over TLS")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// A gateway's certificate is refused at the handshake.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addrs[0], ids["gateway"].ClientConfig("metadata"))
	if err == nil {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1)) // TLS 1.3: a refused certificate shows on the first read
		conn.Close()
	}
	if err == nil {
		t.Fatal("a gateway certificate got a Raft connection")
	}
	// Plain TCP (hashicorp/raft's own transport) is not understood.
	plain, err := net.DialTimeout("tcp", addrs[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_ = plain.SetDeadline(time.Now().Add(5 * time.Second))
	plain.Write([]byte{0, 0, 0, 0, 0, 0, 0, 0}) // rpcAppendEntries, as raft would send it
	if n, _ := plain.Read(make([]byte, 64)); n > 0 {
		// A TLS alert is all a plaintext peer may get back.
		t.Logf("plaintext peer got %d bytes (a TLS alert)", n)
	}
	propose("bbbbbbbbbbbbbbbbbbbbbbbb", "still-fine")
}
