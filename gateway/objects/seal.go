package objects

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"hash"
	"io"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// keyContext is what an SSE-B2 data key is bound to: the blob id, or for
// inline bytes (blobID "", no blob) the salt in their header, which is as
// unique as a blob id and travels with the bytes.
func keyContext(blobID string, salt []byte) string {
	if blobID != "" {
		return blobID
	}
	return "inline-" + hex.EncodeToString(salt)
}

// newSealer prepares the encryption of one blob (or of inline bytes, with
// blobID ""): a fresh salt, and for SSE-B2 a fresh data key from authd
// bound to the blob id (keyContext).
func (l *Layer) newSealer(ctx context.Context, blobID string, e Encryption, src io.Reader, size int64) (*sealReader, error) {
	const op = "objects.seal"
	h := sealHeader{mode: e.Mode}
	if _, err := rand.Read(h.salt[:]); err != nil {
		return nil, errs.E(errs.Internal, op, err)
	}
	root := e.CustomerKey
	if e.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 {
		if l.dataKeys == nil {
			return nil, errs.Errorf(errs.Unimplemented, op, "Server-side encryption is not configured on this gateway.")
		}
		dk, err := l.dataKeys.GenerateDataKey(ctx, &authv1.GenerateDataKeyRequest{Context: keyContext(blobID, h.salt[:])})
		if err != nil {
			return nil, err
		}
		if len(dk.GetWrappedKey()) > maxWrappedKeySize || len(dk.GetDataKey()) != 32 {
			return nil, errs.Errorf(errs.Internal, op, "authd returned a data key of an unexpected shape")
		}
		h.kekVersion, h.wrapped, root = dk.GetKekVersion(), dk.GetWrappedKey(), dk.GetDataKey()
	}
	header := h.marshal()
	sr := &sealReader{
		src: src, aead: newGCM(blobKey(e.Mode, root, h.salt[:])), header: header, out: header,
		size: size, n: packages(size), in: make([]byte, SealPackageSize),
	}
	if size < 0 {
		sr.n = -1 // known when the source ends (fillUnknown)
	}
	return sr, nil
}

// sealReader turns a plaintext stream into an encrypted blob: header, then
// sealed packages. It reads its source to EOF before it seals the last
// package, so the digest reader underneath has verified every digest
// before the blob can be complete; a verification error is returned
// instead of the last package. The size may be unknown (-1: a browser
// form's file, a chunked body): the reader then looks one byte ahead to
// learn which package is the last, whose nonce says so.
type sealReader struct {
	src    io.Reader
	aead   cipher.AEAD
	header []byte
	size   int64  // plaintext bytes, or -1 when unknown
	n      int64  // packages in the blob (-1 until known, for an unknown size)
	next   int64  // the next package to seal
	ahead  []byte // a byte read past a full package (unknown size only)
	in     []byte
	out    []byte // sealed bytes not yet returned
	sealed []byte // the buffer out points into
	err    error
	// hash, when set, sees every byte of the blob (the SSE-C ETag).
	hash hash.Hash
}

func (s *sealReader) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.next == s.n {
			s.err = io.EOF
			return 0, io.EOF
		}
		if err := s.fill(); err != nil {
			s.err = err
			return 0, err
		}
	}
	n := copy(p, s.out)
	if s.hash != nil {
		s.hash.Write(p[:n])
	}
	s.out = s.out[n:]
	return n, nil
}

