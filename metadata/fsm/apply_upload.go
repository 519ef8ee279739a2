package fsm

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Unfinished uploads (S3 multipart uploads, B2 large files).
//
// An upload is a START version: it lives in v/ and i/ like every version
// (so ListObjectVersions{include_unfinished} shows it in place and the
// bucket is not empty while it exists), never in c/, and is indexed in u/
// for ListUploads. Its version id is the upload id. Parts live in p/ under
// the upload id, and their blobs are recorded in blobs/ with a fourth key
// component, so CheckBlobReferences, GetBlobPlacement, ListPlacements and
// UpdatePlacement see them like any version's blobs.
//
// CompleteUpload turns the START record into an UPLOAD with the same
// version id, moved to the completing command's index in v/: a completed
// upload is ordered among its key's versions by when it completed, so it
// becomes the current version even if other versions were committed while
// its parts were uploading. It keeps its create_time (the start: B2's
// uploadTimestamp of a large file and S3's LastModified of a multipart
// object are both the initiation time) and gets commit_time = completion.

const (
	opCommitPart     = "metadata.CommitPart"
	opCompleteUpload = "metadata.CompleteUpload"
	opAbortUpload    = "metadata.AbortUpload"
	opGetUpload      = "metadata.GetUpload"
)

// MaxPartNumber is the highest part number (S3 and B2).
const MaxPartNumber = 10000

// upload returns the START version uploadID of the tree with its v/ key, or nil.
func (t objectTree) upload(uploadID string) (*metadatav1.ObjectVersion, []byte, error) {
	v, vk, err := t.byID(uploadID)
	if err != nil || v == nil || v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_START {
		return nil, nil, err
	}
	return v, vk, nil
}

// partsOfUpload returns every part of an upload in part-number order.
func (t objectTree) partsOfUpload(uploadID string) ([]*metadatav1.Part, error) {
	var out []*metadatav1.Part
	p := partsOf(uploadID)
	c := t.parts.Cursor()
	for k, data := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(k) == len(p)+4; k, data = c.Next() {
		part, err := decodePart(data)
		if err != nil {
			return nil, err
		}
		out = append(out, part)
	}
	return out, nil
}

func decodePart(data []byte) (*metadatav1.Part, error) {
	p := &metadatav1.Part{}
	if err := proto.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("fsm: decode part: %w", err)
	}
	return p, nil
}

// uploadNotFound is the refusal for an unknown (or finished) upload id.
func uploadNotFound(op, bucketID, uploadID string) *errs.Error {
	return errs.Errorf(errs.UploadNotFound, op, "no unfinished upload %s", uploadID).WithBucket(bucketID).WithDetail("upload_id", uploadID)
}

// applyStartUpload adds a START version (an unfinished large file). It is
// listed among the versions but never becomes current and never shadows the
// key's uploads.
func (w *writer) applyStartUpload(index uint64, now int64, op *fsmv1.StartUpload) *Result {
	u := op.GetUpload()
	if u.GetBucketId() == "" || u.GetKey() == "" || u.GetVersionId() == "" {
		return refuse(errs.Errorf(errs.InvalidArgument, opStartUpload, "bucket id, key and version id are required"))
	}
	tree, ok := w.objects(u.BucketId)
	if !ok {
		return refuse(errs.E(errs.BucketNotFound, opStartUpload, nil).WithBucket(u.BucketId))
	}
	if tree.ids.Get([]byte(u.VersionId)) != nil {
		return refuse(errs.Errorf(errs.Conflict, opStartUpload, "version id %s exists", u.VersionId))
	}
	b, err := w.bucket(u.BucketId)
	must(err)
	if e := applyLockSettings(opStartUpload, b, u, now, true); e != nil {
		return refuse(e)
	}
	u.Action = metadatav1.VersionAction_VERSION_ACTION_START
	u.CreateIndex, u.ModifyIndex = index, index
	u.Segments, u.IsLatest = nil, false
	vk := versionKey(u.Key, index)
	put(tree.versions, vk, u)
	must(tree.ids.Put([]byte(u.VersionId), vk))
	must(tree.uploads.Put(uploadKey(u.Key, index), []byte{}))
	w.emit(versionChange(u, false))
	return &Result{Version: u}
}

