package s3

import (
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// requestBody returns the request's payload as the signature defines it:
// raw, or decoded from aws-chunked with every chunk signature checked.
func (h *Handler) requestBody(r *http.Request, c *call) (io.Reader, objects.Expect, error) {
	const op = "s3.body"
	expect := objects.Expect{Size: -1}
	payload := c.sig.GetPayloadHash()
	var body io.Reader = r.Body
	var chunked *chunkedReader
	trailer := false
	switch payload {
	case streamingSigned, streamingSignedTrailer, streamingUnsignedTrail:
		dl := r.Header.Get("x-amz-decoded-content-length")
		if dl == "" {
			return nil, expect, errs.Errorf(errs.MissingContentLength, op, "You must provide the x-amz-decoded-content-length header.")
		}
		n, err := strconv.ParseInt(dl, 10, 64)
		if err != nil || n < 0 {
			return nil, expect, errs.Errorf(errs.InvalidArgument, op, "x-amz-decoded-content-length is not a valid length.")
		}
		var signer *chunkSigner
		if payload != streamingUnsignedTrail {
			if len(c.sig.GetSigningKey()) == 0 {
				return nil, expect, errs.Errorf(errs.Internal, op, "authd returned no signing key for a streaming payload")
			}
			signer = &chunkSigner{key: c.sig.GetSigningKey(), amzDate: c.sig.GetAmzDate(),
				scope: c.sig.GetCredentialScope(), prevSig: c.sig.GetSeedSignature()}
		}
		trailer = payload != streamingSigned
		chunked = newChunkedReader(r.Body, signer, trailer, n)
		body, expect.Size = chunked, n
	case unsignedPayload, "":
		expect.Size = r.ContentLength
	default:
		if len(payload) != 64 {
			return nil, expect, errs.Errorf(errs.InvalidArgument, op, "Unsupported x-amz-content-sha256 value.")
		}
		if _, err := hex.DecodeString(payload); err != nil {
			return nil, expect, errs.Errorf(errs.InvalidArgument, op, "x-amz-content-sha256 must be hex.")
		}
		expect.SHA256Hex, expect.Size = payload, r.ContentLength
	}
	if expect.Size < 0 && !chunkedTransfer(r) {
		return nil, expect, errs.E(errs.MissingContentLength, op, nil)
	}
	if md5 := r.Header.Get("Content-MD5"); md5 != "" {
		if raw, err := base64.StdEncoding.DecodeString(md5); err != nil || len(raw) != 16 {
			return nil, expect, errs.E(errs.InvalidDigest, op, nil)
		}
		expect.ContentMD5 = md5
	}
	cr, err := parseChecksumRequest(r.Header, trailer)
	if err != nil {
		return nil, expect, err
	}
	expect.Algorithm = cr.alg
	switch {
	case cr.header != "":
		v := cr.header
		expect.Checksum = func() string { return v }
	case cr.trailer != "":
		name := cr.trailer
		expect.Checksum = func() string {
			if v := chunked.Trailer(name); v != "" {
				return v
			}
			return "(missing trailer)" // a promised trailer that never came cannot match
		}
	}
	return body, expect, nil
}

// chunkedTransfer reports an HTTP/1.1 chunked body (not aws-chunked):
// its length is unknown until it ends, which S3 accepts. The object layer
// then bounds it by the largest object size instead.
func chunkedTransfer(r *http.Request) bool {
	return slices.Contains(r.TransferEncoding, "chunked")
}

func (h *Handler) putObject(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.PutObject"
	if err := objects.ValidateKey(c.req.Key); err != nil {
		return err
	}
	storageClass, err := storageClassHeader(r.Header, op)
	if err != nil {
		return err
	}
	tags, err := parseTaggingHeader(r.Header.Get("x-amz-tagging"))
	if err != nil {
		return err
	}
	if acl := r.Header.Get("x-amz-acl"); acl != "" && acl != bucketACL(c.bucket) {
		return errs.Errorf(errs.PermissionDenied, op, "Object ACLs must equal the bucket's ACL (%s).", bucketACL(c.bucket))
	}
	sse, key, err := writeEncryption(r.Header, true)
	if err != nil {
		return err
	}
	retention, hold, err := h.objectLockHeaders(r, c, op, true)
	if err != nil {
		return err
	}
	precond := &metadatav1.Precondition{}
	if v := r.Header.Get("If-None-Match"); v != "" {
		if strings.TrimSpace(v) != "*" {
			return errs.Errorf(errs.Unimplemented, op, "If-None-Match on writes supports only *.")
		}
		precond.IfNoneMatchAny = true
	}
	if v := r.Header.Get("If-Match"); v != "" {
		precond.IfMatchEtag = strings.Trim(strings.TrimSpace(v), `"`)
	}
	info, err := objectInfo(r.Header)
	if err != nil {
		return err
	}
	body, expect, err := h.requestBody(r, c)
	if err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "binary/octet-stream"
	}
	v, err := h.objects.Put(r.Context(), objects.PutInput{
		Bucket: c.bucket, Key: c.req.Key, Body: body, Expect: expect,
		ContentType: ct, Info: info, Precondition: precond,
		Encryption: sse, CustomerKey: key, Retention: retention, LegalHold: hold, Tags: tags, StorageClass: storageClass,
	})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+v.GetEtag()+`"`)
	w.Header().Set("x-amz-version-id", v.GetVersionId())
	setEncryptionHeaders(w.Header(), v.GetEncryption())
	setChecksumHeaders(w.Header(), v.GetChecksums())
	w.WriteHeader(http.StatusOK)
	return nil
}

func bucketACL(b *metadatav1.Bucket) string {
	if b.GetType() == metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC {
		return "public-read"
	}
	return "private"
}

