package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"hash/crc32"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/disk"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

var ctx = context.Background()

// putRaw drives PutBlob by hand: header, then data in pieces of at most
// piece bytes.
func putRaw(c blobv1.BlobServiceClient, id string, size int64, data []byte, piece int) (*blobv1.BlobInfo, error) {
	stream, err := c.PutBlob(ctx)
	if err != nil {
		return nil, err
	}
	hdr := &blobv1.PutBlobRequest{Msg: &blobv1.PutBlobRequest_Header{Header: &blobv1.PutBlobHeader{BlobId: id, Size: size}}}
	if err := stream.Send(hdr); err != nil {
		return nil, err
	}
	for len(data) > 0 {
		n := min(piece, len(data))
		if err := stream.Send(&blobv1.PutBlobRequest{Msg: &blobv1.PutBlobRequest_Data{Data: data[:n]}}); err != nil {
			break // the real error comes from CloseAndRecv
		}
		data = data[n:]
	}
	resp, err := stream.CloseAndRecv()
	return resp.GetBlob(), err
}

// getRaw reads a range through GetBlob and returns the info and the data.
func getRaw(c blobv1.BlobServiceClient, id string, off, n int64) (*blobv1.BlobInfo, []byte, error) {
	stream, err := c.GetBlob(ctx, &blobv1.GetBlobRequest{BlobId: id, Offset: off, Length: n})
	if err != nil {
		return nil, nil, err
	}
	var info *blobv1.BlobInfo
	var data []byte
	for i := 0; ; i++ {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return info, data, nil
		}
		if err != nil {
			return info, data, err
		}
		if (i == 0) != (m.GetBlob() != nil) {
			return nil, nil, errors.New("blob info must come in the first message only")
		}
		if i == 0 {
			info = m.GetBlob()
		}
		if len(m.GetData()) > blobstore.GetMessageSize {
			return nil, nil, errors.New("message too large")
		}
		data = append(data, m.GetData()...)
	}
}

