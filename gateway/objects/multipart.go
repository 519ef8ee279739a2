package objects

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strconv"
	"strings"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Multipart uploads (S3) and large files (B2) are one thing: an upload is a
// START version whose version id is the upload id (= the B2 fileId of the
// unfinished large file); parts are committed one by one; completing
// assembles listed parts into an UPLOAD version with the same id. The
// protocol differences stay in the front-ends: S3 checks parts by MD5 ETag
// and x-amz-checksum-*, B2 by SHA-1; both are optional fields here.

// Multipart limits (spec/s3.md §6.5, spec/b2-native.md).
const (
	// MaxPartNumber is the highest part number; part numbers start at 1.
	MaxPartNumber = 10000
	// MinPartSize is the smallest part but the last: B2's 5,000,000 bytes,
	// which S3 uses too (AWS's 5 MiB is stricter; B2 clients rely on 5 MB).
	MinPartSize = 5_000_000
)

// StartInput describes a new multipart upload / large file.
type StartInput struct {
	Bucket      *metadatav1.Bucket
	Key         string
	ContentType string
	Info        map[string]string
	// Encryption is the encryption the request asked for (nil: the
	// bucket's default); every part is encrypted the same way. SSE-C needs
	// CustomerKey, which is checked and never stored (only its MD5 is).
	Encryption  *metadatav1.ServerSideEncryption
	CustomerKey []byte
	Retention   *metadatav1.Retention
	LegalHold   metadatav1.LegalHold
	// Tags are the S3 object tags the completed object will carry.
	Tags []*metadatav1.Tag
	// StorageClass is the S3 storage class the completed object keeps.
	StorageClass metadatav1.StorageClass
	// ChecksumAlgorithm is the additional checksum every part gets (S3
	// x-amz-checksum-algorithm); unspecified for none.
	ChecksumAlgorithm metadatav1.ChecksumAlgorithm
	// ChecksumType is COMPOSITE or FULL_OBJECT; unspecified picks S3's
	// default for the algorithm (FULL_OBJECT for CRC64NVME, else COMPOSITE).
	ChecksumType metadatav1.ChecksumType
}