// fill seals the next package into s.out.
func (s *sealReader) fill() error {
	if s.size < 0 {
		return s.fillUnknown()
	}
	i := s.next
	want := min(int64(SealPackageSize), s.size-i*SealPackageSize)
	plain := s.in[:want]
	if _, err := io.ReadFull(s.src, plain); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errs.Errorf(errs.IncompleteBody, "objects.seal", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		}
		return err
	}
	final := i == s.n-1
	if final {
		// The source must end here; reading its EOF runs the digest checks.
		var one [1]byte
		for tries := 0; ; tries++ {
			if tries == 100 {
				return io.ErrNoProgress
			}
			k, err := s.src.Read(one[:])
			if k > 0 {
				return errs.Errorf(errs.InvalidRequest, "objects.seal", "The body is longer than the announced length.")
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
	}
	if cap(s.sealed) < len(plain)+SealTagSize {
		s.sealed = make([]byte, 0, SealPackageSize+SealTagSize)
	}
	s.out = s.aead.Seal(s.sealed[:0], packageNonce(i, final), plain, s.header)
	s.next++
	return nil
}

// fillUnknown seals the next package of a source of unknown size: a full
// package unless the source ends first, and the last one exactly when the
// source is at EOF (one byte is read ahead to tell).
func (s *sealReader) fillUnknown() error {
	i := s.next
	plain := s.in[:SealPackageSize]
	k := copy(plain, s.ahead)
	s.ahead = s.ahead[:0]
	m, err := io.ReadFull(s.src, plain[k:])
	k += m
	final := false
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		final = true
	case err != nil:
		return err
	default:
		// A full package: the source ends here only if nothing follows.
		var one [1]byte
		for tries := 0; ; tries++ {
			if tries == 100 {
				return io.ErrNoProgress
			}
			n, err := s.src.Read(one[:])
			if n > 0 {
				s.ahead = append(s.ahead[:0], one[0])
				break
			}
			if err == io.EOF {
				final = true
				break
			}
			if err != nil {
				return err
			}
		}
	}
	plain = plain[:k]
	if cap(s.sealed) < len(plain)+SealTagSize {
		s.sealed = make([]byte, 0, SealPackageSize+SealTagSize)
	}
	s.out = s.aead.Seal(s.sealed[:0], packageNonce(i, final), plain, s.header)
	s.next++
	if final {
		s.n = s.next
	}
	return nil
}

// openSealed returns the plaintext bytes [offset, offset+length) of an
// encrypted segment, fetching the header and only the packages the range
// touches, and decrypting as it streams.
func (l *Layer) openSealed(ctx context.Context, seg *metadatav1.Segment, stored *metadatav1.ServerSideEncryption, key Encryption, offset, length int64) (io.ReadCloser, error) {
	const op = "objects.openSealed"
	get := func(off, n int64) (io.ReadCloser, error) { return l.segmentBytes(ctx, seg, off, n) }
	r := sealedRangeOf(seg.GetSize(), offset, length)
	first, start, end := r.first, r.start, r.end
	var header []byte
	var body io.ReadCloser
	var err error
	if first == 0 {
		// One read for header and packages.
		if body, err = get(0, end); err != nil {
			return nil, err
		}
		header = make([]byte, SealHeaderSize)
		if _, err := io.ReadFull(body, header); err != nil {
			body.Close()
			return nil, errs.E(errs.DataLoss, op, err)
		}
	} else {
		hr, err := get(0, SealHeaderSize)
		if err != nil {
			return nil, err
		}
		header, err = io.ReadAll(io.LimitReader(hr, SealHeaderSize))
		hr.Close()
		if err != nil {
			return nil, err
		}
		if body, err = get(start, end-start); err != nil {
			return nil, err
		}
	}
	aead, err := l.blobAEAD(ctx, seg.GetPlacement().GetBlobId(), header, stored, key)
	if err != nil {
		body.Close()
		return nil, err
	}
	return newOpenReader(body, aead, header, seg.GetSize(), offset, length, r), nil
}

// sealedRange is which packages, and which blob bytes [start, end), hold
// a plaintext range of an encrypted segment.
type sealedRange struct {
	first, last int64
	start, end  int64
}

func sealedRangeOf(size, offset, length int64) sealedRange {
	total := packages(size)
	first := offset / SealPackageSize
	last := first
	if length > 0 {
		last = (offset + length - 1) / SealPackageSize
	}
	last = min(last, total-1)
	first = min(first, last)
	return sealedRange{
		first: first, last: last,
		start: SealHeaderSize + first*(SealPackageSize+SealTagSize),
		end:   SealHeaderSize + last*(SealPackageSize+SealTagSize) + min(SealPackageSize, size-last*SealPackageSize) + SealTagSize,
	}
}

