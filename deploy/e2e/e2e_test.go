//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/admin"
)

// TestCluster is the whole end-to-end run: conformance suites, then the
// fault scenarios under load, then the final reads and the figures.
func TestCluster(t *testing.T) {
	began := time.Now()
	c := startCluster(t)
	fig := &figures{}
	fig.note("cluster up %.0f s after `compose up`", time.Since(began).Seconds())

	s3t := conformance.Target{Endpoint: c.gateways[0], AccessKeyID: keyID, SecretKey: secretKey, Region: region}
	b2t := conformance.B2Target{Endpoint: c.gateways[1], KeyID: keyID, Key: secretKey}
	suites := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"S3Core", func(t *testing.T) { conformance.S3Core(t, s3t) }},
		{"S3Multipart", func(t *testing.T) { conformance.S3Multipart(t, s3t) }},
		{"S3Fidelity", func(t *testing.T) { conformance.S3Fidelity(t, s3t) }},
		{"B2Core", func(t *testing.T) { conformance.B2Core(t, b2t, conformance.B2Options{}) }},
		{"B2Fidelity", func(t *testing.T) { conformance.B2Fidelity(t, b2t) }},
		{"CrossDialect", func(t *testing.T) { conformance.CrossDialect(t, s3t, b2t) }},
		{"Consoles", func(t *testing.T) { consoles(t, c) }},
	}
	// COFFER_E2E_SUITES narrows the suites (comma-separated names, or
	// "none") when working on the fault scenarios; CI runs them all.
	want := os.Getenv("COFFER_E2E_SUITES")
	confStart := time.Now()
	var ran []string
	t.Run("Conformance", func(t *testing.T) {
		for _, s := range suites {
			if want == "" || slices.Contains(strings.Split(want, ","), s.name) {
				ran = append(ran, s.name)
				t.Run(s.name, s.run)
			}
		}
	})
	fig.note("conformance suites %v against the gateways: %.0f s, %s", ran, time.Since(confStart).Seconds(), passed(t))
	t.Run("MutualTLS", func(t *testing.T) { mutualTLS(t, c, fig) })

	l := newLoad(t, c, "e2e-load")
	l.start()
	fig.phase("warm-up")
	time.Sleep(10 * time.Second)

	t.Run("KillMetadataLeader", func(t *testing.T) { killMetadataLeader(t, c, l, fig) })
	t.Run("KillBlobstores", func(t *testing.T) { killBlobstores(t, c, l, fig) })
	t.Run("PartitionFollower", func(t *testing.T) { partitionFollower(t, c, l, fig) })
	t.Run("StopEtcd", func(t *testing.T) { stopEtcd(t, c, l, fig) })
	t.Run("KillGateway", func(t *testing.T) { killGateway(t, c, l, fig) })
	l.stop()
	t.Run("FinalReads", func(t *testing.T) { finalReads(t, l, fig) })

	fig.note("whole e2e run (cluster start to final reads): %.0f s", time.Since(began).Seconds())
	fig.print(os.Stdout, l.snapshot())
}

func passed(t *testing.T) string {
	if t.Failed() {
		return "FAILED"
	}
	return "passed"
}

