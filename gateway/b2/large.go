package b2

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/objects"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Large files (spec/b2-native.md §5.9–§5.16) are the object layer's
// multipart uploads: the unfinished large file is a START version whose id
// is the fileId; parts are checked by SHA-1; finishing assembles them into
// an upload with the same id.

// Limits on large-file listings.
const (
	defaultPartCount     = 100
	maxPartCount         = 1000
	defaultUnfinished    = 100
	maxUnfinishedPerPage = 100
)

type startLargeFileRequest struct {
	BucketID             string             `json:"bucketId"`
	FileName             string             `json:"fileName"`
	ContentType          string             `json:"contentType"`
	FileInfo             *map[string]string `json:"fileInfo"`
	ServerSideEncryption *sseRequest        `json:"serverSideEncryption"`
	FileRetention        *fileRetentionJSON `json:"fileRetention"`
	LegalHold            *string            `json:"legalHold"`
	// b2sdk spells it custom_upload_timestamp; both are refused alike.
	CustomUploadTimestamp  *num `json:"customUploadTimestamp"`
	CustomUploadTimestamp2 *num `json:"custom_upload_timestamp"`

	enc       objects.Encryption
	info      map[string]string
	retention *metadatav1.Retention
	hold      metadatav1.LegalHold
	lockCaps  []string
}

func (q *startLargeFileRequest) check() (err error) {
	switch {
	case q.BucketID == "":
		return required("bucketId")
	case q.FileName == "":
		return required("fileName")
	case q.ContentType == "":
		return required("contentType")
	case q.CustomUploadTimestamp != nil || q.CustomUploadTimestamp2 != nil:
		return errs.Errorf(errs.Unimplemented, "b2.startLargeFile", "custom upload timestamps are not supported")
	}
	if err := objects.ValidateKey(q.FileName); err != nil {
		return err
	}
	var rawInfo map[string]string
	if q.FileInfo != nil {
		rawInfo = *q.FileInfo
	}
	if q.enc, err = fileSSE(q.ServerSideEncryption); err != nil {
		return err
	}
	if q.info, err = parseFileInfo(q.FileName, rawInfo, q.enc.Encrypted()); err != nil {
		return err
	}
	q.retention, q.hold, q.lockCaps, err = lockSettings(q.FileRetention, q.LegalHold)
	return err
}

// lockSettings parses a new file's retention and legal hold, and the
// capabilities setting them needs.
func lockSettings(ret *fileRetentionJSON, hold *string) (*metadatav1.Retention, metadatav1.LegalHold, []string, error) {
	var caps []string
	var retention *metadatav1.Retention
	if ret != nil {
		q := updateFileRetentionRequest{FileName: "-", FileID: "-", FileRetention: ret}
		r, err := q.parse()
		if err != nil {
			return nil, 0, nil, err
		}
		retention = r
		caps = append(caps, policy.WriteFileRetentions)
	}
	var lh metadatav1.LegalHold
	if hold != nil {
		switch *hold {
		case "on":
			lh = metadatav1.LegalHold_LEGAL_HOLD_ON
		case "off":
			lh = metadatav1.LegalHold_LEGAL_HOLD_OFF
		default:
			return nil, 0, nil, bad(`legalHold must be "on" or "off"`)
		}
		caps = append(caps, policy.WriteFileLegalHolds)
	}
	return retention, lh, caps, nil
}