// newOpenReader decrypts plaintext [offset, offset+length) of a segment of
// size bytes from body, which starts at package r.first.
func newOpenReader(body io.ReadCloser, aead cipher.AEAD, header []byte, size, offset, length int64, r sealedRange) *openReader {
	return &openReader{
		body: body, aead: aead, header: header, idx: r.first, last: r.last, total: packages(size),
		size: size, skip: offset - r.first*SealPackageSize, remaining: length,
		buf: make([]byte, SealPackageSize+SealTagSize),
	}
}

// blobAEAD recovers a blob's cipher from its header: the mode must be the
// version's, and the root key is unwrapped by authd (SSE-B2) or is the
// customer's key (SSE-C).
func (l *Layer) blobAEAD(ctx context.Context, blobID string, header []byte, stored *metadatav1.ServerSideEncryption, key Encryption) (cipher.AEAD, error) {
	const op = "objects.openSealed"
	h, err := parseSealHeader(header)
	if err != nil {
		return nil, err
	}
	if h.mode != stored.GetMode() {
		return nil, errs.Errorf(errs.DataLoss, op, "blob %s is encrypted as %v, its version says %v", blobID, h.mode, stored.GetMode())
	}
	var root []byte
	switch h.mode {
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2:
		if l.dataKeys == nil {
			return nil, errs.Errorf(errs.Unimplemented, op, "Server-side encryption is not configured on this gateway.")
		}
		resp, err := l.dataKeys.UnwrapDataKey(ctx, &authv1.UnwrapDataKeyRequest{Context: keyContext(blobID, h.salt[:]), WrappedKey: h.wrapped, KekVersion: h.kekVersion})
		if err != nil {
			return nil, err
		}
		root = resp.GetDataKey()
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C:
		if err := CheckReadKey(stored, key); err != nil {
			return nil, err
		}
		root = key.CustomerKey
	default:
		return nil, errs.Errorf(errs.DataLoss, op, "blob %s has an unknown encryption mode", blobID)
	}
	return newGCM(blobKey(h.mode, root, h.salt[:])), nil
}

// openReader decrypts packages idx..last of a blob whose ciphertext body
// starts at package idx, dropping skip bytes of the first and stopping
// after remaining bytes. A package that fails authentication is DataLoss:
// the bytes are never returned.
type openReader struct {
	body      io.ReadCloser
	aead      cipher.AEAD
	header    []byte
	idx, last int64
	total     int64
	size      int64
	skip      int64
	remaining int64
	buf       []byte
	out       []byte
	err       error
}

func (o *openReader) Read(p []byte) (int, error) {
	if o.remaining <= 0 && o.err == nil {
		o.err = io.EOF
	}
	for len(o.out) == 0 || o.err != nil {
		if o.err != nil {
			return 0, o.err
		}
		if o.idx > o.last {
			o.err = io.EOF
			return 0, io.EOF
		}
		if err := o.next(); err != nil {
			o.err = err
			return 0, err
		}
	}
	n := copy(p, o.out[:min(int64(len(o.out)), o.remaining)])
	o.out = o.out[n:]
	o.remaining -= int64(n)
	return n, nil
}

func (o *openReader) next() error {
	const op = "objects.open"
	plainLen := min(int64(SealPackageSize), o.size-o.idx*SealPackageSize)
	ct := o.buf[:plainLen+SealTagSize]
	if _, err := io.ReadFull(o.body, ct); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errs.Errorf(errs.DataLoss, op, "encrypted blob ends early at package %d", o.idx)
		}
		return err
	}
	plain, err := o.aead.Open(ct[:0], packageNonce(o.idx, o.idx == o.total-1), ct, o.header)
	if err != nil {
		return errs.Errorf(errs.DataLoss, op, "package %d of an encrypted blob fails authentication", o.idx)
	}
	o.idx++
	if o.skip > 0 {
		plain = plain[o.skip:]
		o.skip = 0
	}
	o.out = plain
	return nil
}

func (o *openReader) Close() error {
	if o.err == nil {
		o.err = io.ErrClosedPipe
	}
	return o.body.Close()
}
