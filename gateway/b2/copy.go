package b2

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/objects"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Server-side copies (spec/b2-native.md §5.8, §5.12): the object layer
// reads the source range (decrypting it) and writes a new version or part
// (encrypting it as the destination says), with fresh digests.

// copySource reads and authorizes the version a copy reads, and parses the
// range and the source's SSE-C key.
func (h *Handler) copySource(r *http.Request, c *call, fileID, rangeSpec string, sse *sseRequest) (objects.CopySource, error) {
	const op = "b2.copy"
	if fileID == "" {
		return objects.CopySource{}, required("sourceFileId")
	}
	v, err := h.version(r, c, fileID, policy.ReadFiles)
	if err != nil {
		return objects.CopySource{}, err
	}
	if v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_UPLOAD {
		return objects.CopySource{}, errs.Errorf(errs.VersionNotFound, op, "the source is not a file")
	}
	src := objects.CopySource{Version: v, Length: -1}
	if rangeSpec != "" {
		// Unlike a download's Range header, which S3 ignores when it is
		// malformed, a copy's range is the request itself: only a
		// well-formed one is taken (an empty file read "bytes=0-" whole).
		if !wellFormedRange(rangeSpec) {
			return src, bad("range must be bytes=start-end")
		}
		rng, _, err := objects.ParseRange(rangeSpec, v.GetSize(), true)
		if err != nil {
			return src, err
		}
		src.Offset, src.Length = rng.Start, rng.Length
	}
	if src.Encryption, err = fileSSE(sse); err != nil {
		return src, err
	}
	if src.Encryption.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 {
		return src, bad("sourceServerSideEncryption names only an SSE-C key")
	}
	if err := objects.CheckReadKey(v.GetEncryption(), src.Encryption); err != nil {
		if e := errs.As(err); e != nil && e.Kind == errs.PermissionDenied {
			return src, withCode(e, 403, "access_denied")
		}
		return src, err
	}
	n := src.Length
	if n < 0 {
		n = v.GetSize() - src.Offset
	}
	if max := h.objects.MaxObjectSize; n > max {
		// b2sdk reads the size from this message.
		return src, withCode(errs.Errorf(errs.InvalidRequest, op, "Copy source too big: %d", n), 400, "source_too_large")
	}
	return src, nil
}

// wellFormedRange reports whether spec is "bytes=start-" or
// "bytes=start-end" with end >= start, no spaces and one range only: the
// forms B2 documents for a copy.
func wellFormedRange(spec string) bool {
	rest, ok := strings.CutPrefix(spec, "bytes=")
	if !ok {
		return false
	}
	a, b, ok := strings.Cut(rest, "-")
	start, err := strconv.ParseUint(a, 10, 63)
	if !ok || err != nil { // ParseUint takes no sign and no space
		return false
	}
	if b == "" {
		return true
	}
	end, err := strconv.ParseUint(b, 10, 63)
	return err == nil && end >= start
}

type copyFileRequest struct {
	SourceFileID                    string             `json:"sourceFileId"`
	FileName                        string             `json:"fileName"`
	DestinationBucketID             string             `json:"destinationBucketId"`
	Range                           string             `json:"range"`
	MetadataDirective               string             `json:"metadataDirective"`
	ContentType                     *string            `json:"contentType"`
	FileInfo                        *map[string]string `json:"fileInfo"`
	SourceServerSideEncryption      *sseRequest        `json:"sourceServerSideEncryption"`
	DestinationServerSideEncryption *sseRequest        `json:"destinationServerSideEncryption"`
	FileRetention                   *fileRetentionJSON `json:"fileRetention"`
	LegalHold                       *string            `json:"legalHold"`

	replace   bool
	destEnc   objects.Encryption
	retention *metadatav1.Retention
	hold      metadatav1.LegalHold
	lockCaps  []string
	info      map[string]string
}

