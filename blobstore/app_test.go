package blobstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/coffer-project/coffer/services/app"
	"github.com/coffer-project/coffer/services/clustertest"
)

// freeAddr returns a loopback address nobody listens on (processes that
// must know each other's addresses before they start need fixed ports).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startProcess(t *testing.T, args ...string) *app.Process {
	t.Helper()
	cfg, _, err := app.ParseConfig("blobstore-test", args)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	p, err := app.Start(sctx, cfg, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(ctx) })
	return p
}

// TestThroughTheApp runs the roles as a cluster would: six blobstore-only
// processes and one process with the other roles, its gateway coding new
// objects 4+2 (--ec.*). S3 objects survive two blobstore processes going
// away; writes then fail cleanly; the processes return and writes go on.
func TestThroughTheApp(t *testing.T) {
	meta := freeAddr(t)
	var addrs, dirs []string
	for range 6 {
		addrs = append(addrs, freeAddr(t))
		dirs = append(dirs, t.TempDir())
	}
	all := strings.Join(addrs, ",")
	node := func(i int) *app.Process {
		return startProcess(t, "--roles=blobstore", "--data-dir", dirs[i], "--grpc-addr", addrs[i], "--admin-addr", "",
			"--metadata-addrs", meta, "--blobstore-addrs", all)
	}
	nodes := make([]*app.Process, 6)
	for i := range nodes {
		nodes[i] = node(i)
	}
	gw := startProcess(t, append(clustertest.Args(t.TempDir()), "--roles=metadata,authd,corsd,gateway",
		"--grpc-addr", meta, "--blobstore-addrs", all, "--ec.data-shards=4", "--ec.parity-shards=2")...)
	// One attempt per call: the test sees every failure, and minio-go's own
	// retry of a failed PutObject races its previous attempt's body reader.
	s3, err := minio.New(gw.HTTPAddr(), &minio.Options{Creds: credentials.NewStaticV4(clustertest.AccessKeyID, clustertest.SecretKey, ""),
		Region: clustertest.Region, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "erasure-coded"
	if err := s3.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(randomReader(8, 10<<20+3))
	put := func(key string) error {
		_, err := s3.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		return err
	}
	get := func(key string) error {
		o, err := s3.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		got, err := io.ReadAll(o)
		if err == nil && !bytes.Equal(got, data) {
			err = fmt.Errorf("%s: bytes differ (%d of %d)", key, len(got), len(data))
		}
		return err
	}
	if err := put("a"); err != nil {
		t.Fatal(err)
	}
	if err := get("a"); err != nil {
		t.Fatal(err)
	}
	nodes[1].Stop(ctx)
	nodes[4].Stop(ctx)
	if err := get("a"); err != nil {
		t.Fatalf("two blobstore processes down: %v", err)
	}
	// Below the write quorum the put is a 503 (S3's fixed text; the
	// blobstore detail is in the gateway's log).
	if err := put("b"); minio.ToErrorResponse(err).StatusCode != 503 || minio.ToErrorResponse(err).Code != "ServiceUnavailable" {
		t.Fatalf("put with two of six blobstore processes down: %v", err)
	}
	if err := get("b"); err == nil {
		t.Fatal("a failed put is visible")
	}
	nodes[1], nodes[4] = node(1), node(4)
	eventually(t, 30*time.Second, "writes after the nodes returned", func() error { return put("c") })
	if err := get("c"); err != nil {
		t.Fatal(err)
	}
}