// ResolveChecksumType validates an algorithm/type pair and fills in the
// default type, following S3: CRC64NVME is FULL_OBJECT only, SHA-1 and
// SHA-256 are COMPOSITE only, CRC32 and CRC32C may be either.
func ResolveChecksumType(alg metadatav1.ChecksumAlgorithm, typ metadatav1.ChecksumType) (metadatav1.ChecksumType, error) {
	const op = "objects.ChecksumType"
	none := metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED
	switch {
	case alg == none && typ == metadatav1.ChecksumType_CHECKSUM_TYPE_UNSPECIFIED:
		return typ, nil
	case alg == none:
		return 0, errs.Errorf(errs.InvalidRequest, op, "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
	case typ == metadatav1.ChecksumType_CHECKSUM_TYPE_UNSPECIFIED:
		if alg == metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME {
			return metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT, nil
		}
		return metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE, nil
	case typ == metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT && !CanCombine(alg):
		return 0, errs.Errorf(errs.InvalidRequest, op, "The FULL_OBJECT checksum type cannot be used with the %s checksum algorithm.", AlgorithmName(alg))
	case typ == metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE && alg == metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME:
		return 0, errs.Errorf(errs.InvalidRequest, op, "The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.")
	}
	return typ, nil
}

// StartUpload starts a multipart upload / large file and returns its START
// version; the version id is the upload id.
func (l *Layer) StartUpload(ctx context.Context, in StartInput) (*metadatav1.ObjectVersion, error) {
	if err := ValidateKey(in.Key); err != nil {
		return nil, err
	}
	typ, err := ResolveChecksumType(in.ChecksumAlgorithm, in.ChecksumType)
	if err != nil {
		return nil, err
	}
	req, err := RequestedEncryption(in.Encryption, in.CustomerKey)
	if err != nil {
		return nil, err
	}
	enc, err := l.ResolveEncryption(in.Bucket, req)
	if err != nil {
		return nil, err
	}
	resp, err := l.meta.StartUpload(ctx, &metadatav1.StartUploadRequest{Version: &metadatav1.ObjectVersion{
		BucketId: in.Bucket.GetBucketId(), Key: in.Key, ContentType: in.ContentType, Info: in.Info,
		Encryption: enc.Metadata(), Retention: in.Retention, LegalHold: in.LegalHold,
		ChecksumAlgorithm: in.ChecksumAlgorithm, ChecksumType: typ, Tags: in.Tags, StorageClass: in.StorageClass,
	}})
	if err != nil {
		return nil, err
	}
	return resp.GetUpload(), nil
}

// GetUpload returns the START version of an upload. When bucketID or key is
// given, an upload of another bucket or key is reported as missing, so an
// upload id is only usable under the name it was started with.
func (l *Layer) GetUpload(ctx context.Context, uploadID, bucketID, key string) (*metadatav1.ObjectVersion, error) {
	const op = "objects.GetUpload"
	if uploadID == "" {
		return nil, errs.E(errs.UploadNotFound, op, nil)
	}
	resp, err := l.meta.GetUpload(ctx, &metadatav1.GetUploadRequest{UploadId: uploadID})
	if err != nil {
		if errs.Is(err, errs.InvalidArgument) || errs.Is(err, errs.VersionNotFound) {
			return nil, errs.E(errs.UploadNotFound, op, err)
		}
		return nil, err
	}
	u := resp.GetUpload()
	if (bucketID != "" && u.GetBucketId() != bucketID) || (key != "" && u.GetKey() != key) {
		return nil, errs.E(errs.UploadNotFound, op, nil)
	}
	return u, nil
}

// PartInput describes one part upload.
type PartInput struct {
	Upload     *metadatav1.ObjectVersion
	PartNumber int32
	Body       io.Reader
	// Expect lists the client's digests: Size is required; ContentMD5 and
	// Algorithm/Checksum for S3, SHA1Hex for B2. When the upload has a
	// checksum algorithm and Expect names none, the part's checksum is
	// computed (not verified) so the object checksum can be assembled.
	Expect Expect
	// CustomerKey is the SSE-C key; parts of an SSE-C upload need the key
	// the upload was started with, other parts must not carry one.
	CustomerKey []byte
}

// ValidatePartNumber checks a part number is in 1..MaxPartNumber.
func ValidatePartNumber(n int64) error {
	if n < 1 || n > MaxPartNumber {
		return errs.Errorf(errs.InvalidArgument, "objects.PartNumber", "Part number must be an integer between 1 and 10000, inclusive.").
			WithDetail("argument_name", "partNumber")
	}
	return nil
}

// PutPart streams one part into blobstore through a digest-checking reader
// and, once every digest matched, commits it. A part with the same number
// is replaced; its blob is deleted once metadata no longer references it.
func (l *Layer) PutPart(ctx context.Context, in PartInput) (*metadatav1.Part, error) {
	const op = "objects.PutPart"
	if err := ValidatePartNumber(int64(in.PartNumber)); err != nil {
		return nil, err
	}
	if in.Expect.Size < 0 {
		return nil, errs.E(errs.MissingContentLength, op, nil)
	}
	if in.Expect.Size > l.MaxObjectSize {
		return nil, errs.Errorf(errs.EntityTooLarge, op, "Your proposed upload exceeds the maximum allowed part size.").
			WithDetail("max_size_allowed", strconv.FormatInt(l.MaxObjectSize, 10))
	}
	expect, err := partExpect(in.Upload, in.Expect)
	if err != nil {
		return nil, err
	}
	enc, err := l.partEncryption(in.Upload, in.CustomerKey)
	if err != nil {
		return nil, err
	}
	seg, _, err := l.PutSegment(ctx, in.Body, expect, enc)
	if err != nil {
		return nil, err
	}
	seg.PartNumber = in.PartNumber
	return l.commitPart(ctx, op, in.Upload, in.PartNumber, seg)
}

// CopyPartInput describes a part copied from a stored version (S3
// UploadPartCopy, B2 b2_copy_part).
type CopyPartInput struct {
	Upload     *metadatav1.ObjectVersion
	PartNumber int32
	// Source is the version and range to copy (resolved and authorized by
	// the front-end), with its SSE-C key when it has one.
	Source CopySource
	// CustomerKey is the destination upload's SSE-C key, when it has one.
	CustomerKey []byte
}

// CopyPart reads a range of a stored version — decrypted with the source's
// keys — and stores it as a part of upload, encrypted as the upload says,
// with fresh digests. When a whole source with a known MD5 is copied, that
// MD5 is verified before the commit.
func (l *Layer) CopyPart(ctx context.Context, in CopyPartInput) (*metadatav1.Part, error) {
	const op = "objects.CopyPart"
	if err := ValidatePartNumber(int64(in.PartNumber)); err != nil {
		return nil, err
	}
	rc, n, err := l.OpenSource(ctx, in.Source)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if n > l.MaxObjectSize {
		return nil, errs.Errorf(errs.InvalidRequest, op,
			"The specified copy source is larger than the maximum allowable size for a copy source: %d", l.MaxObjectSize)
	}
	expect := Expect{Size: n}
	if src := in.Source.Version; n == src.GetSize() {
		if raw, err := hex.DecodeString(src.GetContentMd5()); err == nil && len(raw) == 16 {
			expect.ContentMD5 = base64.StdEncoding.EncodeToString(raw)
		}
	}
	p, err := l.PutPart(ctx, PartInput{Upload: in.Upload, PartNumber: in.PartNumber, Body: rc, Expect: expect, CustomerKey: in.CustomerKey})
	if errs.KindOf(err) == errs.BadDigest && expect.ContentMD5 != "" {
		// Our own check failed: the source's bytes are not what it
		// recorded. That is damage, not a client error.
		return nil, errs.E(errs.DataLoss, op, err)
	}
	return p, err
}

// partEncryption is how a part of upload is encrypted: as the upload says,
// with the same customer key for SSE-C.
func (l *Layer) partEncryption(upload *metadatav1.ObjectVersion, customerKey []byte) (Encryption, error) {
	const op = "objects.PutPart"
	stored := upload.GetEncryption()
	switch stored.GetMode() {
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C:
		if len(customerKey) == 0 {
			return Encryption{}, errs.Errorf(errs.InvalidRequest, op,
				"The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.")
		}
		if KeyMD5(customerKey) != stored.GetCustomerKeyMd5() {
			return Encryption{}, errs.Errorf(errs.InvalidRequest, op,
				"The provided encryption parameters did not match the ones used originally.")
		}
		return Encryption{Mode: stored.GetMode(), CustomerKey: customerKey}, nil
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2:
		if len(customerKey) > 0 {
			return Encryption{}, errs.Errorf(errs.InvalidRequest, op, "The encryption parameters are not applicable to this upload.")
		}
		return l.ResolveEncryption(nil, Encryption{Mode: stored.GetMode()})
	}
	if len(customerKey) > 0 {
		return Encryption{}, errs.Errorf(errs.InvalidRequest, op, "The encryption parameters are not applicable to this upload.")
	}
	return Encryption{}, nil
}

// partExpect applies the upload's checksum algorithm to a part's digests.
func partExpect(upload *metadatav1.ObjectVersion, e Expect) (Expect, error) {
	want := upload.GetChecksumAlgorithm()
	switch {
	case want == metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED:
		// An upload without an algorithm still stores (and verifies) what a
		// part announces: SDKs send CRC32 on every part by default, and
		// refusing that (as AWS does) would break them for nothing.
	case e.Algorithm == metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED:
		e.Algorithm = want
	case e.Algorithm != want:
		return e, errs.Errorf(errs.InvalidRequest, "objects.PutPart",
			"Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
			strings.ToLower(AlgorithmName(want)), strings.ToLower(AlgorithmName(e.Algorithm)))
	}
	return e, nil
}

// commitPart records a part whose bytes are durable; on a certain failure
// the blob is deleted.
func (l *Layer) commitPart(ctx context.Context, op string, upload *metadatav1.ObjectVersion, n int32, seg *metadatav1.Segment) (*metadatav1.Part, error) {
	resp, err := l.meta.CommitPart(ctx, &metadatav1.CommitPartRequest{Part: &metadatav1.Part{
		UploadId: upload.GetVersionId(), PartNumber: n, Segment: seg,
	}})
	if err != nil {
		l.discard(op, err, seg.GetPlacement())
		if errs.Is(err, errs.UploadNotFound) || errs.Is(err, errs.VersionNotFound) {
			// Aborted or completed while the bytes streamed.
			return nil, errs.E(errs.UploadNotFound, op, err)
		}
		return nil, err
	}
	if old := resp.GetReplaced(); old != nil && old.GetSegment().GetPlacement().GetBlobId() != seg.GetPlacement().GetBlobId() {
		l.deletePartBlobs(ctx, op, old)
	}
	return resp.GetPart(), nil
}

// CompleteInput describes the assembly of an upload.
type CompleteInput struct {
	UploadID string
	// BucketID and Key, when set, must match the upload's. They also let a
	// retried completion whose first attempt succeeded return the version
	// instead of UploadNotFound.
	BucketID string
	Key      string
	// Parts in the order of the object: strictly ascending part numbers.
	Parts []*metadatav1.PartRef
	// MinPartSize bounds every part but the last (MinPartSize for both APIs).
	MinPartSize  int64
	Precondition *metadatav1.Precondition
	// Checksums are whole-object checksums the client announced; they are
	// verified against the computed one, never stored as given.
	Checksums []*metadatav1.Checksum
	// Size, when not nil, is the object size the client expects (S3
	// x-amz-mp-object-size).
	Size *int64
}

// ValidatePartRefs checks a completion's part list by itself: 1 to
// MaxPartNumber entries with valid, strictly ascending part numbers.
func ValidatePartRefs(parts []*metadatav1.PartRef) error {
	const op = "objects.CompleteUpload"
	if len(parts) == 0 {
		return errs.Errorf(errs.MalformedBody, op, "You must specify at least one part.")
	}
	if len(parts) > MaxPartNumber {
		return errs.Errorf(errs.MalformedBody, op, "A completion lists at most 10000 parts.")
	}
	prev := int32(0)
	for _, p := range parts {
		n := p.GetPartNumber()
		if n < 1 || n > MaxPartNumber {
			return errs.Errorf(errs.InvalidPart, op, "Part number %d is not between 1 and 10000.", n)
		}
		if n <= prev {
			return errs.E(errs.InvalidPartOrder, op, nil)
		}
		prev = n
	}
	return nil
}

// CompleteUpload checks the listed parts against the stored ones, computes
// the object checksum the upload asked for, and commits the UPLOAD version
// (same id as the upload, ETag md5-of-md5s-N). Parts not listed are
// deleted. Every check happens before anything is committed.
func (l *Layer) CompleteUpload(ctx context.Context, in CompleteInput) (*metadatav1.ObjectVersion, error) {
	const op = "objects.CompleteUpload"
	if err := ValidatePartRefs(in.Parts); err != nil {
		return nil, err
	}
	upload, err := l.GetUpload(ctx, in.UploadID, in.BucketID, in.Key)
	if err != nil {
		if errs.Is(err, errs.UploadNotFound) {
			if v := l.completedBefore(ctx, in); v != nil {
				return v, nil
			}
		}
		return nil, err
	}
	stored, err := l.Parts(ctx, in.UploadID, 0)
	if err != nil {
		return nil, err
	}
	var size int64
	sums := make([]PartChecksum, 0, len(in.Parts))
	alg, typ := upload.GetChecksumAlgorithm(), upload.GetChecksumType()
	if alg == metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED && len(in.Checksums) > 0 {
		// No algorithm at the start, but the client announces an object
		// checksum: honour it if every part carries that algorithm.
		alg = in.Checksums[0].GetAlgorithm()
		if typ, err = ResolveChecksumType(alg, in.Checksums[0].GetType()); err != nil {
			return nil, err
		}
	}
	// Every listed part must exist as described before sizes matter: a
	// wrong ETag is InvalidPart even when the parts are also too small.
	for _, ref := range in.Parts {
		p := stored[ref.GetPartNumber()]
		seg := p.GetSegment()
		if p == nil || !digestEqual(ref.GetMd5(), seg.GetMd5()) || !digestEqual(ref.GetSha1(), seg.GetSha1()) {
			return nil, errs.E(errs.InvalidPart, op, nil).WithDetail("part_number", strconv.Itoa(int(ref.GetPartNumber())))
		}
		for _, want := range ref.GetChecksums() {
			if got := checksumOf(seg.GetChecksums(), want.GetAlgorithm()); got != want.GetValue() {
				return nil, errs.Errorf(errs.InvalidPart, op, "The %s checksum of part %d does not match.",
					AlgorithmName(want.GetAlgorithm()), ref.GetPartNumber()).WithDetail("part_number", strconv.Itoa(int(ref.GetPartNumber())))
			}
		}
	}
	for i, ref := range in.Parts {
		seg := stored[ref.GetPartNumber()].GetSegment()
		if i < len(in.Parts)-1 && seg.GetSize() < in.MinPartSize {
			return nil, errs.E(errs.EntityTooSmall, op, nil).
				WithDetail("part_number", strconv.Itoa(int(ref.GetPartNumber()))).
				WithDetail("proposed_size", strconv.FormatInt(seg.GetSize(), 10)).
				WithDetail("min_size_allowed", strconv.FormatInt(in.MinPartSize, 10))
		}
		size += seg.GetSize()
		if alg != metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED {
			v := checksumOf(seg.GetChecksums(), alg)
			if v == "" {
				return nil, errs.Errorf(errs.InvalidRequest, op, "Part %d has no %s checksum.", ref.GetPartNumber(), AlgorithmName(alg))
			}
			sums = append(sums, PartChecksum{Size: seg.GetSize(), Value: v})
		}
	}
	if in.Size != nil && *in.Size != size {
		return nil, errs.Errorf(errs.InvalidRequest, op, "The provided object size %d does not match the sum of the parts, %d.", *in.Size, size)
	}
	var checksums []*metadatav1.Checksum
	if alg != metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED {
		sum, err := MultipartChecksum(alg, typ, sums)
		if err != nil {
			return nil, err
		}
		if err := verifyObjectChecksums(in.Checksums, sum); err != nil {
			return nil, err
		}
		checksums = []*metadatav1.Checksum{sum}
	}
	resp, err := l.meta.CompleteUpload(ctx, &metadatav1.CompleteUploadRequest{
		UploadId: in.UploadID, Parts: in.Parts, MinPartSize: in.MinPartSize,
		Precondition: in.Precondition, Checksums: checksums,
	})
	if err != nil {
		if errs.Is(err, errs.UploadNotFound) || errs.Is(err, errs.VersionNotFound) {
			// Completed or aborted concurrently, or a retry of a completion
			// whose answer was lost.
			if v := l.completedBefore(ctx, in); v != nil {
				return v, nil
			}
			return nil, errs.E(errs.UploadNotFound, op, err)
		}
		return nil, err
	}
	l.deletePartBlobs(ctx, op, resp.GetDiscarded()...)
	return resp.GetVersion(), nil
}

// completedBefore returns the version a completion of the same upload with
// the same parts already produced, so a client retrying a completion whose
// answer it lost gets success, not NoSuchUpload.
func (l *Layer) completedBefore(ctx context.Context, in CompleteInput) *metadatav1.ObjectVersion {
	if in.BucketID == "" || in.Key == "" {
		return nil
	}
	resp, err := l.meta.GetObject(ctx, &metadatav1.GetObjectRequest{BucketId: in.BucketID, Key: in.Key, VersionId: in.UploadID})
	if err != nil {
		return nil
	}
	v := resp.GetVersion()
	if v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_UPLOAD || len(v.GetSegments()) != len(in.Parts) {
		return nil
	}
	for i, ref := range in.Parts {
		s := v.GetSegments()[i]
		if s.GetPartNumber() != ref.GetPartNumber() || !digestEqual(ref.GetMd5(), s.GetMd5()) || !digestEqual(ref.GetSha1(), s.GetSha1()) {
			return nil
		}
	}
	return v
}

// ListParts lists up to count parts of an upload from part number start
// (S3 ListParts, B2 b2_list_parts). next is the part number the listing
// continues from, 0 when no part follows.
func (l *Layer) ListParts(ctx context.Context, uploadID string, start, count int32) (parts []*metadatav1.Part, next int32, err error) {
	resp, err := l.meta.ListParts(ctx, &metadatav1.ListPartsRequest{UploadId: uploadID, StartPartNumber: start, PageSize: count})
	if err != nil {
		return nil, 0, err
	}
	return resp.GetParts(), resp.GetNextPartNumber(), nil
}

// Parts reads the stored parts of an upload numbered up to upTo (0: all),
// keyed by number: what a completion checks its part list against.
func (l *Layer) Parts(ctx context.Context, uploadID string, upTo int32) (map[int32]*metadatav1.Part, error) {
	if upTo <= 0 {
		upTo = MaxPartNumber
	}
	out := map[int32]*metadatav1.Part{}
	for next := int32(1); next != 0 && next <= upTo; {
		parts, n, err := l.ListParts(ctx, uploadID, next, 1000)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			out[p.GetPartNumber()] = p
		}
		if n <= next {
			break
		}
		next = n
	}
	return out, nil
}