func TestServiceRPCs(t *testing.T) {
	n := blobstoretest.Start(t, blobstore.Config{Zone: "z1"})
	c := n.Client
	data := make([]byte, 3*blobstore.GetMessageSize+12345)
	rand.NewChaCha8([32]byte{1}).Read(data)

	info, err := putRaw(c, "b1", int64(len(data)), data, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if info.GetBlobId() != "b1" || info.GetSize() != int64(len(data)) || info.GetCrc32C() != crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) ||
		info.GetChunkSize() != uint32(disk.DefaultChunkSize) || info.GetCreateTimeUnixNanos() == 0 {
		t.Fatalf("put info %v", info)
	}
	if _, err := putRaw(c, "b2", -1, []byte("hello"), 2); err != nil {
		t.Fatal(err)
	}
	if st, err := c.StatBlob(ctx, &blobv1.StatBlobRequest{BlobId: "b1"}); err != nil || st.GetBlob().GetSize() != info.GetSize() {
		t.Fatalf("stat %v %v", st, err)
	}

	for _, r := range [][2]int64{{0, -1}, {0, 0}, {1, 1}, {100, 1 << 20}, {int64(len(data)) - 1, -1}, {int64(len(data)), -1}, {5, int64(len(data))}} {
		gi, got, err := getRaw(c, "b1", r[0], r[1])
		end := int64(len(data))
		if r[1] >= 0 {
			end = min(end, r[0]+r[1])
		}
		if err != nil || gi.GetSize() != info.GetSize() || !bytes.Equal(got, data[r[0]:end]) {
			t.Fatalf("get %v: %d bytes, err %v", r, len(got), err)
		}
	}
	if _, _, err := getRaw(c, "b1", int64(len(data))+1, -1); !errs.Is(err, errs.InvalidRange) {
		t.Fatalf("get past the end: %v", err)
	}
	if _, _, err := getRaw(c, "b1", -1, -1); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("negative offset: %v", err)
	}
	_, _, err = getRaw(c, "nope", 0, -1)
	if e := errs.As(err); !errs.Is(err, errs.ObjectNotFound) || e.Details["blob_id"] != "nope" {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := c.StatBlob(ctx, &blobv1.StatBlobRequest{BlobId: "../etc"}); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("stat bad id: %v", err)
	}

	// Malformed puts leave nothing.
	if _, err := putRaw(c, "short", 10, []byte("12345"), 5); !errs.Is(err, errs.IncompleteBody) {
		t.Fatalf("short put: %v", err)
	}
	if _, err := putRaw(c, "long", 3, []byte("12345"), 5); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("long put: %v", err)
	}
	if _, err := putRaw(c, "huge", 1<<43, []byte("x"), 1); !errs.Is(err, errs.ResourceExhausted) {
		t.Fatalf("put larger than the disk: %v", err)
	}
	if _, err := putRaw(c, "..", -1, nil, 1); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("put bad id: %v", err)
	}
	stream, _ := c.PutBlob(ctx)
	stream.Send(&blobv1.PutBlobRequest{Msg: &blobv1.PutBlobRequest_Data{Data: []byte("x")}})
	if _, err := stream.CloseAndRecv(); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("put without header: %v", err)
	}
	stream, _ = c.PutBlob(ctx)
	if _, err := stream.CloseAndRecv(); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("empty put: %v", err)
	}

	// List pages in id order.
	for _, id := range []string{"a", "c", "d"} {
		putRaw(c, id, 1, []byte(id), 1)
	}
	var ids []string
	token := ""
	for {
		resp, err := c.ListBlobs(ctx, &blobv1.ListBlobsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range resp.GetBlobs() {
			ids = append(ids, b.GetBlobId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if want := []string{"a", "b1", "b2", "c", "d"}; !slices.Equal(ids, want) {
		t.Fatalf("listed %q, want %q", ids, want)
	}
	if _, err := c.ListBlobs(ctx, &blobv1.ListBlobsRequest{PageToken: "bad/token"}); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("bad page token: %v", err)
	}

	ni, err := c.GetNodeInfo(ctx, &blobv1.GetNodeInfoRequest{})
	if err != nil || ni.GetNodeId() != n.ID || ni.GetZone() != "z1" || ni.GetBlobCount() != 5 || ni.GetCapacityBytes() <= 0 || ni.GetFreeBytes() <= 0 {
		t.Fatalf("node info %v %v", ni, err)
	}
	if v, err := c.VerifyBlob(ctx, &blobv1.VerifyBlobRequest{BlobId: "b1"}); err != nil || len(v.GetCorruptChunks()) != 0 || v.GetBlob().GetSize() != info.GetSize() {
		t.Fatalf("verify %v %v", v, err)
	}

	for i, want := range []bool{true, false} {
		d, err := c.DeleteBlob(ctx, &blobv1.DeleteBlobRequest{BlobId: "b1"})
		if err != nil || d.GetExisted() != want {
			t.Fatalf("delete %d: %v %v", i, d, err)
		}
	}
	if _, err := c.StatBlob(ctx, &blobv1.StatBlobRequest{BlobId: "b1"}); !errs.Is(err, errs.ObjectNotFound) {
		t.Fatalf("stat after delete: %v", err)
	}
	if ents, _ := os.ReadDir(disk.TempDir(n.Config.DataDir)); len(ents) != 0 {
		t.Fatalf("temp files left: %v", ents)
	}
}

func TestCorruptionOverGRPC(t *testing.T) {
	n := blobstoretest.Start(t, blobstore.Config{ChunkSize: 4096})
	data := make([]byte, 4*4096)
	rand.NewChaCha8([32]byte{2}).Read(data)
	if _, err := putRaw(n.Client, "v", -1, data, 5000); err != nil {
		t.Fatal(err)
	}
	p, _ := disk.BlobPath(n.Config.DataDir, "v")
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	f.WriteAt([]byte{0xff}, disk.HeaderSize+1*(4096+disk.CRCSize)+17) // inside chunk 1
	f.Close()

	v, err := n.Client.VerifyBlob(ctx, &blobv1.VerifyBlobRequest{BlobId: "v"})
	if err != nil || !slices.Equal(v.GetCorruptChunks(), []int64{1}) {
		t.Fatalf("verify: %v %v", v, err)
	}
	_, got, err := getRaw(n.Client, "v", 0, -1)
	if !errs.Is(err, errs.DataLoss) || !bytes.Equal(got, data[:4096]) {
		t.Fatalf("whole read: %d bytes, %v", len(got), err)
	}
	if _, _, err := getRaw(n.Client, "v", 4096+100, 10); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("read of the bad chunk: %v", err)
	}
	if _, got, err := getRaw(n.Client, "v", 2*4096, -1); err != nil || !bytes.Equal(got, data[2*4096:]) {
		t.Fatalf("read of good chunks: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	rt, err := runtime.New(runtime.Config{GRPCAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "text", ShutdownTimeout: time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv, err := blobstore.New(blobstore.Config{DataDir: dir, ChunkSize: 8192}, blobstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(rt.GRPC())
	served := make(chan error, 1)
	go func() { served <- rt.Serve() }()
	defer func() { rt.Stop(ctx); <-served }()
	conn, _ := runtime.Dial(rt.GRPCAddr())
	defer conn.Close()
	c := blobv1.NewBlobServiceClient(conn)

	// Registered but not started: calls fail cleanly, not with a panic.
	if _, err := c.GetNodeInfo(ctx, &blobv1.GetNodeInfoRequest{}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("before start: %v", err)
	}
	if srv.Ready() == nil {
		t.Fatal("ready before start")
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Ready() != nil || srv.Start(ctx) == nil {
		t.Fatal("started server not ready, or started twice")
	}
	ni, err := c.GetNodeInfo(ctx, &blobv1.GetNodeInfoRequest{})
	if err != nil || ni.GetNodeId() == "" {
		t.Fatalf("node info: %v %v", ni, err)
	}
	srv.Stop(ctx)
	if _, err := c.StatBlob(ctx, &blobv1.StatBlobRequest{BlobId: "x"}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("after stop: %v", err)
	}

	// The node id survives a restart on the same directory.
	n := blobstoretest.Start(t, blobstore.Config{DataDir: dir})
	if n.ID != ni.GetNodeId() {
		t.Fatalf("node id changed across restart: %s -> %s", ni.GetNodeId(), n.ID)
	}
	n2 := n.Restart(t)
	if n2.ID != n.ID {
		t.Fatalf("node id changed across restart: %s -> %s", n.ID, n2.ID)
	}
}

// The app drives every role through this contract (services/app.Service
// and Readier); the role cannot import the app, so it is restated here.
var _ interface {
	Register(grpc.ServiceRegistrar)
	Start(context.Context) error
	Stop(context.Context) error
	Ready() error
} = (*blobstore.Server)(nil)

func TestConfig(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var c blobstore.Config
	c.RegisterFlags("blobstore.", fs)
	if c.ChunkSize != 64<<10 || c.Zone != "" || c.DataDir != "" {
		t.Fatalf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if err := fs.Parse([]string{"-blobstore.data-dir=/d", "-blobstore.zone=eu", "-blobstore.chunk-size=1"}); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/d" || c.Zone != "eu" || c.Validate() == nil {
		t.Fatalf("flags %+v", c)
	}
	if _, err := blobstore.New(blobstore.DefaultConfig(), blobstore.Deps{}); err == nil {
		t.Fatal("New without a data dir succeeded")
	}
	d := blobstore.DefaultConfig()
	if d.GCGrace != time.Hour || d.GCInterval <= 0 || d.ScrubInterval <= 0 || d.RepairInterval <= 0 || d.RepairDownAfter <= 0 || d.ScrubRate <= 0 {
		t.Fatalf("healing defaults %+v", d)
	}
	for _, bad := range []func(*blobstore.Config){
		func(c *blobstore.Config) { c.GCGrace = time.Millisecond },
		func(c *blobstore.Config) { c.ScrubRate = -1 },
		func(c *blobstore.Config) { c.RepairInterval = -time.Second },
	} {
		c := blobstore.DefaultConfig()
		bad(&c)
		if c.Validate() == nil {
			t.Fatalf("bad healing config accepted: %+v", c)
		}
	}
}
