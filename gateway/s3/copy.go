package s3

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// CopyObject and the copy-source half UploadPartCopy shares with it.

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	NS           string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumFields
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// parseCopySource splits an x-amz-copy-source value, "[/]bucket/key[?versionId=id]".
// The query is split off first, then the path is percent-decoded exactly
// once, so an encoded '?' or '%' in a key survives and "a/../b" stays a key.
func parseCopySource(v string) (bucket, key, versionID string, err error) {
	const op = "s3.CopySource"
	bad := func() error {
		return errs.Errorf(errs.InvalidArgument, op, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey").
			WithDetail("argument_name", "x-amz-copy-source")
	}
	path, query, hasQuery := strings.Cut(v, "?")
	if hasQuery {
		q, perr := url.ParseQuery(query)
		if perr != nil {
			return "", "", "", bad()
		}
		if vs, ok := q["versionId"]; ok {
			if len(vs) != 1 || vs[0] == "" {
				return "", "", "", errs.Errorf(errs.InvalidArgument, op, "Invalid version id specified").WithDetail("argument_name", "versionId")
			}
			versionID = vs[0]
		}
	}
	path = strings.TrimPrefix(path, "/")
	decoded, perr := url.PathUnescape(path)
	if perr != nil {
		return "", "", "", bad()
	}
	bucket, key, ok := strings.Cut(decoded, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", "", bad()
	}
	return bucket, key, versionID, nil
}

// copySourceKey parses the SSE-C key of a copy source
// (x-amz-copy-source-server-side-encryption-customer-*).
func copySourceKey(h http.Header) (objects.Encryption, error) {
	const prefix = "x-amz-copy-source-server-side-encryption-customer-"
	alg, key, md5 := h.Get(prefix+"algorithm"), h.Get(prefix+"key"), h.Get(prefix+"key-MD5")
	if alg == "" && key == "" && md5 == "" {
		return objects.Encryption{}, nil
	}
	return objects.NewCustomerKey(alg, key, md5, true)
}

// checkCopyConditions applies x-amz-copy-source-if-* to the source. Every
// failure is 412. If-Match that holds overrides If-Unmodified-Since; a
// failing If-Modified-Since fails even when If-None-Match holds (S3's rules).
func checkCopyConditions(h http.Header, etag string, modified time.Time) error {
	const op = "s3.CopySourceConditions"
	modified = modified.Truncate(time.Second)
	failed := func() error { return errs.E(errs.PreconditionFailed, op, nil) }
	if v := h.Get("x-amz-copy-source-if-match"); v != "" {
		if !etagMatches(v, etag) {
			return failed()
		}
	} else if v := h.Get("x-amz-copy-source-if-unmodified-since"); v != "" {
		if t, ok := parseHTTPDate(v); ok && modified.After(t) {
			return failed()
		}
	}
	if v := h.Get("x-amz-copy-source-if-none-match"); v != "" && etagMatches(v, etag) {
		return failed()
	}
	if v := h.Get("x-amz-copy-source-if-modified-since"); v != "" {
		if t, ok := parseHTTPDate(v); ok && !modified.After(t) {
			return failed()
		}
	}
	return nil
}

// resolveCopySource parses x-amz-copy-source, finds the source bucket and
// version, authorizes reading it (readFiles on the source bucket and key —
// a copy must never read what the caller could not GET; spec/reliability.md
// §2), applies the copy-source conditions and the source's SSE-C key. The
// returned source covers the whole version; UploadPartCopy narrows it.
func (h *Handler) resolveCopySource(r *http.Request, c *call) (objects.CopySource, error) {
	const op = "s3.CopySource"
	bucketName, key, versionID, err := parseCopySource(r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return objects.CopySource{}, err
	}
	if err := objects.ValidateKey(key); err != nil {
		return objects.CopySource{}, err
	}
	bucket := c.bucket
	if bucketName != c.bucket.GetName() {
		resp, err := h.meta.GetBucket(r.Context(), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: bucketName}})
		if err != nil {
			if e := errs.As(err); e != nil && (e.Kind == errs.InvalidBucketName || e.Kind == errs.InvalidArgument) {
				return objects.CopySource{}, errs.E(errs.BucketNotFound, op, err).WithBucket(bucketName)
			}
			return objects.CopySource{}, err
		}
		bucket = resp.GetBucket()
	}
	if err := h.allowOn(c, bucket, policy.ReadFiles, key); err != nil {
		return objects.CopySource{}, err
	}
	resp, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{BucketId: bucket.GetBucketId(), Key: key, VersionId: versionID})
	if err != nil {
		if e := errs.As(err); e != nil {
			e.WithBucket(bucketName).WithKey(key)
		}
		return objects.CopySource{}, err
	}
	v := resp.GetVersion()
	switch v.GetAction() {
	case metadatav1.VersionAction_VERSION_ACTION_UPLOAD:
	case metadatav1.VersionAction_VERSION_ACTION_HIDE:
		return objects.CopySource{}, errs.Errorf(errs.InvalidRequest, op, "The source of a copy request may not specifically refer to a delete marker by version id.")
	default:
		return objects.CopySource{}, errs.E(errs.VersionNotFound, op, nil).WithKey(key)
	}
	if err := checkCopyConditions(r.Header, v.GetEtag(), time.Unix(0, v.GetCreateTimeUnixNanos())); err != nil {
		return objects.CopySource{}, err
	}
	enc, err := copySourceKey(r.Header)
	if err != nil {
		return objects.CopySource{}, err
	}
	if err := objects.CheckReadKey(v.GetEncryption(), enc); err != nil {
		return objects.CopySource{}, err
	}
	return objects.CopySource{Version: v, Offset: 0, Length: -1, Encryption: enc}, nil
}

