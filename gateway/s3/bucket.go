package s3

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// maxConfigBody bounds small XML request bodies (CreateBucketConfiguration
// and the like) before any decoder sees them.
const maxConfigBody = 1 << 20

func (h *Handler) listBuckets(w http.ResponseWriter, r *http.Request, c *call) error {
	res := listAllMyBucketsResult{NS: s3NS, Owner: owner{ID: c.principal.GetAccountId()}}
	restricted := map[string]bool{}
	for _, id := range c.principal.GetBucketIds() {
		restricted[id] = true
	}
	seeAll := len(restricted) == 0 || hasCapability(c.principal.GetCapabilities(), "listAllBucketNames")
	token := ""
	for {
		resp, err := h.meta.ListBuckets(r.Context(), &metadatav1.ListBucketsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return err
		}
		for _, b := range resp.GetBuckets() {
			if seeAll || restricted[b.GetBucketId()] {
				res.Buckets = append(res.Buckets, bucketInfo{Name: b.GetName(), CreationDate: xmlTime(b.GetCreateTimeUnixNanos())})
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func hasCapability(caps []string, want string) bool {
	for _, c := range caps {
		if c == want {
			return true
		}
	}
	return false
}

func (h *Handler) createBucket(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.CreateBucket"
	if err := objects.ValidateBucketName(c.req.Bucket); err != nil {
		return err
	}
	typ := metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE
	switch acl := r.Header.Get("x-amz-acl"); acl {
	case "", "private":
	case "public-read":
		typ = metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC
	default:
		return errs.Errorf(errs.InvalidArgument, op, "Only the canned ACLs private and public-read are supported.")
	}
	var lock *metadatav1.FileLockConfiguration
	switch v := strings.ToLower(strings.TrimSpace(r.Header.Get("x-amz-bucket-object-lock-enabled"))); v {
	case "", "false":
	case "true":
		lock = &metadatav1.FileLockConfiguration{Enabled: true}
	default:
		return errs.Errorf(errs.InvalidArgument, op, "x-amz-bucket-object-lock-enabled must be true or false.").
			WithDetail("argument_name", "x-amz-bucket-object-lock-enabled")
	}
	for name := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-grant-") {
			return errs.Errorf(errs.Unimplemented, op, "Only the canned ACLs private and public-read are supported.")
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
	if err != nil {
		return errs.E(errs.IncompleteBody, op, err)
	}
	if len(body) > maxConfigBody {
		return errs.Errorf(errs.MalformedBody, op, "The request body is too large.")
	}
	if len(body) > 0 {
		var cfg createBucketConfiguration
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return errs.E(errs.MalformedBody, op, err)
		}
		if lc := cfg.LocationConstraint; lc != "" && lc != h.cfg.Region {
			return errs.Errorf(errs.InvalidRequest, op,
				"The specified location-constraint is not valid: this endpoint serves region %s.", h.cfg.Region)
		}
	}
	_, err = h.meta.CreateBucket(r.Context(), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: c.req.Bucket, AccountId: c.principal.GetAccountId(), Type: typ, FileLock: lock,
	}})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/"+c.req.Bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	req := &metadatav1.DeleteBucketRequest{BucketId: c.bucket.GetBucketId()}
	_, err := h.meta.DeleteBucket(ctx, req)
	if e := errs.As(err); e != nil && e.Kind == errs.BucketNotEmpty && e.Details["unfinished_uploads"] == "true" {
		// S3 deletes a bucket whose objects are all gone even if unfinished
		// multipart uploads remain: it aborts them. (A version written
		// meanwhile makes the second attempt fail BucketNotEmpty again.)
		var aborted bool
		if aborted, err = h.abortUploadsOfEmptyBucket(ctx, c); err == nil {
			if !aborted {
				err = e
			} else {
				_, err = h.meta.DeleteBucket(ctx, req)
			}
		}
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// abortUploadsOfEmptyBucket aborts every unfinished upload of a bucket
// that holds no version (delete markers included); it reports false, and
// aborts nothing, when a version remains.
func (h *Handler) abortUploadsOfEmptyBucket(ctx context.Context, c *call) (bool, error) {
	vs, err := h.meta.ListObjectVersions(ctx, &metadatav1.ListObjectVersionsRequest{BucketId: c.bucket.GetBucketId(), PageSize: 1})
	if err != nil || len(vs.GetVersions()) > 0 {
		return false, err
	}
	req := &metadatav1.ListUploadsRequest{BucketId: c.bucket.GetBucketId(), PageSize: maxPage}
	for {
		resp, err := h.meta.ListUploads(ctx, req)
		if err != nil {
			return false, err
		}
		for _, u := range resp.GetUploads() {
			if err := h.objects.AbortUpload(ctx, u.GetVersionId()); err != nil && !errs.Is(err, errs.UploadNotFound) {
				return false, err
			}
		}
		if !resp.GetTruncated() {
			return true, nil
		}
		req.KeyMarker, req.UploadIdMarker = resp.GetNextKeyMarker(), resp.GetNextUploadIdMarker()
	}
}

func (h *Handler) headBucket(w http.ResponseWriter, _ *http.Request, _ *call) error {
	w.Header().Set("x-amz-bucket-region", h.cfg.Region)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketLocation(w http.ResponseWriter, _ *http.Request, _ *call) error {
	region := h.cfg.Region
	if region == "us-east-1" {
		region = "" // AWS answers an empty constraint for us-east-1
	}
	writeXML(w, http.StatusOK, locationConstraint{NS: s3NS, Region: region})
	return nil
}

func (h *Handler) getBucketVersioning(w http.ResponseWriter, _ *http.Request, _ *call) error {
	// Buckets are always versioned (B2 semantics).
	writeXML(w, http.StatusOK, versioningConfiguration{NS: s3NS, Status: "Enabled"})
	return nil
}
