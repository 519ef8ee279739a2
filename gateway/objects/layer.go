package objects

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Blobs is what the object layer needs from blobstore (blobstore/client
// implements it). Implementations are safe for concurrent use.
type Blobs interface {
	// Put streams r into a new blob and returns where it lives once it is
	// durable. If r returns an error, the put is aborted and that error
	// (or one wrapping it) is returned.
	Put(ctx context.Context, blobID string, r io.Reader, size int64) (*metadatav1.BlobPlacement, error)
	// Get streams length bytes (-1: to the end) from offset of a blob.
	Get(ctx context.Context, p *metadatav1.BlobPlacement, offset, length int64) (io.ReadCloser, error)
	// Delete removes a blob; a missing blob is not an error.
	Delete(ctx context.Context, p *metadatav1.BlobPlacement) error
}

// Layer is the object layer. It is safe for concurrent use.
type Layer struct {
	meta     metadatav1.MetadataServiceClient
	blobs    Blobs
	log      *slog.Logger
	dataKeys DataKeys
	// inlineMax is the largest stored size kept inline (inline.go).
	inlineMax int64
	// MaxObjectSize bounds a single-part body.
	MaxObjectSize int64
	// beforeBlobDelete, when set, runs before a cleanup's deletes (tests).
	beforeBlobDelete func()
}

// Option configures a Layer.
type Option func(*Layer)

// WithDataKeys gives the layer authd's data keys, which SSE-B2 (encryption
// at rest under the cluster key) needs; without them SSE-B2 writes and
// reads are refused as not configured.
func WithDataKeys(k DataKeys) Option { return func(l *Layer) { l.dataKeys = k } }

// New builds a Layer.
func New(meta metadatav1.MetadataServiceClient, blobs Blobs, log *slog.Logger, maxObjectSize int64, opts ...Option) *Layer {
	l := &Layer{meta: meta, blobs: blobs, log: log, MaxObjectSize: maxObjectSize}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Meta is the metadata client, for front-end calls that involve no bytes.
func (l *Layer) Meta() metadatav1.MetadataServiceClient { return l.meta }

// PutInput describes one single-part write.
type PutInput struct {
	Bucket       *metadatav1.Bucket
	Key          string
	Body         io.Reader
	Expect       Expect
	ContentType  string
	Info         map[string]string
	Precondition *metadatav1.Precondition
	// Encryption is the encryption the request asked for: nil (or mode
	// unspecified) means the bucket's default; SSE_C needs CustomerKey, and
	// when its customer_key_md5 is set, the key must match it.
	Encryption *metadatav1.ServerSideEncryption
	// CustomerKey is the 32-byte SSE-C key (never stored).
	CustomerKey []byte
	// Retention and LegalHold are the object-lock settings of the new
	// version (metadata applies the bucket's default retention when unset).
	Retention *metadatav1.Retention
	LegalHold metadatav1.LegalHold
	// Tags are the version's S3 object tags (checked with ValidateTags).
	Tags []*metadatav1.Tag
	// StorageClass is the S3 storage class to keep (unspecified: STANDARD).
	StorageClass metadatav1.StorageClass
	// SHA1Unverified marks a body whose client sent no SHA-1 to check (B2
	// do_not_verify): the computed SHA-1 is stored as "unverified:<hex>",
	// as B2 shows it.
	SHA1Unverified bool
}

// NewBlobID returns a random blob id: 128 bits, hex. Storage locations are
// never derived from object keys (spec/reliability.md I7).
func NewBlobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequestedEncryption turns a stored-form encryption request and a customer
// key into an Encryption (before ResolveEncryption applies the bucket's
// default). An SSE-C request whose customer_key_md5 is set must carry the
// key with that MD5.
func RequestedEncryption(sse *metadatav1.ServerSideEncryption, customerKey []byte) (Encryption, error) {
	e := Encryption{Mode: sse.GetMode(), CustomerKey: customerKey}
	if e.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C {
		if len(customerKey) != CustomerKeySize {
			return e, errs.Errorf(errs.InvalidArgument, "objects.Encryption", "The secret key was invalid for the specified algorithm.")
		}
		if m := sse.GetCustomerKeyMd5(); m != "" && m != KeyMD5(customerKey) {
			return e, errs.Errorf(errs.InvalidArgument, "objects.Encryption", "The calculated MD5 hash of the key did not match the hash that was provided.")
		}
	}
	return e, nil
}

// sha1Field is the content_sha1 to store for a single-part body.
func sha1Field(hex string, unverified bool) string {
	if unverified {
		return "unverified:" + hex
	}
	return hex
}

// Put streams the body into blobstore through a digest-checking reader,
// encrypted as the request or the bucket's default says, and, once every
// digest matched, commits the version. It returns the committed version.
func (l *Layer) Put(ctx context.Context, in PutInput) (*metadatav1.ObjectVersion, error) {
	const op = "objects.Put"
	req, err := RequestedEncryption(in.Encryption, in.CustomerKey)
	if err != nil {
		return nil, err
	}
	enc, err := l.ResolveEncryption(in.Bucket, req)
	if err != nil {
		return nil, err
	}
	var seg *metadatav1.Segment
	var d Digests
	if l.inlines(in.Expect.Size, enc) {
		seg, d, err = l.putInline(ctx, in.Body, in.Expect, enc)
	} else {
		seg, d, err = l.PutSegment(ctx, in.Body, in.Expect, enc)
	}
	if err != nil {
		return nil, err
	}
	v := &metadatav1.ObjectVersion{
		BucketId:     in.Bucket.GetBucketId(),
		Key:          in.Key,
		Size:         d.Size,
		ContentType:  in.ContentType,
		Info:         in.Info,
		Etag:         seg.GetMd5(),
		ContentMd5:   d.MD5Hex,
		ContentSha1:  sha1Field(d.SHA1Hex, in.SHA1Unverified),
		Checksums:    d.Checksums,
		Encryption:   enc.Metadata(),
		Retention:    in.Retention,
		LegalHold:    in.LegalHold,
		Segments:     []*metadatav1.Segment{seg},
		Tags:         in.Tags,
		StorageClass: in.StorageClass,
	}
	if enc.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C {
		// The plaintext MD5 would let anyone who can list the bucket
		// confirm a guess of the content; SSE-C objects show the MD5 of
		// the stored ciphertext instead (spec/s3.md §6.2).
		v.ContentMd5 = ""
	}
	resp, err := l.meta.CommitObject(ctx, &metadatav1.CommitObjectRequest{Version: v, Precondition: in.Precondition})
	if err != nil {
		l.discard(op, err, seg.GetPlacement())
		return nil, err
	}
	return resp.GetVersion(), nil
}

// PutSegment streams one body — a whole object or one part — into a new
// blob through a digest-checking reader, encrypted as enc says (resolve it
// with ResolveEncryption first), and returns the segment to commit and the
// body's digests. Nothing is committed: the caller commits the segment and,
// when the commit definitely fails, deletes its blob. The segment's Size,
// Sha1 and Checksums describe the plaintext; its Md5 is the ETag: the
// plaintext MD5, except for SSE-C, where it is the MD5 of the stored
// ciphertext. PartNumber is left 0.
func (l *Layer) PutSegment(ctx context.Context, body io.Reader, expect Expect, enc Encryption) (*metadatav1.Segment, Digests, error) {
	d := NewReader(body, expect, l.MaxObjectSize)
	defer d.Close()
	blobID := NewBlobID()
	var src io.Reader = d
	size := expect.Size
	var sealer *sealReader
	if enc.Encrypted() {
		var err error
		if sealer, err = l.newSealer(ctx, blobID, enc, d, expect.Size); err != nil {
			return nil, Digests{}, err
		}
		if enc.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C {
			sealer.hash = md5.New()
		}
		src, size = sealer, -1
		if expect.Size >= 0 {
			size = SealedSize(expect.Size)
		}
	}
	placement, err := l.blobs.Put(ctx, blobID, src, size)
	if err != nil {
		// The reader's own verdict (BadDigest, IncompleteBody...) wins over
		// however the blob client wrapped it.
		if e := bodyError(d, err); e != nil {
			return nil, Digests{}, e
		}
		if sealer != nil && sealer.err != nil && sealer.err != io.EOF && errs.As(sealer.err) != nil {
			return nil, Digests{}, sealer.err
		}
		return nil, Digests{}, err
	}
	digests := d.Digests()
	seg := &metadatav1.Segment{
		Size: digests.Size, Md5: digests.MD5Hex, Sha1: digests.SHA1Hex, Placement: placement, Checksums: digests.Checksums,
	}
	if sealer != nil && sealer.hash != nil {
		seg.Md5 = hex.EncodeToString(sealer.hash.Sum(nil))
	}
	return seg, digests, nil
}

// bodyError returns the domain error the digest reader produced, if any.
func bodyError(body *Reader, err error) error {
	if body.err != nil && body.err != io.EOF {
		if errs.As(body.err) != nil {
			return body.err
		}
	}
	if e := errs.As(err); e != nil && e.Kind != errs.Internal && e.Kind != errs.Other {
		return err
	}
	return nil
}

// discard deletes the blobs of a write whose commit definitely failed. When
// the outcome is unknown (the command may still be applied), the blobs stay
// for garbage collection, which deletes only what no version references.
func (l *Layer) discard(op string, commitErr error, placements ...*metadatav1.BlobPlacement) {
	switch errs.KindOf(commitErr) {
	case errs.Unavailable, errs.DeadlineExceeded, errs.Canceled, errs.Internal, errs.Other:
		l.log.Warn("commit outcome unknown; leaving blobs to garbage collection", "op", op, "err", commitErr)
		return
	}
	for _, p := range placements {
		if p == nil {
			continue // inline: metadata had the bytes
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := l.blobs.Delete(ctx, p); err != nil {
			l.log.Warn("delete of uncommitted blob failed; left to garbage collection", "op", op, "blob", p.GetBlobId(), "err", err)
		}
		cancel()
	}
}

// ReadOptions are what a read brings besides the range.
type ReadOptions struct {
	// Encryption carries the SSE-C key of an SSE-C version (check it first
	// with CheckReadKey for the right error before any byte is read).
	Encryption Encryption
}

// Open returns a reader of length bytes from offset of a version's content,
// crossing segment (part) boundaries. Segments are opened lazily, one at a
// time, so memory stays bounded whatever the object's size. SSE-B2 versions
// are decrypted transparently; SSE-C versions need OpenWith and the key.
func (l *Layer) Open(ctx context.Context, v *metadatav1.ObjectVersion, offset, length int64) io.ReadCloser {
	return l.OpenWith(ctx, v, offset, length, ReadOptions{})
}

// OpenWith is Open with the customer key of an SSE-C version.
func (l *Layer) OpenWith(ctx context.Context, v *metadatav1.ObjectVersion, offset, length int64, opts ReadOptions) io.ReadCloser {
	if length < 0 || offset+length > v.GetSize() {
		length = v.GetSize() - offset
	}
	return &segmentReader{ctx: ctx, layer: l, version: v, opts: opts, segs: v.GetSegments(), offset: offset, remaining: length}
}

type segmentReader struct {
	ctx       context.Context
	layer     *Layer
	version   *metadatav1.ObjectVersion
	opts      ReadOptions
	segs      []*metadatav1.Segment
	curSeg    *metadatav1.Segment // the segment cur reads
	offset    int64               // offset into the next segment to open
	remaining int64
	cur       io.ReadCloser
	err       error
}

func (s *segmentReader) Read(p []byte) (int, error) {
	for {
		if s.err != nil {
			return 0, s.err
		}
		if s.remaining <= 0 {
			return 0, io.EOF
		}
		if s.cur == nil {
			if err := s.next(); err != nil {
				s.err = err
				return 0, err
			}
		}
		if int64(len(p)) > s.remaining {
			p = p[:s.remaining]
		}
		n, err := s.cur.Read(p)
		s.remaining -= int64(n)
		if err == io.EOF {
			s.cur.Close()
			s.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			err = s.layer.unreadable(s.version, s.curSeg, err)
			s.err = err
		}
		return n, err
	}
}

// WriteTo implements io.WriterTo, so that io.Copy hands w the verified
// bytes straight from the blob client's buffers (one copy from the file to
// the socket on the local shard path), segment after segment.
func (s *segmentReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if s.err != nil {
			return total, s.err
		}
		if s.remaining <= 0 {
			return total, nil
		}
		if s.cur == nil {
			if err := s.next(); err != nil {
				s.err = err
				return total, err
			}
		}
		// The segment's reader yields exactly its part of the range.
		var n int64
		var err error
		if wt, ok := s.cur.(io.WriterTo); ok {
			n, err = wt.WriteTo(w)
		} else {
			n, err = copyBuffered(w, s.cur)
		}
		total += n
		s.remaining -= n
		s.cur.Close()
		s.cur = nil
		if err != nil {
			err = s.layer.unreadable(s.version, s.curSeg, err)
			s.err = err
			return total, err
		}
	}
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyBuffered copies r to w through a pooled buffer.
func copyBuffered(w io.Writer, r io.Reader) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, *bp)
}

// next opens the segment holding s.offset.
func (s *segmentReader) next() error {
	for len(s.segs) > 0 && s.offset >= s.segs[0].GetSize() {
		s.offset -= s.segs[0].GetSize()
		s.segs = s.segs[1:]
	}
	if len(s.segs) == 0 {
		return errs.Errorf(errs.Internal, "objects.Open", "segments end before the object's size")
	}
	seg := s.segs[0]
	n := seg.GetSize() - s.offset
	if n > s.remaining {
		n = s.remaining
	}
	var rc io.ReadCloser
	var err error
	switch sse := s.version.GetEncryption(); sse.GetMode() {
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2, metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C:
		rc, err = s.layer.openSealed(s.ctx, seg, sse, s.opts.Encryption, s.offset, n)
	default:
		rc, err = s.layer.segmentBytes(s.ctx, seg, s.offset, n)
	}
	if err != nil {
		return s.layer.unreadable(s.version, seg, err)
	}
	s.cur, s.curSeg = rc, seg
	s.segs = s.segs[1:]
	s.offset = 0
	return nil
}

func (s *segmentReader) Close() error {
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
	if s.err == nil {
		s.err = io.ErrClosedPipe
	}
	return nil
}