// mustReport asks `coffer admin cluster`, retrying a few times.
func mustReport(t *testing.T, c *cluster, verify bool) *admin.ClusterReport {
	t.Helper()
	var err error
	for i := 0; i < 5; i++ {
		var rep *admin.ClusterReport
		if rep, err = c.report(verify); err == nil && rep.Leader != "" {
			return rep
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("cluster report: %v", err)
	return nil
}

// metadataService maps a Raft node id (m1..m3) to its compose service.
func metadataService(t *testing.T, id string) (string, int) {
	t.Helper()
	if len(id) != 2 || id[0] != 'm' || id[1] < '1' || id[1] > '3' {
		t.Fatalf("unexpected metadata node id %q", id)
	}
	n := int(id[1] - '0')
	return fmt.Sprintf("metadata-%d", n), n
}

// waitCatchUp waits until metadata node id has applied at least the
// commit index the leader reported after since, and returns how long after
// since that was.
func waitCatchUp(t *testing.T, c *cluster, id string, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	var target uint64
	for deadline := since.Add(limit); time.Now().Before(deadline); time.Sleep(time.Second) {
		rep, err := c.report(false)
		if err != nil {
			continue
		}
		var applied uint64
		found := false
		for _, m := range rep.Metadata {
			if m.NodeID == rep.Leader && m.Error == "" && target == 0 {
				target = m.CommitIndex
			}
			if m.NodeID == id && m.Error == "" {
				applied, found = m.AppliedIndex, true
			}
		}
		if target > 0 && found && applied >= target {
			return time.Since(since)
		}
	}
	t.Errorf("metadata node %s did not catch up within %v (target index %d)", id, limit, target)
	return -1
}

func killMetadataLeader(t *testing.T, c *cluster, l *load, fig *figures) {
	rep := mustReport(t, c, false)
	svc, _ := metadataService(t, rep.Leader)
	const phase = "kill-metadata-leader"
	l.setPhase(phase)
	fig.phase(phase)
	c.kill(svc)
	// The clock starts once `docker kill` has returned: the container is
	// dead then, while writes begun during the docker call could still
	// reach the old leader and would make failover look instant.
	killed := time.Now()
	for time.Since(killed) < 30*time.Second && resumedAfter(l.snapshot(), killed) < 0 {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Until(killed.Add(15 * time.Second)))
	ops := l.snapshot()
	resumed, gap := resumedAfter(ops, killed), gapAround(ops, killed)
	after := mustReport(t, c, false)
	fig.note("kill metadata leader %s: writes resumed %.1f s after the kill (target ≤ 10 s), longest gap between acknowledged writes %.1f s; new leader %s",
		rep.Leader, resumed.Seconds(), gap.Seconds(), after.Leader)
	if resumed < 0 || resumed > 10*time.Second {
		t.Errorf("writes resumed %v after the leader was killed, want ≤ 10s", resumed)
	}
	if after.Leader == rep.Leader || after.Leader == "" {
		t.Errorf("leader after the kill: %q (was %q)", after.Leader, rep.Leader)
	}

	const rphase = "restart-old-leader"
	l.setPhase(rphase)
	fig.phase(rphase)
	restarted := time.Now()
	c.start(svc)
	d := waitCatchUp(t, c, rep.Leader, restarted, 2*time.Minute)
	fig.note("old leader %s restarted: caught up %.1f s after its start", rep.Leader, d.Seconds())
}

func killBlobstores(t *testing.T, c *cluster, l *load, fig *figures) {
	const one, two, verify, restart = "blobstore-1-down", "blobstore-2-down", "blobstore-2-down-read-all", "blobstores-restarted"
	l.setPhase(one)
	fig.phase(one)
	c.kill("blobstore-1")
	time.Sleep(20 * time.Second)

	l.setPhase(two)
	fig.phase(two)
	c.kill("blobstore-2")
	time.Sleep(20 * time.Second)

	l.setPhase(verify)
	fig.phase(verify)
	acked := l.ackedKeys()
	start := time.Now()
	bad := l.verifyAll(l.clients[1], acked)
	fig.note("two blobstore nodes down: %d acknowledged objects read back in %.0f s, %d not byte-exact %v",
		len(acked), time.Since(start).Seconds(), badCount(bad), summarize(bad))
	if len(bad) > 0 {
		t.Errorf("with two blobstore nodes down, objects did not read back: %v", summarize(bad))
	}

	ops := l.snapshot()
	c1, c2 := count(ops, one, nil), count(ops, two, nil)
	fig.note("one blobstore node down: %d writes ok, %d failed; %d reads ok, %d failed (target: none fail)",
		c1.writesOK, c1.writeFailures(), c1.readsOK, c1.readFailures())
	if c1.writeFailures() > 0 || c1.readFailures() > 0 || c1.writesOK == 0 {
		t.Errorf("with one blobstore node down: %s (writes ok %d)", classes(c1), c1.writesOK)
	}
	unclean := 0
	for class, n := range c2.writeErrs {
		if !strings.HasPrefix(class, "503") {
			unclean += n
		}
	}
	fig.note("two blobstore nodes down: %d writes ok, %d refused with 503, %d failed otherwise (target 0); %d reads failed, %d corrupt",
		c2.writesOK, c2.writeFailures()-unclean, unclean, c2.readFailures(), c2.corrupt)
	if unclean > 0 || c2.readFailures() > 0 {
		t.Errorf("with two blobstore nodes down: %s", classes(c2))
	}

	l.setPhase(restart)
	fig.phase(restart)
	restarted := time.Now()
	c.start("blobstore-1")
	c.start("blobstore-2")
	var rep *ClusterShards
	for deadline := restarted.Add(4 * time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Second) {
		r, err := c.report(true)
		if err != nil || r.Shards == nil || r.Shards.Error != "" {
			continue
		}
		rep = &ClusterShards{Blobs: r.Shards.Blobs, Degraded: r.Shards.Degraded, Unreadable: r.Shards.Unreadable, Missing: r.Shards.MissingShards}
		if r.Shards.Degraded == 0 && r.Shards.Unreadable == 0 {
			fig.note("blobstore nodes restarted: every shard of %d blobs present (files verified) %.0f s later", r.Shards.Blobs, time.Since(restarted).Seconds())
			return
		}
	}
	t.Errorf("shards not repaired within 4 minutes of the restart: %+v", rep)
	fig.note("blobstore nodes restarted: NOT repaired within 4 minutes: %+v", rep)
}

// ClusterShards is the part of the shard report the repair wait prints.
type ClusterShards struct{ Blobs, Degraded, Unreadable, Missing int }

func partitionFollower(t *testing.T, c *cluster, l *load, fig *figures) {
	rep := mustReport(t, c, false)
	var id string
	for _, m := range rep.Members {
		if !m.Leader {
			id = m.NodeID
			break
		}
	}
	svc, n := metadataService(t, id)
	const cut, healed = "follower-partitioned", "follower-reconnected"
	l.setPhase(cut)
	fig.phase(cut)
	c.disconnect(svc)
	time.Sleep(20 * time.Second)
	l.setPhase(healed)
	fig.phase(healed)
	reconnected := time.Now()
	c.connect(svc, metadataIP(n))
	d := waitCatchUp(t, c, id, reconnected, 2*time.Minute)
	cc := count(l.snapshot(), cut, nil)
	fig.note("metadata follower %s disconnected for 20 s: %d writes ok, %d failed; caught up %.1f s after reconnecting",
		id, cc.writesOK, cc.writeFailures(), d.Seconds())
	if cc.writeFailures() > 0 || cc.readFailures() > 0 {
		t.Errorf("with a follower partitioned: %s", classes(cc))
	}
}

func stopEtcd(t *testing.T, c *cluster, l *load, fig *figures) {
	const down, back = "etcd-stopped", "etcd-restarted"
	l.setPhase(down)
	fig.phase(down)
	stopped := time.Now()
	c.stop("etcd")
	time.Sleep(time.Until(stopped.Add(time.Minute)))
	l.setPhase(back)
	fig.phase(back)
	restarted := time.Now()
	c.start("etcd")
	registered := -1
	var n int
	for deadline := restarted.Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		rep, err := c.report(false)
		if err != nil || rep.EtcdError != "" {
			continue
		}
		n = 0
		for _, insts := range rep.Roles {
			n += len(insts)
		}
		if n == coffers {
			registered = int(time.Since(restarted).Seconds() + 0.5)
			break
		}
	}
	cd := count(l.snapshot(), down, nil)
	total := cd.writesOK + cd.readsOK + cd.writeFailures() + cd.readFailures()
	rate := 100 * float64(cd.writesOK+cd.readsOK) / float64(max(total, 1))
	fig.note("etcd stopped for 60 s: %d of %d requests succeeded (%.2f %%, target 100 %%, floor 99.9 %%); all %d instances registered again %d s after etcd restarted",
		cd.writesOK+cd.readsOK, total, rate, coffers, registered)
	if rate < 99.9 || cd.writesOK == 0 {
		t.Errorf("during the etcd outage: %s", classes(cd))
	}
	// spec/reliability.md F11: re-registration within the lease TTL
	// (10 s in the compose file) + 5 s of etcd being back.
	if registered < 0 || registered > 15 {
		t.Errorf("after etcd restarted %d of %d instances registered again within %d s (want all within 15 s)", n, coffers, registered)
	}
}

func killGateway(t *testing.T, c *cluster, l *load, fig *figures) {
	const phase = "gateway-1-killed"
	l.setPhase(phase)
	fig.phase(phase)
	c.kill("gateway-1")
	time.Sleep(15 * time.Second)
	ops := l.snapshot()
	other := count(ops, phase, func(o op) bool { return o.gw == 1 })
	dead := count(ops, phase, func(o op) bool { return o.gw == 0 })
	fig.note("gateway-1 killed: gateway-2 served %d writes and %d reads with %d errors (target 0); clients of gateway-1 saw %d errors",
		other.writesOK, other.readsOK, other.writeFailures()+other.readFailures(), dead.writeFailures()+dead.readFailures())
	if other.writeFailures()+other.readFailures() > 0 || other.writesOK == 0 {
		t.Errorf("gateway-2 while gateway-1 was dead: %s", classes(other))
	}
}

func finalReads(t *testing.T, l *load, fig *figures) {
	acked := l.ackedKeys()
	start := time.Now()
	bad := l.verifyAll(l.clients[1], acked)
	lost := badCount(bad)
	fig.note("acknowledged writes: %d; lost or not byte-exact at the end: %d %v (read back in %.0f s)",
		len(acked), lost, summarize(bad), time.Since(start).Seconds())
	if lost > 0 {
		t.Errorf("acknowledged writes lost: %v", summarize(bad))
	}

	// A failed write must have stored nothing, or — when its outcome was
	// unknown to the client (the commit happened, the answer was lost) —
	// the whole object. Never part of it or other bytes.
	failed := l.failedKeys()
	res := l.verifyAll(l.clients[1], failed)
	absent, half, unknown := 0, 0, 0
	for outcome, keys := range res {
		switch {
		case strings.HasPrefix(outcome, "404"):
			absent += len(keys)
		case outcome == "corrupt":
			half += len(keys)
		default:
			unknown += len(keys)
		}
	}
	complete := len(failed) - absent - half - unknown
	fig.note("failed writes: %d — absent %d, stored complete %d (outcome unknown to the client), half-stored %d (target 0), unreadable %d",
		len(failed), absent, complete, half, unknown)
	if half > 0 || unknown > 0 {
		t.Errorf("failed writes: %d half-stored, %d unreadable: %v", half, unknown, summarize(res))
	}
}

func badCount(bad map[string][]string) int {
	n := 0
	for _, keys := range bad {
		n += len(keys)
	}
	return n
}

// summarize shows each outcome with its count and one example key.
func summarize(bad map[string][]string) map[string]string {
	out := map[string]string{}
	for outcome, keys := range bad {
		out[outcome] = fmt.Sprintf("%d (e.g. %s)", len(keys), keys[0])
	}
	return out
}
