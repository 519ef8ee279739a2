package blobstore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// writerEnv, when set, makes the test binary the writer process of
// TestWriterKilledMidUpload instead of running tests.
const writerEnv = "COFFER_BLOB_WRITER"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(writerEnv); cfg != "" {
		os.Exit(writerMain(cfg))
	}
	os.Exit(m.Run())
}

// writerConfig tells the writer process where everything is.
type writerConfig struct {
	Meta   string
	Bucket string
	Nodes  []string
}

// stallReader yields n bytes, then blocks forever (the writer is killed
// while it waits).
type stallReader struct {
	n     int
	ready chan struct{}
}

func (r *stallReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		close(r.ready)
		select {}
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

// writerMain is a gateway's object layer reduced to its writes: it commits
// one object, leaves one whose shards are durable uncommitted (as a writer
// killed between its blob write and its metadata commit would), and starts
// a third that never finishes streaming; then it waits to be killed.
func writerMain(js string) int {
	var wc writerConfig
	if err := json.Unmarshal([]byte(js), &wc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	mc, err := runtime.Dial(wc.Meta)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	meta := metadatav1.NewMetadataServiceClient(mc)
	var clients []blobv1.BlobServiceClient
	for _, a := range wc.Nodes {
		cc, err := runtime.Dial(a, client.DialOptions()...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		clients = append(clients, blobv1.NewBlobServiceClient(cc))
	}
	c, err := client.Open(ctx, func(context.Context) ([]blobv1.BlobServiceClient, error) { return clients, nil }, ec42)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(os.Stderr, err); return 1 }

	const committedSize = 1<<20 + 7
	p, err := c.Put(ctx, client.NewBlobID(), randomReader(1, committedSize), committedSize)
	if err != nil {
		return fail(err)
	}
	if _, err := meta.CommitObject(ctx, &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{
		BucketId: wc.Bucket, Key: "committed", Size: committedSize, Etag: "e",
		Segments: []*metadatav1.Segment{{Size: committedSize, Placement: p}},
	}}); err != nil {
		return fail(err)
	}
	fmt.Println("committed", p.GetBlobId())

	p, err = c.Put(ctx, client.NewBlobID(), randomReader(2, 2<<20), 2<<20)
	if err != nil {
		return fail(err)
	}
	fmt.Println("uncommitted", p.GetBlobId())

	r := &stallReader{n: 3 << 20, ready: make(chan struct{})}
	id := client.NewBlobID()
	go c.Put(ctx, id, r, 8<<20)
	<-r.ready
	fmt.Println("streaming", id)
	select {}
}

// TestWriterKilledMidUpload is the third acceptance test: the
// writer is killed (SIGKILL) mid-upload; no partial object becomes
// visible, and the garbage collector removes the shards it left once the
// grace period (30 s, as in spec/reliability.md §4) has passed.
func TestWriterKilledMidUpload(t *testing.T) {
	t.Parallel()
	m := startMeta(t)
	cfg := healing()
	cfg.GCGrace = 30 * time.Second
	cfg.GCInterval = time.Second
	cl := blobstoretest.StartCluster(t, 6, cfg, blobstore.Deps{Meta: m})
	wc := writerConfig{Meta: m.addr, Bucket: m.bucket}
	for _, n := range cl.Nodes {
		wc.Nodes = append(wc.Nodes, n.Addr)
	}
	js, _ := json.Marshal(wc)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	blobs := map[string]string{}
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	timeout := time.After(90 * time.Second)
	for len(blobs) < 3 {
		select {
		case l, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("writer exited early; got %v", blobs)
			}
			what, id, _ := strings.Cut(l, " ")
			blobs[what] = id
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("writer did not get going; got %v", blobs)
		}
	}
	// The writer is killed with one put streaming and one uncommitted.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	go io.Copy(io.Discard, out)

	// Nothing partial is visible: only the committed object exists.
	resp, err := m.ListObjectVersions(ctx, &metadatav1.ListObjectVersionsRequest{BucketId: m.bucket, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if v := resp.GetVersions(); len(v) != 1 || v[0].GetKey() != "committed" {
		t.Fatalf("versions after the writer died: %v", v)
	}
	c := cl.Client(ec42)
	if err := readBack(c, m.placement(t, blobs["committed"]), 1, 1<<20+7); err != nil {
		t.Fatal(err)
	}
	// The aborted stream left nothing on any node, not even a temp file.
	eventually(t, 20*time.Second, "aborted shard writes discarded", func() error {
		for _, n := range cl.Nodes {
			if ents, _ := os.ReadDir(disk.TempDir(n.Config.DataDir)); len(ents) > 0 {
				return fmt.Errorf("node %s has %d writes in progress", n.ID, len(ents))
			}
			if f := shardFiles(t, n, blobs["streaming"]); len(f) > 0 {
				return fmt.Errorf("shards of the aborted put: %v", f)
			}
		}
		return nil
	})
	// The uncommitted blob's shards are durable, unreferenced: garbage,
	// kept for the grace period, then collected.
	count := func(id string) int {
		n := 0
		for _, node := range cl.Nodes {
			n += len(shardFiles(t, node, id))
		}
		return n
	}
	if n := count(blobs["uncommitted"]); n < 5 {
		t.Fatalf("%d shards of the uncommitted blob before the grace period", n)
	}
	if _, err := m.CheckBlobReferences(ctx, &metadatav1.CheckBlobReferencesRequest{BlobIds: []string{blobs["uncommitted"]}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "orphan shards collected", func() error {
		if n := count(blobs["uncommitted"]); n > 0 {
			return fmt.Errorf("%d orphan shards left", n)
		}
		return nil
	})
	if n := count(blobs["committed"]); n != 6 {
		t.Fatalf("%d shards of the committed object left", n)
	}
	if err := readBack(c, m.placement(t, blobs["committed"]), 1, 1<<20+7); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetObject(ctx, &metadatav1.GetObjectRequest{BucketId: m.bucket, Key: "uncommitted"}); !errs.Is(err, errs.ObjectNotFound) {
		t.Fatalf("uncommitted object: %v", err)
	}
}
