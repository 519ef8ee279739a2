//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/admin"
)

// The cluster under test: its own compose project, subnet and credentials,
// so it never meets a cluster started with `make up`.
const (
	project   = "coffer-e2e"
	netPrefix = "10.219.0"
	keyID     = "00e2eclustertestkey0000001"
	secretKey = "K00e2eclustertestsecret000001"
	masterKey = "K00e2emastersecret00000000001"
	region    = "us-east-1"
	// adminHost is the container operator commands run in (it holds the
	// admin certificate); no scenario kills it.
	adminHost = "admin"
	// coffers is the number of coffer instances that register in etcd.
	coffers = 3 + 6 + 2 + 2 + 2
)

// cluster drives the compose project.
type cluster struct {
	t        *testing.T
	file     string
	env      []string
	gateways [2]string // http://127.0.0.1:port of gateway-1 and gateway-2
	consoles [2]string // their web consoles
}

// startCluster brings the cluster up and waits until both gateways answer.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	file, err := filepath.Abs("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []string{"coffer:dev", "coffer-etcd:3.7.3"} {
		if out, err := exec.Command("docker", "image", "inspect", img).CombinedOutput(); err != nil {
			t.Fatalf("image %s is missing (run `make images` or `make e2e`): %v\n%s", img, err, out)
		}
	}
	// The gateways' ports, and their consoles' (on free ports too, so a
	// running `make up` cluster or a local coffer does not collide).
	ports := freePorts(t, 4)
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	c := &cluster{t: t, file: file}
	c.env = append(os.Environ(),
		"COFFER_CLUSTER_KEY="+base64.StdEncoding.EncodeToString(kek),
		"COFFER_ACCESS_KEY_ID="+keyID,
		"COFFER_SECRET_ACCESS_KEY="+secretKey,
		"COFFER_MASTER_APPLICATION_KEY="+masterKey,
		"COFFER_BIND=127.0.0.1",
		"COFFER_GATEWAY1_PORT="+portOf(ports[0]),
		"COFFER_GATEWAY2_PORT="+portOf(ports[1]),
		"COFFER_CONSOLE1_PORT="+portOf(ports[2]),
		"COFFER_CONSOLE2_PORT="+portOf(ports[3]),
		"COFFER_NET="+netPrefix,
		// Repair scans every 15 s, so restarted nodes are repaired within
		// the test; nodes are never down long enough for shards to move.
		"COFFER_REPAIR_INTERVAL=15s",
		"COFFER_REPAIR_DOWN_AFTER=15m",
	)
	c.gateways = [2]string{"http://" + ports[0], "http://" + ports[1]}
	c.consoles = [2]string{"http://" + ports[2], "http://" + ports[3]}
	// Leftovers of an interrupted run would hold the subnet and names.
	_, _ = c.compose(2*time.Minute, "down", "-v", "--remove-orphans")
	t.Cleanup(c.teardown)
	c.watchdog()
	start := time.Now()
	if out, err := c.compose(10*time.Minute, "up", "-d"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	for _, gw := range c.gateways {
		c.waitHTTP(gw, 3*time.Minute)
	}
	t.Logf("cluster up in %.0fs (gateways at %s and %s)", time.Since(start).Seconds(), c.gateways[0], c.gateways[1])
	return c
}

// watchdog tears the cluster down and exits two minutes before the test
// binary's -timeout would: a timeout panics without running cleanups, and
// would leave sixteen containers running (a hung client library in a
// conformance suite must not cost the machine its cluster).
func (c *cluster) watchdog() {
	deadline, ok := c.t.Deadline()
	if !ok {
		return
	}
	time.AfterFunc(time.Until(deadline)-2*time.Minute, func() {
		fmt.Fprintln(os.Stderr, "e2e: the test is about to time out; tearing the cluster down")
		if out, err := c.compose(time.Minute, "logs", "--no-color", "--tail=30"); err == nil {
			fmt.Fprintln(os.Stderr, out)
		}
		_, _ = c.compose(90*time.Second, "down", "-v", "--remove-orphans", "-t", "5")
		os.Exit(1)
	})
}

// teardown removes containers, networks and volumes; on failure it first
// shows the end of every container's log.
func (c *cluster) teardown() {
	if c.t.Failed() {
		if out, err := c.compose(time.Minute, "logs", "--no-color", "--tail=30"); err == nil {
			c.t.Logf("container logs (last lines):\n%s", out)
		}
	}
	if out, err := c.compose(3*time.Minute, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
		c.t.Errorf("compose down: %v\n%s", err, out)
	}
}

// compose runs docker-compose on the project.
func (c *cluster) compose(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	bin := os.Getenv("COMPOSE")
	if bin == "" {
		bin = "docker-compose"
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"-p", project, "-f", c.file}, args...)...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// docker runs a docker command.
func (c *cluster) docker(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return string(out), err
}

// container is the container name of a compose service.
func container(service string) string { return project + "_" + service + "_1" }

// network is the compose project's internal network.
const network = project + "_internal"

// must runs a docker command and fails the test if it fails.
func (c *cluster) must(args ...string) {
	c.t.Helper()
	if out, err := c.docker(2*time.Minute, args...); err != nil {
		c.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (c *cluster) kill(service string)  { c.must("kill", container(service)) }
func (c *cluster) start(service string) { c.must("start", container(service)) }
func (c *cluster) stop(service string)  { c.must("stop", "-t", "10", container(service)) }

// disconnect cuts a service off the internal network (packets are dropped,
// connections hang: a network partition).
func (c *cluster) disconnect(service string) {
	c.must("network", "disconnect", network, container(service))
}

// connect puts it back with the address it had (metadata nodes have fixed
// addresses: their Raft peers know them by it).
func (c *cluster) connect(service, ip string) {
	c.must("network", "connect", "--ip", ip, network, container(service))
}

// report runs `coffer admin cluster --json` inside the cluster.
func (c *cluster) report(verify bool) (*admin.ClusterReport, error) {
	args := []string{"exec", container(adminHost), "/coffer", "admin", "cluster", "--json", "--timeout=50s"}
	if verify {
		args = append(args, "--verify")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	rep := &admin.ClusterReport{}
	if jerr := json.Unmarshal(stdout.Bytes(), rep); jerr != nil {
		return nil, fmt.Errorf("admin cluster: %v (%v): %s%s", jerr, err, stdout.String(), stderr.String())
	}
	return rep, nil
}

// waitHTTP waits until the gateway answers HTTP at all.
func (c *cluster) waitHTTP(url string, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get(url + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("gateway %s did not answer within %v: %v", url, d, err)
		}
		time.Sleep(time.Second)
	}
}

// metadataIP is the fixed internal address of metadata node n (1-3).
func metadataIP(n int) string { return fmt.Sprintf("%s.1%d", netPrefix, n) }

func freePorts(t *testing.T, n int) []string {
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

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// admin runs `coffer admin args...` in the admin container and returns its
// exit error and output.
func (c *cluster) admin(timeout time.Duration, args ...string) (string, error) {
	return c.docker(timeout, append([]string{"exec", container(adminHost), "/coffer", "admin"}, args...)...)
}

// bare runs `coffer args...` in a new container on the internal network
// with no certificate at all (an intruder that got onto the network).
func (c *cluster) bare(timeout time.Duration, args ...string) (string, error) {
	return c.docker(timeout, append([]string{"run", "--rm", "--network", network, "coffer:dev"}, args...)...)
}