func (q *copyFileRequest) check() (err error) {
	if q.SourceFileID == "" {
		return required("sourceFileId")
	}
	if q.FileName == "" {
		return required("fileName")
	}
	if err := objects.ValidateKey(q.FileName); err != nil {
		return err
	}
	if q.destEnc, err = fileSSE(q.DestinationServerSideEncryption); err != nil {
		return err
	}
	switch q.MetadataDirective {
	case "", "COPY":
		if q.ContentType != nil || q.FileInfo != nil {
			return bad("contentType and fileInfo are given only with metadataDirective REPLACE")
		}
	case "REPLACE":
		if q.ContentType == nil || *q.ContentType == "" {
			return required("contentType")
		}
		q.replace = true
		var raw map[string]string
		if q.FileInfo != nil {
			raw = *q.FileInfo
		}
		if q.info, err = parseFileInfo(q.FileName, raw, q.destEnc.Encrypted()); err != nil {
			return err
		}
	default:
		return bad("metadataDirective must be COPY or REPLACE")
	}
	q.retention, q.hold, q.lockCaps, err = lockSettings(q.FileRetention, q.LegalHold)
	return err
}

// copyFile is b2_copy_file: a range of a file becomes a new file, keeping
// the source's content type and info (COPY) or taking the request's
// (REPLACE).
func (h *Handler) copyFile(w http.ResponseWriter, r *http.Request, c *call) error {
	var q copyFileRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	destEnc, retention, hold, caps := q.destEnc, q.retention, q.hold, q.lockCaps
	src, err := h.copySource(r, c, q.SourceFileID, q.Range, q.SourceServerSideEncryption)
	if err != nil {
		return err
	}
	destID := q.DestinationBucketID
	if destID == "" {
		destID = src.Version.GetBucketId()
	}
	bucket, err := h.authorizedBucket(r, c, destID, policy.WriteFiles, q.FileName)
	if err != nil {
		return err
	}
	for _, capability := range caps {
		if err := h.decide(c, &authv1.Access{Capability: capability, BucketId: destID, Name: q.FileName}); err != nil {
			return err
		}
	}
	ct, info := src.Version.GetContentType(), src.Version.GetInfo()
	if q.replace {
		ct, info = contentTypeFor(*q.ContentType, q.FileName), q.info
	}
	// S3 object tags travel with the copy whatever metadataDirective says,
	// as with an S3 CopyObject that leaves x-amz-tagging-directive alone.
	v, err := h.objects.Copy(r.Context(), objects.CopyInput{
		Source: src, Bucket: bucket, Key: q.FileName, ContentType: ct, Info: info,
		Encryption: destEnc.Metadata(), CustomerKey: destEnc.CustomerKey, Retention: retention, LegalHold: hold,
		Tags: src.Version.GetTags(),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, fileOf(c.principal, c.route.Version, c.accountID(), v))
}

type copyPartRequest struct {
	SourceFileID                    string      `json:"sourceFileId"`
	LargeFileID                     string      `json:"largeFileId"`
	PartNumber                      *num        `json:"partNumber"`
	Range                           string      `json:"range"`
	SourceServerSideEncryption      *sseRequest `json:"sourceServerSideEncryption"`
	DestinationServerSideEncryption *sseRequest `json:"destinationServerSideEncryption"`

	partNumber int32
	destEnc    objects.Encryption
}

func (q *copyPartRequest) check() error {
	if q.SourceFileID == "" {
		return required("sourceFileId")
	}
	if q.LargeFileID == "" {
		return required("largeFileId")
	}
	if q.PartNumber == nil {
		return required("partNumber")
	}
	n, err := intParam("partNumber", q.PartNumber, 0, 1, objects.MaxPartNumber)
	if err != nil {
		return err
	}
	q.partNumber = int32(n)
	if q.destEnc, err = fileSSE(q.DestinationServerSideEncryption); err != nil {
		return err
	}
	if q.destEnc.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 {
		return bad("a part is encrypted as its large file says; destinationServerSideEncryption names only an SSE-C key")
	}
	return nil
}

// copyPart is b2_copy_part: a range of a file becomes a part of a large file.
func (h *Handler) copyPart(w http.ResponseWriter, r *http.Request, c *call) error {
	var q copyPartRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	n, destEnc := q.partNumber, q.destEnc
	upload, err := h.upload(r, c, q.LargeFileID, policy.WriteFiles)
	if err != nil {
		return err
	}
	src, err := h.copySource(r, c, q.SourceFileID, q.Range, q.SourceServerSideEncryption)
	if err != nil {
		return err
	}
	part, err := h.objects.CopyPart(r.Context(), objects.CopyPartInput{
		Upload: upload, PartNumber: n, Source: src, CustomerKey: destEnc.CustomerKey,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, partOf(upload, part))
}
