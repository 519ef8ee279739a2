package s3

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// The S3 multipart operations. The bytes, the part checks and the object
// checksum live in the object layer (gateway/objects/multipart.go), shared
// with B2's large files; this file parses S3's headers and XML and renders
// S3's answers. Every check of a completion happens before the status line,
// so a failure is always a clean XML error (no 200-then-error as AWS does).

func (h *Handler) createMultipartUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.CreateMultipartUpload"
	if err := objects.ValidateKey(c.req.Key); err != nil {
		return err
	}
	storageClass, err := checkNewObjectHeaders(r, c, op)
	if err != nil {
		return err
	}
	retention, hold, err := h.objectLockHeaders(r, c, op, false)
	if err != nil {
		return err
	}
	var alg metadatav1.ChecksumAlgorithm
	if v := r.Header.Get("x-amz-checksum-algorithm"); v != "" {
		var ok bool
		if alg, ok = objects.ParseAlgorithm(v); !ok {
			return errUnsupportedAlgorithm(op)
		}
	}
	typ, err := checksumTypeHeader(r.Header)
	if err != nil {
		return err
	}
	info, err := objectInfo(r.Header)
	if err != nil {
		return err
	}
	tags, err := parseTaggingHeader(r.Header.Get("x-amz-tagging"))
	if err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "binary/octet-stream"
	}
	sse, key, err := writeEncryption(r.Header, true)
	if err != nil {
		return err
	}
	up, err := h.objects.StartUpload(r.Context(), objects.StartInput{
		Bucket: c.bucket, Key: c.req.Key, ContentType: ct, Info: info, Encryption: sse, CustomerKey: key,
		Retention: retention, LegalHold: hold, ChecksumAlgorithm: alg, ChecksumType: typ, Tags: tags,
		StorageClass: storageClass,
	})
	if err != nil {
		return err
	}
	setEncryptionHeaders(w.Header(), up.GetEncryption())
	if name := objects.AlgorithmName(up.GetChecksumAlgorithm()); name != "" {
		w.Header().Set("x-amz-checksum-algorithm", name)
		w.Header().Set("x-amz-checksum-type", checksumTypeName(up.GetChecksumType()))
	}
	writeXML(w, http.StatusOK, initiateMultipartUploadResult{
		NS: s3NS, Bucket: c.bucket.GetName(), Key: c.req.Key, UploadID: up.GetVersionId(),
	})
	return nil
}

// writeEncryption parses the encryption headers of a multipart request:
// x-amz-server-side-encryption (AES256 = SSE-B2; only when sseB2 allows it,
// on CreateMultipartUpload) and the SSE-C triple, whose key is returned
// separately (it is never stored).
func writeEncryption(h http.Header, sseB2 bool) (*metadatav1.ServerSideEncryption, []byte, error) {
	const op = "s3.encryption"
	var sse *metadatav1.ServerSideEncryption
	switch v := h.Get("x-amz-server-side-encryption"); {
	case v == "":
	case !sseB2:
		return nil, nil, errs.Errorf(errs.InvalidArgument, op, "x-amz-server-side-encryption header is not supported for this operation.").
			WithDetail("argument_name", "x-amz-server-side-encryption")
	case v == "AES256":
		sse = &metadatav1.ServerSideEncryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2, Algorithm: "AES256"}
	case strings.HasPrefix(v, "aws:kms"):
		return nil, nil, errs.Errorf(errs.Unimplemented, op, "Server-side encryption with KMS keys is not supported.")
	default:
		return nil, nil, errs.Errorf(errs.InvalidArgument, op, "The encryption method specified is not supported.").
			WithDetail("argument_name", "x-amz-server-side-encryption")
	}
	alg := h.Get("x-amz-server-side-encryption-customer-algorithm")
	key := h.Get("x-amz-server-side-encryption-customer-key")
	keyMD5 := h.Get("x-amz-server-side-encryption-customer-key-MD5")
	if alg == "" && key == "" && keyMD5 == "" {
		return sse, nil, nil
	}
	if sse != nil {
		return nil, nil, errs.Errorf(errs.InvalidArgument, op, "Server Side Encryption with Customer provided keys cannot be combined with x-amz-server-side-encryption.")
	}
	enc, err := objects.NewCustomerKey(alg, key, keyMD5, true)
	if err != nil {
		return nil, nil, err
	}
	return enc.Metadata(), enc.CustomerKey, nil
}