// getObject serves GetObject and HeadObject.
func (h *Handler) getObject(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.GetObject"
	if err := objects.ValidateKeyLength(c.req.Key); err != nil {
		return err
	}
	q := r.URL.Query()
	for name := range responseOverrides {
		if q.Has(name) && c.principal.GetAnonymous() {
			return errs.Errorf(errs.InvalidRequest, op, "Request specific response headers cannot be used for anonymous GET requests.")
		}
	}
	// A GET takes only the SSE-C key; how the object is encrypted is its own.
	_, customerKey, err := writeEncryption(r.Header, false)
	if err != nil {
		return err
	}
	read := objects.Encryption{}
	if customerKey != nil {
		read = objects.Encryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C, CustomerKey: customerKey}
	}
	versionID := q.Get("versionId")
	resp, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{
		BucketId: c.bucket.GetBucketId(), Key: c.req.Key, VersionId: versionID,
	})
	if err != nil {
		if e := errs.As(err); e != nil && versionID != "" && e.Kind == errs.ObjectNotFound {
			e.WithDetail("by_version", "true")
		}
		return err
	}
	v := resp.GetVersion()
	switch v.GetAction() {
	case metadatav1.VersionAction_VERSION_ACTION_HIDE:
		// GET of a delete marker by id: 405 with the marker's headers.
		return errs.E(errs.MethodNotAllowed, op, nil).WithDetail("delete_marker", "true").WithDetail("version_id", v.GetVersionId()).
			WithDetail("last_modified", httpTime(v.GetCreateTimeUnixNanos()))
	case metadatav1.VersionAction_VERSION_ACTION_UPLOAD:
	default:
		return errs.E(errs.VersionNotFound, op, nil).WithKey(c.req.Key)
	}
	if err := objects.CheckReadKey(v.GetEncryption(), read); err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("ETag", `"`+v.GetEtag()+`"`)
	hd.Set("Last-Modified", httpTime(v.GetCreateTimeUnixNanos()))
	if err := checkConditions(r.Header, v.GetEtag(), time.Unix(0, v.GetCreateTimeUnixNanos())); err != nil {
		return err
	}
	size := v.GetSize()
	rng, partial := objects.Range{Start: 0, Length: size}, false
	if pn := q.Get("partNumber"); pn != "" {
		if rng, err = partRange(v, pn); err != nil {
			return err
		}
		partial = true
		hd.Set("x-amz-mp-parts-count", strconv.Itoa(max(1, len(v.GetSegments()))))
	} else if rh := r.Header.Get("Range"); rh != "" {
		if rng, partial, err = objects.ParseRange(rh, size, true); err != nil {
			return err
		}
	}
	setObjectHeaders(hd, v)
	setEncryptionHeaders(hd, v.GetEncryption())
	if h.allow(c, policy.ReadFileRetentions, c.req.Key) == nil && h.allow(c, policy.ReadFileLegalHolds, c.req.Key) == nil {
		setLockHeaders(hd, v)
	}
	for param, header := range responseOverrides {
		if val := q.Get(param); val != "" {
			hd.Set(header, val)
		}
	}
	if !partial && strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
		setChecksumHeaders(hd, v.GetChecksums())
	}
	return h.objects.ServeRange(w, r, v, rng, partial, objects.ReadOptions{Encryption: read})
}

// partRange is the byte range of part pn of a version.
func partRange(v *metadatav1.ObjectVersion, pn string) (objects.Range, error) {
	n, err := strconv.Atoi(pn)
	if err != nil || n < 1 || n > 10000 {
		return objects.Range{}, errs.Errorf(errs.InvalidArgument, "s3.partNumber", "Part number must be an integer between 1 and 10000, inclusive.")
	}
	var off int64
	for i, s := range v.GetSegments() {
		if i+1 == n {
			return objects.Range{Start: off, Length: s.GetSize()}, nil
		}
		off += s.GetSize()
	}
	if n == 1 && len(v.GetSegments()) == 0 {
		return objects.Range{}, nil
	}
	// S3 answers 400 InvalidPartNumber (not a 416 with Content-Range).
	return objects.Range{}, errs.E(errs.InvalidRange, "s3.partNumber", nil).WithDetail("part_number", "true")
}

func (h *Handler) deleteObject(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	if err := objects.ValidateKeyLength(c.req.Key); err != nil {
		return err
	}
	if versionID := r.URL.Query().Get("versionId"); versionID != "" {
		bypass, err := h.bypassGovernance(r, c, c.req.Key)
		if err != nil {
			return err
		}
		v, err := h.objects.DeleteVersion(ctx, &metadatav1.DeleteObjectVersionRequest{
			BucketId: c.bucket.GetBucketId(), Key: c.req.Key, VersionId: versionID, BypassGovernance: bypass,
		})
		switch {
		case err == nil:
			if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
				w.Header().Set("x-amz-delete-marker", "true")
			}
		case errs.Is(err, errs.VersionNotFound), errs.Is(err, errs.ObjectNotFound):
			// Deleting what is not there succeeds, as on S3.
		default:
			return err
		}
		w.Header().Set("x-amz-version-id", versionID)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := objects.ValidateKey(c.req.Key); err != nil {
		return err
	}
	marker, err := h.objects.Hide(ctx, &metadatav1.HideObjectRequest{BucketId: c.bucket.GetBucketId(), Key: c.req.Key})
	switch {
	case err == nil:
		w.Header().Set("x-amz-delete-marker", "true")
		w.Header().Set("x-amz-version-id", marker.GetVersionId())
	case errs.Is(err, errs.ObjectNotFound):
		// No version at all: nothing to hide; S3 answers 204 either way.
	default:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
