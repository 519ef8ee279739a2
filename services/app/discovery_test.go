package app

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestDiscoveryFlags: etcd discovery excludes the static lists, the lease
// TTL has etcd's floor, and COFFER_ETCD_ENDPOINTS is the default endpoint
// list (so `coffer admin` in a container finds etcd by itself).
func TestDiscoveryFlags(t *testing.T) {
	base := []string{"--data-dir", t.TempDir()}
	cases := []struct {
		args []string
		bad  string
	}{
		{[]string{"--etcd-endpoints=etcd:2379", "--metadata-addrs=m:9100"}, "exclude each other"},
		{[]string{"--etcd-endpoints=etcd:2379", "--etcd-lease-ttl=1s"}, "at least 2s"},
		{[]string{"--etcd-endpoints=etcd:2379", "--etcd-prefix="}, "etcd-prefix"},
		{[]string{"--etcd-endpoints=etcd:2379", "--advertise-addr=nohost"}, "advertise-addr"},
		{[]string{"--etcd-endpoints=etcd:2379", "--advertise-addr=blobstore-1:9100", "--etcd-lease-ttl=5s"}, ""},
	}
	for _, c := range cases {
		_, _, err := ParseConfig("test", append(base, c.args...))
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%v: got %v, want an error about %q", c.args, err, c.bad)
		}
	}

	t.Setenv("COFFER_ETCD_ENDPOINTS", "etcd-a:2379,etcd-b:2379")
	cfg, _, err := ParseConfig("test", base)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Discovery.UsesEtcd() || cfg.Discovery.EtcdEndpoints != "etcd-a:2379,etcd-b:2379" || cfg.Discovery.LeaseTTL != 10*time.Second {
		t.Fatalf("discovery config from the environment: %+v", cfg.Discovery)
	}
}

// TestWithHost: an address that listens on every interface is advertised
// under a host name; a specific one as it is.
func TestWithHost(t *testing.T) {
	host, _ := os.Hostname()
	cases := map[[2]string]string{
		{"[::]:9100", "blobstore-1"}:     "blobstore-1:9100",
		{"0.0.0.0:9000", "gateway-2"}:    "gateway-2:9000",
		{":9000", "gateway-2"}:           "gateway-2:9000",
		{"127.0.0.1:9100", "elsewhere"}:  "127.0.0.1:9100",
		{"metadata-1:9100", "elsewhere"}: "metadata-1:9100",
		{"[::]:9100", ""}:                host + ":9100",
	}
	for in, want := range cases {
		if got := withHost(in[0], in[1]); got != want {
			t.Errorf("withHost(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