// setEncryptionHeaders echoes how an upload or object is encrypted.
func setEncryptionHeaders(hd http.Header, sse *metadatav1.ServerSideEncryption) {
	switch sse.GetMode() {
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2:
		hd.Set("x-amz-server-side-encryption", "AES256")
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C:
		hd.Set("x-amz-server-side-encryption-customer-algorithm", "AES256")
		hd.Set("x-amz-server-side-encryption-customer-key-MD5", sse.GetCustomerKeyMd5())
	}
}

// upload resolves the request's uploadId to an upload of this bucket and key.
func (h *Handler) upload(r *http.Request, c *call) (*metadatav1.ObjectVersion, error) {
	up, err := h.objects.GetUpload(r.Context(), r.URL.Query().Get("uploadId"), c.bucket.GetBucketId(), c.req.Key)
	if e := errs.As(err); e != nil && e.Kind == errs.UploadNotFound {
		e.WithBucket(c.req.Bucket).WithKey(c.req.Key)
	}
	return up, err
}

// partNumber parses the partNumber query parameter.
func partNumber(q url.Values) (int32, error) {
	n, err := strconv.ParseInt(q.Get("partNumber"), 10, 32)
	if err != nil {
		return 0, errs.Errorf(errs.InvalidArgument, "s3.partNumber", "Part number must be an integer between 1 and 10000, inclusive.").
			WithDetail("argument_name", "partNumber")
	}
	if err := objects.ValidatePartNumber(n); err != nil {
		return 0, err
	}
	return int32(n), nil
}

