package objects

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strconv"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// CopySource is the bytes a copy reads: a range of a stored version.
// S3 CopyObject and UploadPartCopy and B2 b2_copy_file and b2_copy_part all
// read through it.
type CopySource struct {
	// Version is the source version (an UPLOAD version, resolved and
	// authorized by the front-end).
	Version *metadatav1.ObjectVersion
	// Offset and Length select a range; Length < 0 means to the end.
	Offset, Length int64
	// Encryption carries the source's SSE-C key when it has one.
	Encryption Encryption
}

// resolve checks the source and returns its range.
func (s CopySource) resolve() (offset, length int64, err error) {
	const op = "objects.CopySource"
	v := s.Version
	if v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_UPLOAD {
		return 0, 0, errs.Errorf(errs.InvalidRequest, op, "The copy source is not an object.")
	}
	if err := CheckReadKey(v.GetEncryption(), s.Encryption); err != nil {
		return 0, 0, err
	}
	offset, length = s.Offset, s.Length
	if length < 0 {
		length = v.GetSize() - offset
	}
	if offset < 0 || length < 0 || offset+length > v.GetSize() {
		return 0, 0, errs.E(errs.InvalidRange, op, nil).WithDetail("actual_object_size", strconv.FormatInt(v.GetSize(), 10))
	}
	return offset, length, nil
}

// OpenSource checks a copy source (its key, its range) and opens its bytes.
// It returns the reader and the number of bytes it yields.
func (l *Layer) OpenSource(ctx context.Context, src CopySource) (io.ReadCloser, int64, error) {
	offset, length, err := src.resolve()
	if err != nil {
		return nil, 0, err
	}
	return l.OpenWith(ctx, src.Version, offset, length, ReadOptions{Encryption: src.Encryption}), length, nil
}

// CopyInput describes a server-side copy into a new version.
type CopyInput struct {
	Source CopySource
	// The destination, as for Put: bucket, key, content type and info
	// (the front-end decides whether they come from the source or the
	// request), encryption (nil: the destination bucket's default),
	// object lock and the write precondition.
	Bucket       *metadatav1.Bucket
	Key          string
	ContentType  string
	Info         map[string]string
	Encryption   *metadatav1.ServerSideEncryption
	CustomerKey  []byte
	Retention    *metadatav1.Retention
	LegalHold    metadatav1.LegalHold
	Precondition *metadatav1.Precondition
	// Tags are the new version's tags (the front-end copies the source's
	// or takes the request's).
	Tags []*metadatav1.Tag
	// StorageClass is the new version's S3 storage class (S3 does not carry
	// the source's: unspecified is STANDARD).
	StorageClass metadatav1.StorageClass
	// ChecksumAlgorithm is the additional checksum the copy computes and
	// stores; unspecified means the source's full-object algorithm, if any.
	ChecksumAlgorithm metadatav1.ChecksumAlgorithm
}

// Copy reads the source range and writes it as a new single-part version:
// decrypted with the source's keys, re-encrypted as the destination asks,
// with fresh digests (its ETag is the MD5 of the copied bytes, spec/s3.md
// §6.2). When the whole of a source with a known MD5 is copied, that MD5
// is verified before the commit, so a copy never commits bytes that differ
// from what the source promised.
func (l *Layer) Copy(ctx context.Context, in CopyInput) (*metadatav1.ObjectVersion, error) {
	rc, n, err := l.OpenSource(ctx, in.Source)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if n > l.MaxObjectSize {
		return nil, errs.Errorf(errs.InvalidRequest, "objects.Copy",
			"The specified copy source is larger than the maximum allowable size for a copy source: %d", l.MaxObjectSize)
	}
	expect := Expect{Size: n, Algorithm: in.ChecksumAlgorithm}
	src := in.Source.Version
	if expect.Algorithm == metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED {
		// The copy keeps the source's algorithm; a composite (multipart)
		// source's becomes a full-object checksum of the new single part.
		if sums := src.GetChecksums(); len(sums) > 0 {
			expect.Algorithm = sums[0].GetAlgorithm()
		}
	}
	if n == src.GetSize() {
		if raw, err := hex.DecodeString(src.GetContentMd5()); err == nil && len(raw) == 16 {
			expect.ContentMD5 = base64.StdEncoding.EncodeToString(raw)
		}
	}
	v, err := l.Put(ctx, PutInput{
		Bucket: in.Bucket, Key: in.Key, Body: rc, Expect: expect, ContentType: in.ContentType, Info: in.Info,
		Precondition: in.Precondition, Encryption: in.Encryption, CustomerKey: in.CustomerKey,
		Retention: in.Retention, LegalHold: in.LegalHold, Tags: in.Tags, StorageClass: in.StorageClass,
	})
	if errs.KindOf(err) == errs.BadDigest && expect.ContentMD5 != "" {
		// Our own MD5 check failed: the source's bytes are not what it
		// recorded. That is damage, not a client error.
		return nil, errs.E(errs.DataLoss, "objects.Copy", err)
	}
	return v, err
}