// checkNewObjectHeaders refuses what a new object may not ask for: a
// storage class we do not keep, a website redirect, and an ACL other than
// the bucket's (B2 has no per-object ACL). It returns the storage class.
func checkNewObjectHeaders(r *http.Request, c *call, op string) (metadatav1.StorageClass, error) {
	sc, err := storageClassHeader(r.Header, op)
	if err != nil {
		return 0, err
	}
	if r.Header.Get("x-amz-website-redirect-location") != "" {
		return 0, errs.Errorf(errs.Unimplemented, op, "Website redirects are not supported.")
	}
	if acl := r.Header.Get("x-amz-acl"); acl != "" && acl != bucketACL(c.bucket) {
		return 0, errs.Errorf(errs.PermissionDenied, op, "Object ACLs must equal the bucket's ACL (%s).", bucketACL(c.bucket))
	}
	return sc, nil
}

func (h *Handler) copyObject(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.CopyObject"
	if err := objects.ValidateKey(c.req.Key); err != nil {
		return err
	}
	storageClass, err := checkNewObjectHeaders(r, c, op)
	if err != nil {
		return err
	}
	src, err := h.resolveCopySource(r, c)
	if err != nil {
		return err
	}
	sv := src.Version
	sse, key, err := writeEncryption(r.Header, true)
	if err != nil {
		return err
	}
	retention, hold, err := h.objectLockHeaders(r, c, op, false)
	if err != nil {
		return err
	}
	precond, err := writePrecondition(r.Header, op)
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
	// The request's own metadata headers are checked whatever the
	// directive: S3 refuses oversized ones even when they would be ignored.
	newInfo, err := objectInfo(r.Header)
	if err != nil {
		return err
	}
	ct, info := sv.GetContentType(), sv.GetInfo()
	switch d := r.Header.Get("x-amz-metadata-directive"); d {
	case "", "COPY":
		if sv.GetBucketId() == c.bucket.GetBucketId() && sv.GetKey() == c.req.Key && sse == nil && key == nil &&
			r.Header.Get("x-amz-storage-class") == "" && alg == 0 && retention == nil && hold == 0 {
			return errs.Errorf(errs.InvalidRequest, op, "This copy request is illegal because it is trying to copy an object to itself "+
				"without changing the object's metadata, storage class, website redirect location or encryption attributes.")
		}
	case "REPLACE":
		info = newInfo
		if ct = r.Header.Get("Content-Type"); ct == "" {
			ct = "binary/octet-stream"
		}
	default:
		return errs.Errorf(errs.InvalidArgument, op, "Unknown metadata directive.").WithDetail("argument_name", "x-amz-metadata-directive")
	}
	// Tags follow the source unless the request replaces them (S3's
	// x-amz-tagging-directive; with COPY, x-amz-tagging is ignored).
	tags := sv.GetTags()
	switch d := r.Header.Get("x-amz-tagging-directive"); d {
	case "", "COPY":
	case "REPLACE":
		if tags, err = parseTaggingHeader(r.Header.Get("x-amz-tagging")); err != nil {
			return err
		}
	default:
		return errs.Errorf(errs.InvalidArgument, op, "Unknown tagging directive.").WithDetail("argument_name", "x-amz-tagging-directive")
	}
	v, err := h.objects.Copy(r.Context(), objects.CopyInput{
		Source: src, Bucket: c.bucket, Key: c.req.Key, ContentType: ct, Info: info,
		Encryption: sse, CustomerKey: key, Retention: retention, LegalHold: hold,
		Precondition: precond, ChecksumAlgorithm: alg, Tags: tags, StorageClass: storageClass,
	})
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("x-amz-version-id", v.GetVersionId())
	hd.Set("x-amz-copy-source-version-id", sv.GetVersionId())
	setEncryptionHeaders(hd, v.GetEncryption())
	sums, typ := checksumFieldsOf(v.GetChecksums())
	writeXML(w, http.StatusOK, copyObjectResult{
		NS: s3NS, ETag: `"` + v.GetEtag() + `"`, LastModified: xmlTime(v.GetCreateTimeUnixNanos()),
		checksumFields: sums, ChecksumType: typ,
	})
	return nil
}