// applyCommitPart records a part; an earlier part with the same number is
// replaced (and returned, its blob no longer referenced by it).
func (w *writer) applyCommitPart(index uint64, op *fsmv1.CommitPart) *Result {
	p := op.GetPart()
	tree, ok := w.objects(op.GetBucketId())
	if !ok {
		return refuse(uploadNotFound(opCommitPart, op.GetBucketId(), p.GetUploadId()))
	}
	up, _, err := tree.upload(p.GetUploadId())
	must(err)
	if up == nil {
		return refuse(uploadNotFound(opCommitPart, op.GetBucketId(), p.GetUploadId()))
	}
	pk := partKey(p.UploadId, p.PartNumber)
	var replaced *metadatav1.Part
	if data := tree.parts.Get(pk); data != nil {
		replaced = &metadatav1.Part{}
		must(proto.Unmarshal(data, replaced))
		w.partRefs(up.BucketId, replaced, false)
	}
	p.Segment.PartNumber = p.PartNumber
	p.CreateIndex = index
	put(tree.parts, pk, p)
	w.partRefs(up.BucketId, p, true)
	w.emit(versionChange(up, false))
	return &Result{Part: p, Replaced: replaced}
}

// partRefs adds or removes the blobs/ reference of a part.
func (w *writer) partRefs(bucketID string, p *metadatav1.Part, add bool) {
	id := p.GetSegment().GetPlacement().GetBlobId()
	if id == "" {
		return
	}
	k := partBlobRef(id, bucketID, p.GetUploadId(), p.GetPartNumber())
	if add {
		must(w.tx.Bucket(bktBlobs).Put(k, []byte{}))
	} else {
		must(w.tx.Bucket(bktBlobs).Delete(k))
	}
}

// removeUpload deletes a START version, its u/ entry and its parts (with
// their blob references), and returns the parts.
func (w *writer) removeUpload(tree objectTree, up *metadatav1.ObjectVersion, vk []byte) []*metadatav1.Part {
	parts, err := tree.partsOfUpload(up.VersionId)
	must(err)
	for _, p := range parts {
		must(tree.parts.Delete(partKey(p.UploadId, p.PartNumber)))
		w.partRefs(up.BucketId, p, false)
	}
	_, index, _ := splitVersionKey(vk)
	must(tree.versions.Delete(vk))
	must(tree.ids.Delete([]byte(up.VersionId)))
	must(tree.uploads.Delete(uploadKey(up.Key, index)))
	w.emit(versionChange(up, true))
	return parts
}

// applyAbortUpload cancels an upload: the START version and its parts go.
func (w *writer) applyAbortUpload(op *fsmv1.AbortUpload) *Result {
	tree, ok := w.objects(op.GetBucketId())
	if !ok {
		return refuse(uploadNotFound(opAbortUpload, op.GetBucketId(), op.GetUploadId()))
	}
	up, vk, err := tree.upload(op.GetUploadId())
	must(err)
	if up == nil {
		return refuse(uploadNotFound(opAbortUpload, op.GetBucketId(), op.GetUploadId()))
	}
	parts := w.removeUpload(tree, up, vk)
	return &Result{Version: up, Parts: parts}
}

// applyCompleteUpload assembles the listed parts into the upload's final
// version (see the comment at the top of the file for its place and times).
func (w *writer) applyCompleteUpload(index uint64, now int64, op *fsmv1.CompleteUpload) *Result {
	req := op.GetRequest()
	tree, ok := w.objects(op.GetBucketId())
	if !ok {
		return refuse(uploadNotFound(opCompleteUpload, op.GetBucketId(), req.GetUploadId()))
	}
	up, startKey, err := tree.upload(req.GetUploadId())
	must(err)
	if up == nil {
		return refuse(uploadNotFound(opCompleteUpload, op.GetBucketId(), req.GetUploadId()))
	}
	all, err := tree.partsOfUpload(up.VersionId)
	must(err)
	byNumber := make(map[int32]*metadatav1.Part, len(all))
	for _, p := range all {
		byNumber[p.PartNumber] = p
	}
	chosen, e := choosePartsToComplete(up, req, byNumber)
	if e != nil {
		return refuse(e)
	}
	if e := checkPrecondition(opCompleteUpload, tree, up.BucketId, up.Key, req.GetPrecondition()); e != nil {
		return refuse(e)
	}
	b, err := w.bucket(up.BucketId)
	must(err)
	v := proto.Clone(up).(*metadatav1.ObjectVersion)
	if e := applyLockSettings(opCompleteUpload, b, v, now, false); e != nil {
		return refuse(e)
	}

	// Every check passed: write.
	var discarded []*metadatav1.Part
	listed := make(map[int32]bool, len(chosen))
	for _, p := range chosen {
		listed[p.PartNumber] = true
	}
	for _, p := range all {
		if !listed[p.PartNumber] {
			discarded = append(discarded, p)
		}
	}
	// The START record and the parts go (with their references); the
	// version takes the listed parts' segments and references their blobs.
	w.removeUpload(tree, up, startKey)
	v.Action = metadatav1.VersionAction_VERSION_ACTION_UPLOAD
	v.Segments = nil
	v.Size = 0
	for _, p := range chosen {
		seg := proto.Clone(p.GetSegment()).(*metadatav1.Segment)
		seg.PartNumber = p.PartNumber
		v.Segments = append(v.Segments, seg)
		v.Size += seg.GetSize()
	}
	v.Etag = MultipartETag(chosen)
	v.ContentMd5 = ""
	v.ContentSha1 = "none"
	if s := v.GetInfo()["large_file_sha1"]; s != "" {
		v.ContentSha1 = s
	}
	v.Checksums = req.GetChecksums()
	v.CreateIndex, v.ModifyIndex = index, index
	v.CommitTimeUnixNanos = now
	v.IsLatest = false
	vk := versionKey(v.Key, index)
	data := put(tree.versions, vk, v)
	must(tree.current.Put([]byte(v.Key), data))
	must(tree.ids.Put([]byte(v.VersionId), vk))
	w.addBlobRefs(v)
	w.emit(versionChange(v, false))
	v.IsLatest = true
	return &Result{Version: v, Parts: discarded}
}

