// Package etcdtest runs a real etcd (go.etcd.io/etcd/server/v3/embed) inside
// a test process, on loopback ports and a temporary directory, and can stop
// and restart it on the same ports and data to stage an etcd outage.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is an embedded single-member etcd.
type Server struct {
	t        testing.TB
	dir      string
	client   url.URL
	peer     url.URL
	mu       sync.Mutex
	etcd     *embed.Etcd
	Endpoint string // host:port of the client listener
}

// Start starts an etcd that is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ports := freePorts(t, 2)
	s := &Server{
		t:      t,
		dir:    t.TempDir(),
		client: url.URL{Scheme: "http", Host: ports[0]},
		peer:   url.URL{Scheme: "http", Host: ports[1]},
	}
	s.Endpoint = ports[0]
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "etcdtest"
	cfg.Dir = s.dir
	cfg.ListenClientUrls = []url.URL{s.client}
	cfg.AdvertiseClientUrls = []url.URL{s.client}
	cfg.ListenPeerUrls = []url.URL{s.peer}
	cfg.AdvertisePeerUrls = []url.URL{s.peer}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, s.peer.String())
	// A test's etcd holds a handful of keys that are rewritten on restart;
	// fsync would only slow the shared disk down.
	cfg.UnsafeNoFsync = true
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	var e *embed.Etcd
	var err error
	// The ports were free a moment ago; after a Stop the old listener may
	// take a moment to release them.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if e, err = embed.StartEtcd(cfg); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		s.t.Fatalf("etcdtest: start: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		s.t.Fatal("etcdtest: etcd did not become ready within 30s")
	}
	s.mu.Lock()
	s.etcd = e
	s.mu.Unlock()
}

// Stop stops etcd (an outage); it is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	e := s.etcd
	s.etcd = nil
	s.mu.Unlock()
	if e != nil {
		e.Close()
	}
}

// Restart starts etcd again on the same ports and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

func freePorts(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}
