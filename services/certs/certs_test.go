package certs

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// issue writes a CA-signed pair for roles under dir and returns the files.
func issue(t *testing.T, ca *CA, dir, name string, roles ...string) (string, string) {
	t.Helper()
	c, k, err := ca.Issue(Leaf{CommonName: name, Roles: roles, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := WriteFiles(cf, c, kf, k); err != nil {
		t.Fatal(err)
	}
	return cf, kf
}

func newCA(t *testing.T, dir string) (*CA, string) {
	t.Helper()
	ca, key, err := NewCA("test CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cf, kf := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if err := WriteFiles(cf, ca.PEM, kf, key); err != nil {
		t.Fatal(err)
	}
	back, err := LoadCA(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	return back, cf
}

func identity(t *testing.T, ca *CA, caFile, dir, name string, roles ...string) *Identity {
	t.Helper()
	cf, kf := issue(t, ca, dir, name, roles...)
	id, err := LoadIdentity(caFile, cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// handshake runs a TLS handshake between the two configurations and returns
// the client's and the server's errors.
func handshake(t *testing.T, client, server *tls.Config) (error, error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		s := tls.Server(b, server)
		err := s.Handshake()
		if err == nil {
			// TLS 1.3 clients learn of a refused certificate on their first read.
			_, err = s.Write([]byte("x"))
		}
		errc <- err
		b.Close()
	}()
	c := tls.Client(a, client)
	err := c.Handshake()
	if err == nil {
		buf := make([]byte, 1)
		_, err = c.Read(buf)
	}
	a.Close()
	return err, <-errc
}

func TestRolesAndIssue(t *testing.T) {
	dir := t.TempDir()
	ca, caFile := newCA(t, dir)
	id := identity(t, ca, caFile, dir, "all", "metadata", "gateway")
	if got := id.Roles(); !slices.Equal(got, []string{"metadata", "gateway"}) {
		t.Fatalf("roles %v", got)
	}
	if _, _, err := ca.Issue(Leaf{Roles: []string{"Gate/way"}, Validity: time.Hour}); err == nil {
		t.Fatal("bad role accepted")
	}
	if _, _, err := ca.Issue(Leaf{Validity: time.Hour}); err == nil {
		t.Fatal("a certificate naming nothing was issued")
	}
}

// TestMutualTLS: a server between roles refuses a client without a
// certificate, with one from another CA, and (where it admits one role only)
// with another role's; a client refuses a server of another CA or role.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caFile := newCA(t, dir)
	other, otherFile := newCA(t, t.TempDir())
	meta := identity(t, ca, caFile, dir, "meta", "metadata")
	gw := identity(t, ca, caFile, dir, "gw", "gateway")
	stranger := identity(t, other, otherFile, t.TempDir(), "stranger", "metadata")

	if c, s := handshake(t, gw.ClientConfig("metadata"), meta.ServerConfig()); c != nil || s != nil {
		t.Fatalf("gateway → metadata: %v / %v", c, s)
	}
	noCert := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	if _, s := handshake(t, noCert, meta.ServerConfig()); s == nil || !strings.Contains(s.Error(), "certificate") {
		t.Fatalf("no client certificate: server said %v", s)
	}
	if _, s := handshake(t, stranger.ClientConfig("metadata"), meta.ServerConfig()); s == nil {
		t.Fatal("a client of another CA was admitted")
	}
	if _, s := handshake(t, gw.ClientConfig("metadata"), meta.ServerConfig("metadata")); s == nil || !strings.Contains(s.Error(), "not metadata") {
		t.Fatalf("a gateway joined the Raft transport: %v", s)
	}
	if c, _ := handshake(t, meta.ClientConfig("metadata"), stranger.ServerConfig()); c == nil {
		t.Fatal("a server of another CA was trusted")
	}
	if c, _ := handshake(t, meta.ClientConfig("metadata"), gw.ServerConfig()); c == nil || !strings.Contains(c.Error(), "not metadata") {
		t.Fatalf("a gateway passed for metadata: %v", c)
	}
}

// TestKeyPairReload: a renewed pair is served once the files change; a
// half-written pair leaves the old one in use.
func TestKeyPairReload(t *testing.T) {
	dir := t.TempDir()
	ca, _ := newCA(t, dir)
	cf, kf := issue(t, ca, dir, "edge", "gateway")
	kp, err := LoadKeyPair(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	kp.Recheck = 0
	first := kp.Certificate().Leaf.SerialNumber
	var reloads []error
	kp.OnReload = func(cert *tls.Certificate, err error) {
		reloads = append(reloads, err)
		// The callback may use the pair (no lock is held).
		_ = kp.Certificate()
	}

	time.Sleep(10 * time.Millisecond) // a distinct modification time
	c2, k2, err := ca.Issue(Leaf{Roles: []string{"gateway"}, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The certificate alone: it does not match the key yet.
	if err := writeAtomic(cf, c2, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := kp.Certificate().Leaf.SerialNumber; got.Cmp(first) != 0 {
		t.Fatal("a mismatched pair replaced the good one")
	}
	if err := writeAtomic(kf, k2, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := kp.Certificate().Leaf.SerialNumber; got.Cmp(first) == 0 {
		t.Fatal("the renewed pair is not served")
	}
	if len(reloads) != 2 || reloads[0] == nil || reloads[1] != nil {
		t.Fatalf("reload reports %v", reloads)
	}
}