// choosePartsToComplete checks the client's part list against the stored
// parts: at least one, strictly ascending (InvalidPartOrder), each present
// with the MD5 / SHA-1 / checksums the client names (InvalidPart, with the
// details part_number and reason = missing | md5_mismatch | sha1_mismatch |
// checksum_mismatch), every part but the last at least min_part_size
// (EntityTooSmall, detail part_number).
func choosePartsToComplete(up *metadatav1.ObjectVersion, req *metadatav1.CompleteUploadRequest, parts map[int32]*metadatav1.Part) ([]*metadatav1.Part, *errs.Error) {
	refs := req.GetParts()
	if len(refs) == 0 {
		return nil, errs.Errorf(errs.InvalidArgument, opCompleteUpload, "at least one part is required").WithBucket(up.BucketId).WithKey(up.Key)
	}
	invalid := func(n int32, reason, format string, args ...any) *errs.Error {
		return errs.Errorf(errs.InvalidPart, opCompleteUpload, format, args...).WithBucket(up.BucketId).WithKey(up.Key).
			WithDetail("part_number", fmt.Sprint(n)).WithDetail("reason", reason)
	}
	out := make([]*metadatav1.Part, 0, len(refs))
	for i, ref := range refs {
		n := ref.GetPartNumber()
		if i > 0 && n <= refs[i-1].GetPartNumber() {
			return nil, errs.Errorf(errs.InvalidPartOrder, opCompleteUpload, "part %d is listed after part %d: parts must be in strictly ascending order", n, refs[i-1].GetPartNumber()).
				WithBucket(up.BucketId).WithKey(up.Key).WithDetail("part_number", fmt.Sprint(n))
		}
		p := parts[n]
		if p == nil {
			return nil, invalid(n, "missing", "part %d was not uploaded", n)
		}
		seg := p.GetSegment()
		if want := normalizeHex(ref.GetMd5()); want != "" && want != normalizeHex(seg.GetMd5()) {
			return nil, invalid(n, "md5_mismatch", "part %d has ETag %s, not %s", n, seg.GetMd5(), want)
		}
		if want := normalizeHex(ref.GetSha1()); want != "" && want != normalizeHex(seg.GetSha1()) {
			return nil, invalid(n, "sha1_mismatch", "part %d has SHA-1 %s, not %s", n, seg.GetSha1(), want)
		}
		for _, c := range ref.GetChecksums() {
			if c.GetValue() == "" {
				continue
			}
			for _, have := range seg.GetChecksums() {
				if have.GetAlgorithm() == c.GetAlgorithm() && have.GetValue() != c.GetValue() {
					return nil, invalid(n, "checksum_mismatch", "part %d has %v checksum %s, not %s", n, c.GetAlgorithm(), have.GetValue(), c.GetValue())
				}
			}
		}
		out = append(out, p)
	}
	for _, p := range out[:len(out)-1] {
		if p.GetSegment().GetSize() < req.GetMinPartSize() {
			return nil, errs.Errorf(errs.EntityTooSmall, opCompleteUpload, "part %d is %d bytes; every part but the last must be at least %d", p.PartNumber, p.GetSegment().GetSize(), req.GetMinPartSize()).
				WithBucket(up.BucketId).WithKey(up.Key).WithDetail("part_number", fmt.Sprint(p.PartNumber))
		}
	}
	return out, nil
}

// normalizeHex lowercases a hex digest and drops the quotes an S3 ETag may carry.
func normalizeHex(s string) string { return strings.ToLower(strings.Trim(strings.TrimSpace(s), `"`)) }

// MultipartETag is the S3 ETag of an object assembled from parts:
// hex(MD5(concatenation of each part's binary MD5)) + "-" + the part count.
func MultipartETag(parts []*metadatav1.Part) string {
	h := md5.New()
	for _, p := range parts {
		b, _ := hex.DecodeString(normalizeHex(p.GetSegment().GetMd5()))
		h.Write(b)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))
}
