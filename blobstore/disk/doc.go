// Package disk is the blobstore's local store: blobs addressed by id, one
// file per blob, every chunk of content carrying its own CRC32C.
//
// Why it is shaped this way:
//
//   - Durability (spec/reliability.md I1, §4.1): a blob is written to a temp
//     file, the file is fsync'd, renamed into place and the directory is
//     fsync'd before Commit returns. A write that is aborted, short or
//     interrupted by a crash never becomes visible; leftover temp files are
//     removed when the store is opened.
//   - Bitrot (I5): the content is cut into fixed-size chunks, each followed by
//     the CRC32C of (chunk index, chunk bytes). Every read verifies each chunk
//     it touches before handing on a single byte of it, so a corrupt chunk is
//     an errs.DataLoss error, never wrong bytes. Range reads map to chunk
//     offsets and touch only the chunks they need.
//   - Paths (I7): the file path is derived from the blob id alone, which is
//     restricted to [A-Za-z0-9._-]{1,128} (never "." or ".."); user keys never
//     reach the file system.
//   - Bounded memory: writers and readers stream through a few chunk-sized
//     buffers, whatever the blob size.
//   - Garbage collection (../DESIGN.md, "GC safety"): the header records
//     when a blob was committed, and DeleteIfOlder checks that time and
//     removes the file under the lock Commit renames under, so a collector
//     never removes a copy written after it decided the old one was garbage.
//
// The store does not know what it holds: an erasure-coded shard is a blob
// named "<blob id>.<index>" whose content carries the shard's own header and
// trailer (package client); a whole blob (k=1, m=0) is the plain content
// under the blob id.
//
// The file layout (all integers little-endian):
//
//	header (HeaderSize = 64 bytes)
//	  0  magic "COFFBLOB"
//	  8  format version (uint16, currently 1)
//	  10 reserved (uint16, zero)
//	  12 chunk size in bytes (uint32)
//	  16 content size in bytes (uint64)
//	  24 CRC32C of the whole content (uint32)
//	  28 reserved (uint32, zero)
//	  32 create time, Unix nanoseconds (int64)
//	  40 reserved (20 bytes, zero)
//	  60 CRC32C of bytes 0..59 (uint32)
//	body, for each chunk i = 0..n-1 (the last chunk may be shorter):
//	  data   (chunk size bytes)
//	  crc    CRC32C(uint64 i ‖ data) (uint32)
//
// Chunk i therefore starts at HeaderSize + i*(chunk size + 4), and a file is
// exactly HeaderSize + size + 4*ceil(size/chunk size) bytes long. Seeding each
// chunk's checksum with its index also catches a chunk written at the wrong
// offset, which a plain per-chunk checksum would accept.
//
// Files live under root/blobs/<hex(id[0:2])>/<id> (missing
// bytes of short ids are hex "00"). Blob ids are random (I7), so a prefix
// spreads files as evenly as a hash would, and because hex keeps byte order
// and "00" sorts before every allowed character, a sorted walk of the tree
// visits ids in order: List is a cursor walk, not a scan of every blob.
// Ids are case-sensitive, so the store needs a case-sensitive file system.
package disk
