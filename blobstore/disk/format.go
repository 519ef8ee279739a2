package disk

import (
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"path/filepath"
	"time"

	"github.com/coffer-project/coffer/services/errs"
)

// HeaderSize is the size of a blob file's header; chunk i of a blob with
// chunk size cs starts at HeaderSize + i*(cs+CRCSize).
const HeaderSize = 64

// CRCSize is the size of the checksum that follows every chunk.
const CRCSize = 4

// FormatVersion is the version written into new blob files.
const FormatVersion = 1

// Chunk size bounds. The lower bound keeps the checksum overhead (4 bytes per
// chunk) small; the upper bound keeps a reader's buffers small.
const (
	MinChunkSize = 512
	MaxChunkSize = 16 << 20
)

// MaxBlobSize bounds a blob's size (16 TiB). Blobs are segments of objects,
// at most 5 GiB in S3 and B2 today; the bound keeps size arithmetic far
// from overflow.
const MaxBlobSize = 1 << 44

// MaxIDLen is the longest blob id.
const MaxIDLen = 128

var magic = [8]byte{'C', 'O', 'F', 'F', 'B', 'L', 'O', 'B'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Info describes a stored blob.
type Info struct {
	ID        string
	Size      int64
	CRC32C    uint32 // of the whole content
	ChunkSize int
	Created   time.Time
}

// header is the decoded fixed-size header of a blob file.
type header struct {
	version   uint16
	chunkSize uint32
	size      uint64
	crc       uint32
	created   int64
}

func (h header) encode() []byte {
	b := make([]byte, HeaderSize)
	copy(b[0:8], magic[:])
	binary.LittleEndian.PutUint16(b[8:], h.version)
	binary.LittleEndian.PutUint32(b[12:], h.chunkSize)
	binary.LittleEndian.PutUint64(b[16:], h.size)
	binary.LittleEndian.PutUint32(b[24:], h.crc)
	binary.LittleEndian.PutUint64(b[32:], uint64(h.created))
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

// decodeHeader parses and checks a header. Any inconsistency is DataLoss:
// the header is as much stored data as the content, and a blob whose layout
// cannot be trusted must not be read.
func decodeHeader(op, id string, b []byte) (header, error) {
	bad := func(why string) (header, error) {
		return header{}, errs.Errorf(errs.DataLoss, op, "blob header %s", why).WithDetail("blob_id", id)
	}
	if len(b) < HeaderSize {
		return bad("is truncated")
	}
	if [8]byte(b[0:8]) != magic {
		return bad("has a bad magic number")
	}
	if crc32.Checksum(b[:60], castagnoli) != binary.LittleEndian.Uint32(b[60:]) {
		return bad("checksum mismatch")
	}
	h := header{
		version:   binary.LittleEndian.Uint16(b[8:]),
		chunkSize: binary.LittleEndian.Uint32(b[12:]),
		size:      binary.LittleEndian.Uint64(b[16:]),
		crc:       binary.LittleEndian.Uint32(b[24:]),
		created:   int64(binary.LittleEndian.Uint64(b[32:])),
	}
	if h.version != FormatVersion {
		return bad("has an unknown format version")
	}
	if h.chunkSize < MinChunkSize || h.chunkSize > MaxChunkSize || h.size > MaxBlobSize {
		return bad("is out of range")
	}
	return h, nil
}

func (h header) info(id string) Info {
	return Info{
		ID:        id,
		Size:      int64(h.size),
		CRC32C:    h.crc,
		ChunkSize: int(h.chunkSize),
		Created:   time.Unix(0, h.created),
	}
}

// chunkCRC is the checksum stored after chunk index i. The index is mixed in
// so that a chunk found at the wrong offset does not verify.
func chunkCRC(i int64, data []byte) uint32 {
	return crc32.Update(indexCRC(i), castagnoli, data)
}

// layout computes chunk positions for one blob.
type layout struct {
	chunkSize int64
	size      int64
}

// chunks is the number of chunks (0 for an empty blob).
func (l layout) chunks() int64 { return (l.size + l.chunkSize - 1) / l.chunkSize }

// dataLen is the content length of chunk i.
func (l layout) dataLen(i int64) int64 { return min(l.chunkSize, l.size-i*l.chunkSize) }

// offset is the file offset of chunk i.
func (l layout) offset(i int64) int64 { return HeaderSize + i*(l.chunkSize+CRCSize) }

// end is the file offset just past chunk i's checksum.
func (l layout) end(i int64) int64 { return l.offset(i) + l.dataLen(i) + CRCSize }

// fileSize is the exact length of a well-formed file.
func (l layout) fileSize() int64 { return HeaderSize + l.size + CRCSize*l.chunks() }

// ValidID reports whether id may name a blob: 1-128 characters of
// [A-Za-z0-9._-], and neither "." nor "..". Only such ids ever reach a path.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkID(op, id string) error {
	if !ValidID(id) {
		return errs.Errorf(errs.InvalidArgument, op, "blob id must be 1-%d characters of [A-Za-z0-9._-], not . or ..", MaxIDLen).
			WithDetail("blob_id", truncate(id, MaxIDLen))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// fanout returns the directory a blob id is stored under: the hex of its
// first two bytes, with missing bytes as "00" ("00" sorts before the hex of
// every allowed character, so shorter ids come first, as in string order).
// One level is enough: writers choose random hex ids, so there are 256
// directories, each holding about 4,000 blobs per million — small for any
// modern file system — and a fresh node has made them all after a few
// hundred writes. (Two levels meant 65,536 directories, each created and
// fsync'd by the write that first needed it.)
func fanout(id string) string {
	var p [2]byte
	copy(p[:], id)
	return hex.EncodeToString(p[:])
}

// BlobPath returns the path of blob id's file under the store root, for
// tests and operators; it fails for an invalid id.
func BlobPath(root, id string) (string, error) {
	if err := checkID("disk.BlobPath", id); err != nil {
		return "", err
	}
	return filepath.Join(root, blobsDir, fanout(id), id), nil
}

// TempDir returns the directory holding in-flight writes under the store
// root. It is empty when no write is in progress.
func TempDir(root string) string { return filepath.Join(root, tempDir) }

func parentDir(p string) string { return filepath.Dir(p) }
