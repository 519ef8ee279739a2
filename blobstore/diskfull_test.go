package blobstore_test

import (
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/blobstore/blobstoretest"
	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	"github.com/coffer-project/coffer/services/errs"
)

// fullFS is the operating system's file system, except that while full is
// set every write fails with ENOSPC: a disk that filled up.
type fullFS struct {
	disk.OSFS
	full atomic.Bool
}

func (f *fullFS) OpenFile(name string, flag int, perm fs.FileMode) (disk.File, error) {
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil || flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return file, err
	}
	return &fullFile{File: file, fs: f}, nil
}

type fullFile struct {
	disk.File
	fs *fullFS
}

func (f *fullFile) WriteAt(p []byte, off int64) (int, error) {
	if f.fs.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.WriteAt(p, off)
}

func (f *fullFile) Write(p []byte) (int, error) {
	if f.fs.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.Write(p)
}

// TestDiskFull: a node whose disk fills up fails its shard writes with a
// clear error; erasure-coded puts go on within the write quorum, reads of
// what it holds go on, and nothing partial is left on it.
func TestDiskFull(t *testing.T) {
	cl := blobstoretest.StartCluster(t, 5, blobstore.Config{}, blobstore.Deps{})
	ffs := &fullFS{}
	full := cl.Add(blobstore.Config{}, blobstore.Deps{FS: ffs})
	c := cl.Client(ec42)

	before, err := c.Put(ctx, client.NewBlobID(), randomReader(1, 1<<20), 1<<20)
	if err != nil || len(before.GetShards()) != 6 {
		t.Fatalf("put before the disk filled: %v %v", before, err)
	}
	ffs.full.Store(true)
	for i := range 3 {
		p, err := c.Put(ctx, client.NewBlobID(), randomReader(byte(2+i), 2<<20), 2<<20)
		if err != nil {
			t.Fatalf("put with one disk full: %v", err)
		}
		if len(p.GetShards()) != 5 {
			t.Fatalf("%d shards with one disk full", len(p.GetShards()))
		}
		for _, s := range p.GetShards() {
			if s.GetNodeId() == full.ID {
				t.Fatal("shard placed on the full disk")
			}
		}
		if err := readBack(c, p, byte(2+i), 2<<20); err != nil {
			t.Fatal(err)
		}
	}
	if ents, _ := os.ReadDir(disk.TempDir(full.Config.DataDir)); len(ents) > 0 {
		t.Fatalf("%d partial writes left on the full disk", len(ents))
	}
	// What the full node holds is still served.
	if err := readBack(cl.Client(ec42), before, 1, 1<<20); err != nil {
		t.Fatal(err)
	}
	// A whole copy placed on the full node fails with ResourceExhausted.
	only, err := client.New([]client.Node{full.ClientNode()}, client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only.Put(ctx, client.NewBlobID(), randomReader(9, 1<<20), 1<<20); !errs.Is(err, errs.ResourceExhausted) {
		t.Fatalf("put on a full disk: %v", err)
	}
	// Space is freed: shards go there again.
	ffs.full.Store(false)
	if p, err := c.Put(ctx, client.NewBlobID(), randomReader(7, 1<<20), 1<<20); err != nil || len(p.GetShards()) != 6 {
		t.Fatalf("put after space was freed: %v %v", p, err)
	}
}
