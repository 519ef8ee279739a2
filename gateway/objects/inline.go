package objects

import (
	"bytes"
	"context"
	"encoding/hex"
	"hash/crc32"
	"io"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Small objects are kept inline: a single-part body whose stored form
// (sealed, for SSE) is at most the layer's inline threshold travels in the
// CommitObject command and metadata keeps it, instead of a blob. Its PUT is
// then one Raft commit (one fsync, no blob file, no blob-directory fsync,
// no blobstore call) and its GET the one metadata read that finds the
// version. The bytes are exactly what a blob would hold — SSE objects are
// sealed the same way, so they are encrypted at rest in metadata too — and
// carry a CRC32C that metadata checks at commit and every read checks
// before a byte is used (bbolt keeps no checksums of its own). There is no
// blob, so nothing for garbage collection, repair or scrubbing; deleting
// the version deletes the bytes in the same transaction (metadata/fsm).
// Parts of multipart uploads are never inline: they become segments of a
// larger object.

// MaxInlineSize is the largest inline threshold: metadata refuses more
// (metadata/fsm.MaxInlineSize), since every replica and every snapshot
// carries inline bytes.
const MaxInlineSize = 256 << 10

// DefaultInlineMax is the default threshold (gateway --inline-max-size),
// measured with vs-minio.sh: see gateway/DESIGN.md.
const DefaultInlineMax = 16 << 10

// WithInlineMax sets the inline threshold (0: never inline).
func WithInlineMax(n int64) Option { return func(l *Layer) { l.inlineMax = min(n, MaxInlineSize) } }

// storedSize is the size of a body's stored form under enc.
func storedSize(size int64, enc Encryption) int64 {
	if enc.Encrypted() {
		return SealedSize(size)
	}
	return size
}

// inlines reports whether a body of size bytes (-1: unknown) is kept
// inline.
func (l *Layer) inlines(size int64, enc Encryption) bool {
	return size >= 0 && l.inlineMax > 0 && storedSize(size, enc) <= l.inlineMax
}

// putInline reads the whole body through the digest-checking reader (and
// the sealer, for SSE) into memory and returns its inline segment. Like
// PutSegment, it returns the reader's verdict (BadDigest, IncompleteBody...)
// when the body is not what the client announced.
func (l *Layer) putInline(ctx context.Context, body io.Reader, expect Expect, enc Encryption) (*metadatav1.Segment, Digests, error) {
	d := NewReader(body, expect, l.MaxObjectSize)
	defer d.Close()
	var src io.Reader = d
	var sealer *sealReader
	if enc.Encrypted() {
		var err error
		if sealer, err = l.newSealer(ctx, "", enc, d, expect.Size); err != nil {
			return nil, Digests{}, err
		}
		if enc.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C {
			sealer.hash = newMD5(0)
		}
		src = sealer
	}
	data := make([]byte, storedSize(expect.Size, enc))
	if err := readExactly(src, data); err != nil {
		if e := bodyError(d, err); e != nil {
			return nil, Digests{}, e
		}
		return nil, Digests{}, err
	}
	digests := d.Digests()
	seg := &metadatav1.Segment{
		Size: digests.Size, Md5: digests.MD5Hex, Sha1: digests.SHA1Hex, Checksums: digests.Checksums,
		Inline: true, InlineData: data, InlineCrc32C: crc32.Checksum(data, castagnoli),
	}
	if sealer != nil && sealer.hash != nil {
		seg.Md5 = hex.EncodeToString(sealer.hash.Sum(nil))
	}
	return seg, digests, nil
}

// readExactly fills p from r and then reads r to its EOF, so that a
// verifying reader underneath runs its checks; a longer body is refused.
func readExactly(r io.Reader, p []byte) error {
	if _, err := io.ReadFull(r, p); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return errs.Errorf(errs.IncompleteBody, "objects.Put", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		}
		return err
	}
	var one [1]byte
	for tries := 0; ; tries++ {
		n, err := r.Read(one[:])
		switch {
		case n > 0:
			return errs.Errorf(errs.InvalidRequest, "objects.Put", "The body is longer than the announced length.")
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case tries == 100:
			return io.ErrNoProgress
		}
	}
}

// segmentBytes opens n bytes from off of a segment's stored form: its blob,
// or its inline bytes once their CRC32C has been checked.
func (l *Layer) segmentBytes(ctx context.Context, seg *metadatav1.Segment, off, n int64) (io.ReadCloser, error) {
	if !seg.GetInline() {
		return l.blobs.Get(ctx, seg.GetPlacement(), off, n)
	}
	const op = "objects.Open"
	data := seg.GetInlineData()
	if crc32.Checksum(data, castagnoli) != seg.GetInlineCrc32C() {
		return nil, errs.Errorf(errs.DataLoss, op, "inline object data failed its checksum")
	}
	if off < 0 || n < 0 || off+n > int64(len(data)) {
		return nil, errs.Errorf(errs.DataLoss, op, "inline object data is %d bytes, want at least %d", len(data), off+n)
	}
	return io.NopCloser(bytes.NewReader(data[off : off+n])), nil
}