// verifyObjectChecksums compares client-announced object checksums with the
// computed one. A composite value may be announced with or without its
// "-N" suffix (minio-go sends it bare).
func verifyObjectChecksums(announced []*metadatav1.Checksum, got *metadatav1.Checksum) error {
	const op = "objects.CompleteUpload"
	for _, a := range announced {
		name := AlgorithmName(a.GetAlgorithm())
		if a.GetAlgorithm() != got.GetAlgorithm() {
			return errs.Errorf(errs.InvalidRequest, op, "The upload was created with the %s checksum algorithm, not %s.",
				AlgorithmName(got.GetAlgorithm()), name)
		}
		if t := a.GetType(); t != metadatav1.ChecksumType_CHECKSUM_TYPE_UNSPECIFIED && t != got.GetType() {
			return errs.Errorf(errs.InvalidRequest, op, "The upload was created with the %s checksum type.", typeName(got.GetType()))
		}
		want, value := a.GetValue(), got.GetValue()
		if got.GetType() == metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE && !strings.Contains(want, "-") {
			value, _, _ = strings.Cut(value, "-")
		}
		if want != value {
			return errs.Errorf(errs.BadDigest, op, "The %s you specified did not match the calculated checksum.", name).
				WithDetail("algorithm", name)
		}
	}
	return nil
}

func typeName(t metadatav1.ChecksumType) string {
	if t == metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT {
		return "FULL_OBJECT"
	}
	return "COMPOSITE"
}

// checksumOf returns the value of alg among sums, or "".
func checksumOf(sums []*metadatav1.Checksum, alg metadatav1.ChecksumAlgorithm) string {
	for _, s := range sums {
		if s.GetAlgorithm() == alg {
			return s.GetValue()
		}
	}
	return ""
}

// digestEqual compares an expected hex digest (empty: not checked) with a
// stored one, ignoring case.
func digestEqual(want, stored string) bool {
	return want == "" || strings.EqualFold(want, stored)
}

// AbortUpload cancels an upload; its parts' blobs are deleted.
func (l *Layer) AbortUpload(ctx context.Context, uploadID string) error {
	const op = "objects.AbortUpload"
	resp, err := l.meta.AbortUpload(ctx, &metadatav1.AbortUploadRequest{UploadId: uploadID})
	if err != nil {
		if errs.Is(err, errs.VersionNotFound) || errs.Is(err, errs.InvalidArgument) {
			return errs.E(errs.UploadNotFound, op, err)
		}
		return err
	}
	l.deletePartBlobs(ctx, op, resp.GetParts()...)
	return nil
}