func (h *Handler) uploadPart(w http.ResponseWriter, r *http.Request, c *call) error {
	n, err := partNumber(r.URL.Query())
	if err != nil {
		return err
	}
	// The upload is checked before the body is read: a part for an unknown
	// upload is refused without taking its bytes.
	up, err := h.upload(r, c)
	if err != nil {
		return err
	}
	// Parts take only the SSE-C key; how they are encrypted is the upload's.
	_, key, err := writeEncryption(r.Header, false)
	if err != nil {
		return err
	}
	body, expect, err := h.requestBody(r, c)
	if err != nil {
		return err
	}
	part, err := h.objects.PutPart(r.Context(), objects.PartInput{Upload: up, PartNumber: n, Body: body, Expect: expect, CustomerKey: key})
	if err != nil {
		return err
	}
	setEncryptionHeaders(w.Header(), up.GetEncryption())
	w.Header().Set("ETag", `"`+part.GetSegment().GetMd5()+`"`)
	for _, s := range part.GetSegment().GetChecksums() {
		if name := objects.AlgorithmName(s.GetAlgorithm()); name != "" {
			w.Header().Set("x-amz-checksum-"+strings.ToLower(name), s.GetValue())
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) uploadPartCopy(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.UploadPartCopy"
	n, err := partNumber(r.URL.Query())
	if err != nil {
		return err
	}
	up, err := h.upload(r, c)
	if err != nil {
		return err
	}
	src, err := h.resolveCopySource(r, c)
	if err != nil {
		return err
	}
	if v := r.Header.Get("x-amz-copy-source-range"); v != "" {
		first, last, ok := parseCopyRange(v)
		if !ok {
			return errs.Errorf(errs.InvalidArgument, op, "The x-amz-copy-source-range value must be of the form bytes=first-last "+
				"where first and last are the zero-based offsets of the first and last bytes to copy").WithDetail("argument_name", "x-amz-copy-source-range")
		}
		if last >= src.Version.GetSize() {
			return errs.Errorf(errs.InvalidArgument, op, "Range specified is not valid for source object of size: %d", src.Version.GetSize()).
				WithDetail("argument_name", "x-amz-copy-source-range")
		}
		src.Offset, src.Length = first, last-first+1
	}
	_, key, err := writeEncryption(r.Header, false)
	if err != nil {
		return err
	}
	part, err := h.objects.CopyPart(r.Context(), objects.CopyPartInput{Upload: up, PartNumber: n, Source: src, CustomerKey: key})
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("x-amz-copy-source-version-id", src.Version.GetVersionId())
	setEncryptionHeaders(hd, up.GetEncryption())
	res := copyPartResult{NS: s3NS, ETag: `"` + part.GetSegment().GetMd5() + `"`, LastModified: xmlTime(part.GetCreateTimeUnixNanos())}
	for _, s := range part.GetSegment().GetChecksums() {
		res.set(s.GetAlgorithm(), s.GetValue())
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// parseCopyRange parses "bytes=first-last" (both required, first ≤ last).
func parseCopyRange(v string) (first, last int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	a, b, found2 := strings.Cut(spec, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, false
	}
	return first, last, true
}

func (h *Handler) completeMultipartUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.CompleteMultipartUpload"
	precond, err := writePrecondition(r.Header, op)
	if err != nil {
		return err
	}
	announced, err := objectChecksumHeaders(r.Header)
	if err != nil {
		return err
	}
	var size *int64
	if v := r.Header.Get("x-amz-mp-object-size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errs.Errorf(errs.InvalidArgument, op, "x-amz-mp-object-size must be a non-negative integer.")
		}
		size = &n
	}
	body, err := h.smallBody(r, c, maxCompleteBody)
	if err != nil {
		return err
	}
	refs, err := parseCompleteXML(body)
	if err != nil {
		// An unknown upload is NoSuchUpload whatever the body says.
		if _, uerr := h.upload(r, c); errs.Is(uerr, errs.UploadNotFound) {
			return uerr
		}
		return err
	}
	v, err := h.objects.CompleteUpload(r.Context(), objects.CompleteInput{
		UploadID: r.URL.Query().Get("uploadId"), BucketID: c.bucket.GetBucketId(), Key: c.req.Key,
		Parts: refs, MinPartSize: objects.MinPartSize, Precondition: precond, Checksums: announced, Size: size,
	})
	if err != nil {
		if e := errs.As(err); e != nil {
			e.WithBucket(c.req.Bucket).WithKey(c.req.Key)
		}
		return err
	}
	sums, typ := checksumFieldsOf(v.GetChecksums())
	w.Header().Set("x-amz-version-id", v.GetVersionId())
	setEncryptionHeaders(w.Header(), v.GetEncryption())
	writeXML(w, http.StatusOK, completeMultipartUploadResult{
		NS: s3NS, Location: location(r, c), Bucket: c.bucket.GetName(), Key: c.req.Key,
		ETag: `"` + v.GetEtag() + `"`, checksumFields: sums, ChecksumType: typ,
	})
	return nil
}

// writePrecondition parses the conditional-write headers (If-None-Match: *
// and If-Match) of PutObject and CompleteMultipartUpload.
func writePrecondition(h http.Header, op string) (*metadatav1.Precondition, error) {
	p := &metadatav1.Precondition{}
	if v := h.Get("If-None-Match"); v != "" {
		if strings.TrimSpace(v) != "*" {
			return nil, errs.Errorf(errs.Unimplemented, op, "If-None-Match on writes supports only *.")
		}
		p.IfNoneMatchAny = true
	}
	if v := h.Get("If-Match"); v != "" {
		p.IfMatchEtag = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return p, nil
}

// objectChecksumHeaders reads the whole-object checksum a completion may
// announce (x-amz-checksum-<alg> with x-amz-checksum-type).
func objectChecksumHeaders(h http.Header) ([]*metadatav1.Checksum, error) {
	const op = "s3.CompleteMultipartUpload"
	if err := checkChecksumHeaderNames(h); err != nil {
		return nil, err
	}
	typ, err := checksumTypeHeader(h)
	if err != nil {
		return nil, err
	}
	var out []*metadatav1.Checksum
	for _, alg := range objects.Algorithms() {
		name := "x-amz-checksum-" + strings.ToLower(objects.AlgorithmName(alg))
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if len(out) > 0 {
			return nil, errs.Errorf(errs.InvalidRequest, op, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		bare, count, composite := strings.Cut(v, "-")
		if !validChecksum(alg, bare) || (composite && !validCount(count)) {
			return nil, errs.Errorf(errs.InvalidRequest, op, "Value for %s header is invalid.", name)
		}
		out = append(out, &metadatav1.Checksum{Algorithm: alg, Value: v, Type: typ})
	}
	return out, nil
}

// checksumTypeHeader parses x-amz-checksum-type (absent: unspecified).
func checksumTypeHeader(h http.Header) (metadatav1.ChecksumType, error) {
	switch strings.ToUpper(h.Get("x-amz-checksum-type")) {
	case "":
		return metadatav1.ChecksumType_CHECKSUM_TYPE_UNSPECIFIED, nil
	case "COMPOSITE":
		return metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE, nil
	case "FULL_OBJECT":
		return metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT, nil
	}
	return 0, errs.Errorf(errs.InvalidRequest, "s3.checksum", "Value for x-amz-checksum-type header is invalid.")
}

func validCount(s string) bool {
	_, ok := parseDecimal(s, objects.MaxPartNumber)
	return ok
}

// validChecksum reports whether v is the base64 of an alg digest.
func validChecksum(alg metadatav1.ChecksumAlgorithm, v string) bool {
	raw, err := base64.StdEncoding.DecodeString(v)
	return err == nil && len(raw) == objects.DigestLen(alg)
}

// smallBody reads a bounded XML request body through the same checks as an
// object body (payload hash, aws-chunked signatures, Content-MD5). Checksum
// headers are left out: on these requests they describe the object, not
// the XML.
func (h *Handler) smallBody(r *http.Request, c *call, limit int64) ([]byte, error) {
	const op = "s3.body"
	rb := *r
	rb.Header = r.Header.Clone()
	for name := range rb.Header {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-amz-checksum-") || lower == "x-amz-sdk-checksum-algorithm" {
			delete(rb.Header, name)
		}
	}
	body, expect, err := h.requestBody(&rb, c)
	if err != nil {
		return nil, err
	}
	if expect.Size > limit {
		return nil, errs.Errorf(errs.MalformedBody, op, "The request body is too large.")
	}
	d := objects.NewReader(body, expect, limit)
	defer d.Close()
	out, err := io.ReadAll(d)
	if err != nil {
		if errs.Is(err, errs.EntityTooLarge) {
			return nil, errs.Errorf(errs.MalformedBody, op, "The request body is too large.")
		}
		if errs.As(err) == nil {
			return nil, errs.E(errs.IncompleteBody, op, err)
		}
		return nil, err
	}
	return out, nil
}

// location is the object's URL as S3 reports it in a completion.
func location(r *http.Request, c *call) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: "/" + c.bucket.GetName() + "/" + c.req.Key}
	if c.req.VirtualHost {
		u.Path = "/" + c.req.Key
	}
	return u.String()
}

func (h *Handler) abortMultipartUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	up, err := h.upload(r, c)
	if err != nil {
		return err
	}
	if err := h.objects.AbortUpload(r.Context(), up.GetVersionId()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxPage is S3's page size limit for ListParts and ListMultipartUploads.
const maxPage = 1000

// pageParam parses max-parts / max-uploads: default and clamp 1000.
func pageParam(q url.Values, name string) (int, error) {
	v, ok := q[name]
	if !ok {
		return maxPage, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 {
		return 0, errs.Errorf(errs.InvalidArgument, "s3.List", "Provided %s not an integer or within integer range", name).WithDetail("argument_name", name)
	}
	return min(n, maxPage), nil
}

func (h *Handler) listParts(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	maxParts, err := pageParam(q, "max-parts")
	if err != nil {
		return err
	}
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return errs.Errorf(errs.InvalidArgument, "s3.ListParts", "Provided part-number-marker not an integer or within integer range").
				WithDetail("argument_name", "part-number-marker")
		}
	}
	up, err := h.upload(r, c)
	if err != nil {
		return err
	}
	own := owner{ID: c.bucket.GetAccountId(), DisplayName: c.bucket.GetAccountId()}
	res := listPartsResult{
		NS: s3NS, Bucket: c.bucket.GetName(), Key: c.req.Key, UploadID: up.GetVersionId(),
		Initiator: own, Owner: own, StorageClass: storageClassName(up.GetStorageClass()), PartNumberMarker: int32(marker), MaxParts: maxParts,
		ChecksumAlgorithm: objects.AlgorithmName(up.GetChecksumAlgorithm()),
		ChecksumType:      checksumTypeName(up.GetChecksumType()),
	}
	if maxParts > 0 && marker < objects.MaxPartNumber {
		parts, next, err := h.objects.ListParts(r.Context(), up.GetVersionId(), int32(marker+1), int32(maxParts))
		if err != nil {
			return err
		}
		for _, p := range parts {
			seg := p.GetSegment()
			e := partEntry{PartNumber: p.GetPartNumber(), LastModified: xmlTime(p.GetCreateTimeUnixNanos()),
				ETag: `"` + seg.GetMd5() + `"`, Size: seg.GetSize()}
			for _, s := range seg.GetChecksums() {
				e.set(s.GetAlgorithm(), s.GetValue())
			}
			res.Parts = append(res.Parts, e)
		}
		if next != 0 && len(res.Parts) > 0 {
			res.IsTruncated = true
			res.NextPartNumberMarker = res.Parts[len(res.Parts)-1].PartNumber
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func (h *Handler) listMultipartUploads(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	maxUploads, err := pageParam(q, "max-uploads")
	if err != nil {
		return err
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	if keyMarker == "" {
		// S3 ignores an upload-id marker without a key marker.
		idMarker = ""
	}
	res := listMultipartUploadsResult{
		NS: s3NS, Bucket: c.bucket.GetName(), KeyMarker: p.encode(keyMarker), UploadIDMarker: idMarker,
		Prefix: p.encode(p.prefix), Delimiter: p.encode(p.delimiter), MaxUploads: maxUploads, EncodingType: p.encodingType,
	}
	if maxUploads > 0 {
		resp, err := h.meta.ListUploads(r.Context(), &metadatav1.ListUploadsRequest{
			BucketId: c.bucket.GetBucketId(), Prefix: p.prefix, Delimiter: p.delimiter,
			KeyMarker: keyMarker, UploadIdMarker: idMarker, PageSize: int32(maxUploads),
		})
		if err != nil {
			return err
		}
		own := owner{ID: c.bucket.GetAccountId(), DisplayName: c.bucket.GetAccountId()}
		for _, u := range resp.GetUploads() {
			res.Uploads = append(res.Uploads, uploadEntry{
				Key: p.encode(u.GetKey()), UploadID: u.GetVersionId(), Initiator: own, Owner: own,
				StorageClass: storageClassName(u.GetStorageClass()), Initiated: xmlTime(u.GetCreateTimeUnixNanos()),
				ChecksumAlgorithm: objects.AlgorithmName(u.GetChecksumAlgorithm()),
				ChecksumType:      checksumTypeName(u.GetChecksumType()),
			})
		}
		res.CommonPrefixes = toPrefixes(p, resp.GetCommonPrefixes())
		if res.IsTruncated = resp.GetTruncated(); res.IsTruncated {
			res.NextKeyMarker = p.encode(resp.GetNextKeyMarker())
			res.NextUploadIDMarker = resp.GetNextUploadIdMarker()
			if res.NextUploadIDMarker == "" && resp.GetNextKeyMarker() != "" {
				// The page ends on a common prefix: S3 still names an upload,
				// the first one rolled into that prefix (clients that page
				// on both markers expect one; with it, the next page starts
				// after the prefix all the same).
				first, err := h.meta.ListUploads(r.Context(), &metadatav1.ListUploadsRequest{
					BucketId: c.bucket.GetBucketId(), Prefix: resp.GetNextKeyMarker(), PageSize: 1,
				})
				if err != nil {
					return err
				}
				if ups := first.GetUploads(); len(ups) > 0 {
					res.NextUploadIDMarker = ups[0].GetVersionId()
				}
			}
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}