func (h *Handler) startLargeFile(w http.ResponseWriter, r *http.Request, c *call) error {
	var q startLargeFileRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	enc, info, retention, hold, caps := q.enc, q.info, q.retention, q.hold, q.lockCaps
	bucket, err := h.authorizedBucket(r, c, q.BucketID, policy.WriteFiles, q.FileName)
	if err != nil {
		return err
	}
	for _, capability := range caps {
		if err := h.decide(c, &authv1.Access{Capability: capability, BucketId: q.BucketID, Name: q.FileName}); err != nil {
			return err
		}
	}
	v, err := h.objects.StartUpload(r.Context(), objects.StartInput{
		Bucket: bucket, Key: q.FileName, ContentType: contentTypeFor(q.ContentType, q.FileName), Info: info,
		Encryption: enc.Metadata(), CustomerKey: enc.CustomerKey, Retention: retention, LegalHold: hold,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, fileOf(c.principal, c.route.Version, c.accountID(), v))
}

// fileSSE parses a file's requested encryption (start_large_file,
// copy_file, copy_part): SSE-B2, or SSE-C with its key; nil or "none"
// means the bucket's default.
func fileSSE(in *sseRequest) (objects.Encryption, error) {
	if in == nil || in.Mode == nil {
		return objects.Encryption{}, nil
	}
	if *in.Mode == "SSE-C" {
		alg, key, md5 := "", "", ""
		if in.Algorithm != nil {
			alg = *in.Algorithm
		}
		if in.CustomerKey != nil {
			key = *in.CustomerKey
		}
		if in.CustomerKeyMd5 != nil {
			md5 = *in.CustomerKeyMd5
		}
		return objects.NewCustomerKey(alg, key, md5, false)
	}
	e, err := parseDefaultSSE(in)
	if err != nil {
		return objects.Encryption{}, err
	}
	return objects.Encryption{Mode: e.GetMode()}, nil
}

// upload reads an unfinished large file by id after authorizing capability
// on its bucket, and then on its name.
func (h *Handler) upload(r *http.Request, c *call, fileID, capability string) (*metadatav1.ObjectVersion, error) {
	if fileID == "" {
		return nil, required("fileId")
	}
	bucketID := bucketOfFileID(fileID)
	if bucketID == "" {
		return nil, errs.Errorf(errs.UploadNotFound, "b2.largeFile", "no such unfinished large file")
	}
	if err := h.decideAnyName(c, &authv1.Access{Capability: capability, BucketId: bucketID}); err != nil {
		return nil, err
	}
	u, err := h.objects.GetUpload(r.Context(), fileID, bucketID, "")
	if err != nil {
		return nil, err
	}
	if err := h.decide(c, &authv1.Access{Capability: capability, BucketId: bucketID, Name: u.GetKey()}); err != nil {
		return nil, err
	}
	return u, nil
}

type fileIDRequest struct {
	FileID string `json:"fileId"`
}

func (q *fileIDRequest) check() error {
	if q.FileID == "" {
		return required("fileId")
	}
	return nil
}

// getUploadPartURL hands out an upload-part URL, checking first that the
// large file exists, is unfinished and may be written by the caller.
func (h *Handler) getUploadPartURL(w http.ResponseWriter, r *http.Request, c *call) error {
	var q fileIDRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	u, err := h.upload(r, c, q.FileID, policy.WriteFiles)
	if err != nil {
		return err
	}
	tok, err := h.auth.CreateUploadToken(r.Context(), &authv1.CreateUploadTokenRequest{AccountToken: c.token, Target: u.GetVersionId()})
	if err != nil {
		return err
	}
	return writeJSON(w, uploadURLResponse{
		FileID: u.GetVersionId(), UploadURL: h.uploadURL(r, c, "b2_upload_part", u.GetVersionId()),
		AuthorizationToken: tok.GetAuthorizationToken(),
	})
}

// uploadPart is b2_upload_part at an upload-part URL.
func (h *Handler) uploadPart(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "b2.uploadPart"
	release, err := h.uploads.acquire(c.token)
	if err != nil {
		return err
	}
	defer release()
	n, err := strconv.ParseInt(strings.TrimSpace(r.Header.Get("X-Bz-Part-Number")), 10, 32)
	if err != nil || objects.ValidatePartNumber(n) != nil {
		return errs.Errorf(errs.InvalidArgument, op, "Part number must be in range 1 - 10000")
	}
	u, err := h.parseUploadHeaders(r, false)
	if err != nil {
		return err
	}
	if u.encryption.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 {
		// A part is encrypted as its large file says; only an SSE-C key
		// travels with each part.
		return errs.Errorf(errs.InvalidArgument, op, "X-Bz-Server-Side-Encryption is set on b2_start_large_file, not on parts")
	}
	upload, err := h.upload(r, c, c.route.Target, policy.WriteFiles)
	if err != nil {
		return err
	}
	part, err := h.objects.PutPart(r.Context(), objects.PartInput{
		Upload: upload, PartNumber: int32(n), Body: u.body(r.Body), Expect: u.expect, CustomerKey: u.encryption.CustomerKey,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, partOf(upload, part))
}

type listPartsRequest struct {
	FileID          string `json:"fileId"`
	StartPartNumber *num   `json:"startPartNumber"`
	MaxPartCount    *num   `json:"maxPartCount"`
	start, count    int64
}

func (q *listPartsRequest) check() (err error) {
	if q.FileID == "" {
		return required("fileId")
	}
	if q.start, err = intParam("startPartNumber", q.StartPartNumber, 1, 1, objects.MaxPartNumber); err != nil {
		return err
	}
	q.count, err = countParam("maxPartCount", q.MaxPartCount, defaultPartCount, maxPartCount)
	return err
}

func (h *Handler) listParts(w http.ResponseWriter, r *http.Request, c *call) error {
	var q listPartsRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	start, count := q.start, q.count
	u, err := h.upload(r, c, q.FileID, policy.WriteFiles)
	if err != nil {
		return err
	}
	parts, next, err := h.objects.ListParts(r.Context(), u.GetVersionId(), int32(start), int32(count))
	if err != nil {
		return err
	}
	out := struct {
		Parts          []partJSON `json:"parts"`
		NextPartNumber *int32     `json:"nextPartNumber"`
	}{Parts: []partJSON{}}
	for _, p := range parts {
		out.Parts = append(out.Parts, partOf(u, p))
	}
	if next != 0 {
		out.NextPartNumber = &next
	}
	return writeJSON(w, out)
}

type finishLargeFileRequest struct {
	FileID        string    `json:"fileId"`
	PartSha1Array *[]string `json:"partSha1Array"`
}

func (q *finishLargeFileRequest) check() error {
	if q.FileID == "" {
		return required("fileId")
	}
	if q.PartSha1Array == nil || len(*q.PartSha1Array) == 0 {
		return required("partSha1Array")
	}
	if len(*q.PartSha1Array) > objects.MaxPartNumber {
		return bad("partSha1Array lists at most %d parts", objects.MaxPartNumber)
	}
	for _, s := range *q.PartSha1Array {
		if !isHexSHA1(s) {
			return bad("partSha1Array must hold 40-digit hex SHA-1s")
		}
	}
	return nil
}

// finishLargeFile is b2_finish_large_file: parts 1..N, each with the given
// SHA-1, become the file. A retried finish whose first answer was lost gets
// the finished file again.
func (h *Handler) finishLargeFile(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "b2.finishLargeFile"
	var q finishLargeFileRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	sums := *q.PartSha1Array
	u, err := h.upload(r, c, q.FileID, policy.WriteFiles)
	if errs.Is(err, errs.UploadNotFound) {
		if v := h.finishedBefore(r, c, q.FileID); v != nil {
			return writeJSON(w, fileOf(c.principal, c.route.Version, c.accountID(), v))
		}
	}
	if err != nil {
		return err
	}
	// B2's codes for a part that is missing or differs come from the
	// stored parts, read here; the object layer checks them again,
	// atomically with the commit.
	refs := make([]*metadatav1.PartRef, len(sums))
	stored, err := h.objects.Parts(r.Context(), u.GetVersionId(), int32(len(sums)))
	if err != nil {
		return err
	}
	for i, s := range sums {
		n := int32(i + 1)
		p := stored[n]
		switch {
		case p == nil:
			return withCode(errs.Errorf(errs.InvalidPart, op, "Part number %d has not been uploaded", n), 400, "missing_part")
		case !strings.EqualFold(p.GetSegment().GetSha1(), s):
			return errs.Errorf(errs.InvalidPart, op, "Part number %d has the SHA-1 %s, not %s", n, p.GetSegment().GetSha1(), strings.ToLower(s))
		}
		refs[i] = &metadatav1.PartRef{PartNumber: n, Sha1: strings.ToLower(s)}
	}
	v, err := h.objects.CompleteUpload(r.Context(), objects.CompleteInput{
		UploadID: u.GetVersionId(), BucketID: u.GetBucketId(), Key: u.GetKey(), Parts: refs,
		MinPartSize: absoluteMinimumPartSize,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, fileOf(c.principal, c.route.Version, c.accountID(), v))
}

// finishedBefore returns the file a large file became, if it was finished.
func (h *Handler) finishedBefore(r *http.Request, c *call, fileID string) *metadatav1.ObjectVersion {
	bucketID := bucketOfFileID(fileID)
	resp, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{BucketId: bucketID, VersionId: fileID})
	if err != nil || resp.GetVersion().GetAction() != metadatav1.VersionAction_VERSION_ACTION_UPLOAD {
		return nil
	}
	v := resp.GetVersion()
	if h.decide(c, &authv1.Access{Capability: policy.WriteFiles, BucketId: bucketID, Name: v.GetKey()}) != nil {
		return nil
	}
	return v
}

func (h *Handler) cancelLargeFile(w http.ResponseWriter, r *http.Request, c *call) error {
	var q fileIDRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	u, err := h.upload(r, c, q.FileID, policy.WriteFiles)
	if err != nil {
		return err
	}
	if err := h.abortUpload(r, u); err != nil {
		return err
	}
	return writeJSON(w, struct {
		FileID    string `json:"fileId"`
		AccountID string `json:"accountId"`
		BucketID  string `json:"bucketId"`
		FileName  string `json:"fileName"`
	}{u.GetVersionId(), c.accountID(), u.GetBucketId(), u.GetKey()})
}

// abortUpload cancels an unfinished large file and drops its parts.
func (h *Handler) abortUpload(r *http.Request, u *metadatav1.ObjectVersion) error {
	return h.objects.AbortUpload(r.Context(), u.GetVersionId())
}

type listUnfinishedRequest struct {
	BucketID     string `json:"bucketId"`
	NamePrefix   string `json:"namePrefix"`
	StartFileID  string `json:"startFileId"`
	MaxFileCount *num   `json:"maxFileCount"`
	count        int64
}

func (q *listUnfinishedRequest) check() (err error) {
	if q.BucketID == "" {
		return required("bucketId")
	}
	if len(q.NamePrefix) > 1024 || !utf8.ValidString(q.NamePrefix) || !utf8.ValidString(q.StartFileID) {
		return bad("namePrefix and startFileId must be valid UTF-8, namePrefix at most 1024 bytes")
	}
	q.count, err = countParam("maxFileCount", q.MaxFileCount, defaultUnfinished, maxUnfinishedPerPage)
	return err
}

func (h *Handler) listUnfinishedLargeFiles(w http.ResponseWriter, r *http.Request, c *call) error {
	var q listUnfinishedRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	count := q.count
	if err := h.decide(c, &authv1.Access{Capability: policy.ListFiles, BucketId: q.BucketID, Name: q.NamePrefix}); err != nil {
		return err
	}
	req := &metadatav1.ListUploadsRequest{BucketId: q.BucketID, Prefix: q.NamePrefix, PageSize: int32(count), Inclusive: true}
	if q.StartFileID != "" {
		// Resuming needs the name the start id belongs to.
		start, err := h.objects.GetUpload(r.Context(), q.StartFileID, q.BucketID, "")
		if err != nil {
			if errs.Is(err, errs.UploadNotFound) {
				return withCode(badFileID("startFileId"), 400, "bad_request")
			}
			return err
		}
		req.KeyMarker, req.UploadIdMarker = start.GetKey(), start.GetVersionId()
	}
	resp, err := h.meta.ListUploads(r.Context(), req)
	if err != nil {
		return err
	}
	out := struct {
		Files      []fileJSON `json:"files"`
		NextFileID *string    `json:"nextFileId"`
	}{Files: []fileJSON{}}
	for _, u := range resp.GetUploads() {
		out.Files = append(out.Files, fileOf(c.principal, c.route.Version, c.accountID(), u))
	}
	if next := resp.GetNextUploadIdMarker(); resp.GetTruncated() && next != "" {
		out.NextFileID = &next
	}
	return writeJSON(w, out)
}
