package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/coffer-project/coffer/metadata/metadatatest"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// The linearizability model: one register per object key. A put
// (CommitObject) sets the key's current ETag; a get (linearizable GetObject)
// must observe the current ETag, or "not found" before any put.
type regInput struct {
	put        bool
	key, value string
}

type regOutput struct {
	value string
	found bool
}

var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(regInput).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		if in.put {
			return true, in.value
		}
		out := output.(regOutput)
		if !out.found {
			return state.(string) == "", state
		}
		return out.value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.put {
			return fmt.Sprintf("put(%s, %s)", in.key, in.value)
		}
		out := output.(regOutput)
		if !out.found {
			return fmt.Sprintf("get(%s) → not found", in.key)
		}
		return fmt.Sprintf("get(%s) → %s", in.key, out.value)
	},
}

// TestKillLeaderLinearizable runs 16 clients doing puts and linearizable
// gets on 8 keys against a 3-process cluster (production Raft timeouts),
// kills the leader with SIGKILL, and keeps going: writes resume on a new
// leader, the recorded history (failed puts count as "maybe applied") is
// linearizable, and after the old leader restarts every acknowledged write
// is on every node and the three state files are identical.
func TestKillLeaderLinearizable(t *testing.T) {
	c := newProcCluster(t, 3)
	l := c.leader(30 * time.Second)
	bresp, err := c.meta[l].CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "bucket-one"}})
	if err != nil {
		t.Fatal(err)
	}
	bucketID := bresp.Bucket.BucketId

	const clients, keys = 16, 12
	var (
		mu          sync.Mutex
		history     []porcupine.Operation
		acked       []string
		wg          sync.WaitGroup
		unknownErrs = map[string]int{}
	)
	start := time.Now()
	stamp := func() int64 { return int64(time.Since(start)) }
	kill := make(chan struct{})
	var killedAt int64
	end := start.Add(11 * time.Second)
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(cl), 7))
			node := cl % 3
			for n := 0; time.Now().Before(end); n++ {
				key := fmt.Sprintf("key-%d", rng.IntN(keys))
				// Longer than a node waits for a leader (LeaderWait, 5s), so
				// a call that reached no leader says so (NotLeader) rather
				// than timing out with an unknown outcome.
				cctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
				op := porcupine.Operation{ClientId: cl, Call: stamp()}
				var err error
				if rng.IntN(2) == 0 {
					in := regInput{put: true, key: key, value: fmt.Sprintf("c%02d-%05d", cl, n)}
					op.Input = in
					var resp *metadatav1.CommitObjectResponse
					resp, err = c.meta[node].CommitObject(cctx, &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{
						BucketId: bucketID, Key: key, Etag: in.value, Size: 1,
					}})
					op.Return, op.Output = stamp(), regOutput{}
					if err != nil && !notApplied(err) {
						op.Return = math.MaxInt64 // outcome unknown: it may apply at any later point
						mu.Lock()
						unknownErrs[err.Error()]++
						mu.Unlock()
					} else if err == nil {
						mu.Lock()
						acked = append(acked, resp.Version.VersionId)
						mu.Unlock()
					}
				} else {
					op.Input = regInput{key: key}
					var resp *metadatav1.GetObjectResponse
					resp, err = c.meta[node].GetObject(cctx, &metadatav1.GetObjectRequest{BucketId: bucketID, Key: key})
					op.Return = stamp()
					switch {
					case err == nil:
						op.Output = regOutput{value: resp.Version.Etag, found: true}
					case errs.KindOf(err) == errs.ObjectNotFound:
						op.Output, err = regOutput{}, nil
					}
				}
				cancel()
				if err != nil {
					node = (node + 1) % 3 // that node may be down: try the next
					if op.Input.(regInput).put && !notApplied(err) {
						mu.Lock()
						history = append(history, op)
						mu.Unlock()
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				history = append(history, op)
				mu.Unlock()
			}
		}()
	}
	go func() {
		time.Sleep(3 * time.Second)
		killedAt = stamp()
		c.procs[l].Kill()
		close(kill)
	}()
	wg.Wait()
	<-kill

	// Writes resumed: the first put called after the kill that succeeded.
	var firstAfter int64 = math.MaxInt64
	var okPuts []int64
	for _, op := range history {
		if op.Input.(regInput).put && op.Return != math.MaxInt64 {
			okPuts = append(okPuts, op.Return)
			if op.Call > killedAt && op.Return < firstAfter {
				firstAfter = op.Return
			}
		}
	}
	if firstAfter == math.MaxInt64 {
		t.Fatal("no write succeeded after the leader was killed")
	}
	sort.Slice(okPuts, func(i, j int) bool { return okPuts[i] < okPuts[j] })
	var gap int64
	for i := 1; i < len(okPuts); i++ {
		if okPuts[i] > killedAt && okPuts[i-1] < killedAt+int64(8*time.Second) {
			gap = max(gap, okPuts[i]-max(okPuts[i-1], killedAt))
		}
	}
	unknown := 0
	for _, op := range history {
		if op.Return == math.MaxInt64 {
			unknown++
		}
	}
	t.Logf("leader kill → first successful write %.2fs (longest gap between successful writes %.2fs); %d ops, %d acknowledged writes, %d unknown",
		time.Duration(firstAfter-killedAt).Seconds(), time.Duration(gap).Seconds(), len(history), len(acked), unknown)

	t.Logf("unknown outcomes: %v", unknownErrs)
	res, info := porcupine.CheckOperationsVerbose(registerModel, history, 60*time.Second)
	if res != porcupine.Ok {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("coffer-linearizability-%d.html", time.Now().UnixNano()))
		if err := porcupine.VisualizePath(registerModel, info, path); err == nil {
			t.Logf("history visualisation: %s", path)
		}
		t.Fatalf("linearizability check: %s", res)
	}

	c.procs[l].Start()
	c.leader(60 * time.Second)
	c.converge()
	c.assertAckedOnAll(bucketID, acked)
	c.assertIdenticalFiles()
}

