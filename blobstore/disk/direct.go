package disk

import (
	"io"
	"os"
	"sync"
	"unsafe"
)

// Large blobs are written with O_DIRECT where the file system allows it.
// A buffered write copies every byte into the page cache, and on a machine
// whose memory is full of cache each new page must first be reclaimed: in
// the kernel that costs more CPU than hashing the bytes (measured on the
// 2-core bench machine: 1.6 s of system time per GiB buffered, 0.2 s
// direct, and the fsync after a direct write has little left to flush).
// MinIO writes its part files the same way. Durability is unchanged:
// Commit still fsyncs the file (O_DIRECT alone does not flush the device's
// cache) and the directory.
//
// The file is written front to back (a placeholder where the header goes,
// then each chunk and its checksum), so a directFile gathers that stream
// in an aligned staging block and writes each full block at its aligned
// offset through a second descriptor opened with O_DIRECT. What is left
// at Commit — the last partial block — and the header go through the
// ordinary descriptor, followed by the fsync as before.

const (
	// directMinSize: blobs smaller than this stay buffered (a direct write
	// waits for the device, which costs small blobs more than it saves).
	directMinSize = 1 << 20
	// directBlock is the staging block: a multiple of any logical block
	// size, and large enough that a 64 MiB shard takes 64 device writes.
	directBlock = 1 << 20
	// directAlign is the buffer alignment O_DIRECT asks for.
	directAlign = 4096
)

var directBlocks = sync.Pool{New: func() any {
	raw := make([]byte, directBlock+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1)); r != 0 {
		off = directAlign - r
	}
	b := raw[off : off+directBlock]
	return &b
}}

// directFile stages a file's sequential bytes and writes whole blocks with
// O_DIRECT.
type directFile struct {
	f     *os.File // opened with O_DIRECT
	block *[]byte
	fill  int   // bytes staged in block
	base  int64 // file offset of block[0]
}

// openDirect opens path for direct writes, or returns nil where the file
// system refuses O_DIRECT (tmpfs) or the platform has none.
func openDirect(path string) *directFile {
	if oDirect == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|oDirect, 0)
	if err != nil {
		return nil
	}
	d := &directFile{f: f, block: directBlocks.Get().(*[]byte)}
	// The header's place, written last through the ordinary descriptor.
	clear((*d.block)[:HeaderSize])
	d.fill = HeaderSize
	return d
}

// append stages p, which continues the file at base+fill, writing each
// block as it fills.
func (d *directFile) append(p []byte) error {
	for len(p) > 0 {
		k := copy((*d.block)[d.fill:], p)
		d.fill += k
		p = p[k:]
		if d.fill == directBlock {
			if _, err := d.f.WriteAt(*d.block, d.base); err != nil {
				return err
			}
			d.base += directBlock
			d.fill = 0
		}
	}
	return nil
}

// finish writes the staged remainder through w (the ordinary descriptor:
// a partial block cannot go direct) and releases the direct descriptor.
// The header placeholder, if still staged, is written too; Commit then
// writes the real header over it. Each chunk is copied once more into the
// staging block (chunks do not line up with blocks); that copy costs far
// less than the page cache's did.
func (d *directFile) finish(w io.WriterAt) error {
	var err error
	if d.fill > 0 {
		_, err = w.WriteAt((*d.block)[:d.fill], d.base)
	}
	d.close()
	return err
}

func (d *directFile) close() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	if d.block != nil {
		directBlocks.Put(d.block)
		d.block = nil
	}
}