// notApplied reports whether a failed call certainly changed nothing: the
// metadata service answers NotLeader only for calls that reached no leader,
// and a call that could not connect never left the client (neverSent).
func notApplied(err error) bool {
	return errs.KindOf(err) == errs.NotLeader || metadatatest.NeverSent(err)
}

// TestFullClusterRestart kills every node at once under write load
// (SIGKILL: nothing flushed at exit), restarts the cluster, and checks that
// every acknowledged write survived; then it changes membership with
// `coffer admin`, stops the cluster gracefully, compares the state files,
// and starts it once more.
func TestFullClusterRestart(t *testing.T) {
	c := newProcCluster(t, 3)
	l := c.leader(30 * time.Second)
	bresp, err := c.meta[l].CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "bucket-one"}})
	if err != nil {
		t.Fatal(err)
	}
	bucketID := bresp.Bucket.BucketId

	var mu sync.Mutex
	var acked []string
	write := func(w, n, node int) error {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := c.meta[node].CommitObject(cctx, &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{
			BucketId: bucketID, Key: fmt.Sprintf("w%02d/%06d", w, n), Size: 1,
		}})
		if err == nil {
			mu.Lock()
			acked = append(acked, resp.Version.VersionId)
			mu.Unlock()
		}
		return err
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				if write(w, n, w%3) != nil {
					return // the cluster is gone
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	for _, p := range c.procs {
		p.Kill()
	}
	wg.Wait()
	t.Logf("%d writes acknowledged before every node was killed", len(acked))

	c.startAll()
	c.leader(60 * time.Second)
	c.assertAckedOnAll(bucketID, acked)
	for n := range 50 {
		if err := write(99, n, n%3); err != nil {
			t.Fatal(err)
		}
	}

	// Membership through the admin command: m4 starts empty (no bootstrap,
	// no peers), is added, catches up, and is removed again.
	bin := metadatatest.Binary(t)
	ports := metadatatest.FreePorts(t, 2)
	m4 := metadatatest.StartProcess(t, bin, "serve", "--roles=metadata", "--data-dir="+t.TempDir(),
		"--grpc-addr="+ports[0], "--admin-addr=", "--metadata.node-id=m4", "--metadata.raft-addr="+ports[1],
		"--metadata.bootstrap=false")
	admin := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"admin"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("coffer admin %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	admin("add-voter", "--addr="+c.grpc[1], "--node-id=m4", "--raft-addr="+ports[1], "--grpc-addr="+ports[0])
	var st metadatav1.GetClusterStatusResponse
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := exec.Command(bin, "admin", "status", "--json", "--addr="+ports[0]).CombinedOutput()
		raw := string(out)
		if err != nil { // m4 may still be starting
			if time.Now().After(deadline) {
				t.Fatalf("coffer admin status on m4: %v\n%s", err, raw)
			}
			continue
		}
		var js struct {
			LeaderID     string `json:"leaderId"`
			AppliedIndex string `json:"appliedIndex"`
			Members      []any  `json:"members"`
		}
		if err := json.Unmarshal([]byte(raw), &js); err != nil {
			t.Fatalf("status JSON: %v\n%s", err, raw)
		}
		st.LeaderId = js.LeaderID
		if js.LeaderID != "" && len(js.Members) == 4 && js.AppliedIndex == fmt.Sprint(c.statuses()[c.leader(10*time.Second)].AppliedIndex) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("m4 did not catch up: %s", raw)
		}
	}
	if text := admin("status", "--addr="+c.grpc[0]); !strings.Contains(text, "m4") || !strings.Contains(text, "leader") {
		t.Fatalf("status text:\n%s", text)
	}
	admin("remove-server", "--addr="+c.grpc[2], "--node-id=m4")
	m4.Stop(10 * time.Second)
	if st := c.statuses()[0]; len(st.Members) != 3 {
		t.Fatalf("members after remove-server: %v", st.Members)
	}

	c.converge()
	c.assertIdenticalFiles()
	c.startAll()
	c.leader(60 * time.Second)
	c.assertAckedOnAll(bucketID, acked)
	if err := write(100, 0, 0); err != nil {
		t.Fatal(err)
	}
}
