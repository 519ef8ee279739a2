package s3

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/coffer-project/coffer/services/errs"
)

// Op is one S3 operation.
type Op int

// The operations a request can be classified as. Every operation B2's S3
// API documents is listed, implemented or not, so the classifier is complete
// and unimplemented ones get a proper NotImplemented.
const (
	OpUnknown Op = iota
	OpListBuckets
	OpCreateBucket
	OpDeleteBucket
	OpHeadBucket
	OpGetBucketLocation
	OpGetBucketVersioning
	OpPutBucketVersioning
	OpGetBucketACL
	OpPutBucketACL
	OpGetBucketCORS
	OpPutBucketCORS
	OpDeleteBucketCORS
	OpGetBucketEncryption
	OpPutBucketEncryption
	OpDeleteBucketEncryption
	OpGetObjectLockConfiguration
	OpPutObjectLockConfiguration
	OpGetBucketLifecycle
	OpPutBucketLifecycle
	OpDeleteBucketLifecycle
	OpListObjects
	OpListObjectsV2
	OpListObjectVersions
	OpListMultipartUploads
	OpDeleteObjects
	OpPutObject
	OpCopyObject
	OpGetObject
	OpHeadObject
	OpDeleteObject
	OpGetObjectACL
	OpPutObjectACL
	OpGetObjectRetention
	OpPutObjectRetention
	OpGetObjectLegalHold
	OpPutObjectLegalHold
	OpCreateMultipartUpload
	OpUploadPart
	OpUploadPartCopy
	OpCompleteMultipartUpload
	OpAbortMultipartUpload
	OpListParts
	OpGetObjectTagging
	OpPutObjectTagging
	OpDeleteObjectTagging
	OpGetObjectAttributes
	OpPostObject
	OpPreflight
	// OpUnsupported is a recognised S3 feature B2 does not offer (tagging,
	// website, policy...): 501 NotImplemented.
	OpUnsupported
)

// Request is a classified request.
type Request struct {
	Op     Op
	Bucket string
	Key    string
	// VirtualHost is true when the bucket came from the Host header.
	VirtualHost bool
}

// unsupportedSubresources are S3 features B2 does not offer (object
// tagging and attributes are classified before these are: only bucket
// tagging is unsupported).
var unsupportedSubresources = []string{
	"tagging", "policy", "policyStatus", "website", "logging", "notification", "replication",
	"requestPayment", "accelerate", "analytics", "inventory", "metrics", "intelligent-tiering",
	"ownershipControls", "publicAccessBlock", "torrent", "restore", "select", "attributes",
}

// Classify decides which operation r is. domains are the base host names for
// virtual-hosted-style requests ("<bucket>.<domain>"); any other Host means
// path style. The path is taken escaped, as received, and decoded exactly
// once; it is never cleaned ("a//b" and "a/../b" are distinct keys).
func Classify(r *http.Request, domains []string) (Request, error) {
	var req Request
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return req, errs.Errorf(errs.InvalidRequest, "s3.Classify", "The request path must start with /.")
	}
	if b := BucketFromHost(r.Host, domains); b != "" {
		req.Bucket, req.VirtualHost = b, true
		key, err := url.PathUnescape(path[1:])
		if err != nil {
			return req, errs.Errorf(errs.InvalidArgument, "s3.Classify", "The request path is not valid percent-encoding.")
		}
		req.Key = key
	} else if path != "/" {
		rest := path[1:]
		bucket, key, _ := strings.Cut(rest, "/")
		var err error
		if req.Bucket, err = url.PathUnescape(bucket); err != nil {
			return req, errs.Errorf(errs.InvalidArgument, "s3.Classify", "The request path is not valid percent-encoding.")
		}
		if req.Key, err = url.PathUnescape(key); err != nil {
			return req, errs.Errorf(errs.InvalidArgument, "s3.Classify", "The request path is not valid percent-encoding.")
		}
	}
	q := r.URL.Query()
	req.Op = classifyOp(r.Method, req.Bucket, req.Key, q, r.Header)
	return req, nil
}

// BucketFromHost is the bucket a virtual-hosted-style Host names
// ("<bucket>.<domain>"), or "" for path style: a Host that is one of the
// domains, or under none of them. When several domains match, the longest
// wins, whatever their order: with localhost and s3.localhost,
// mybucket.s3.localhost is the bucket mybucket, not mybucket.s3.
func BucketFromHost(host string, domains []string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	best := ""
	for _, d := range domains {
		if d == "" {
			continue
		}
		if host == d {
			return "" // the service endpoint itself: path style
		}
		if len(d) > len(best) && len(host) > len(d)+1 && strings.HasSuffix(host, d) && host[len(host)-len(d)-1] == '.' {
			best = d
		}
	}
	if best == "" {
		return ""
	}
	return host[:len(host)-len(best)-1]
}

func classifyOp(method, bucket, key string, q url.Values, h http.Header) Op {
	has := func(k string) bool { _, ok := q[k]; return ok }
	if method == http.MethodOptions {
		if bucket == "" {
			return OpUnknown
		}
		return OpPreflight
	}
	if bucket == "" {
		if method == http.MethodGet {
			return OpListBuckets
		}
		return OpUnknown
	}
	if key != "" && (has("tagging") || has("attributes")) {
		return classifyObjectSubresource(method, has)
	}
	for _, sub := range unsupportedSubresources {
		if has(sub) {
			return OpUnsupported
		}
	}
	if key == "" {
		return classifyBucketOp(method, q, has)
	}
	copySource := h.Get("X-Amz-Copy-Source") != ""
	switch method {
	case http.MethodPut:
		switch {
		case has("partNumber") && has("uploadId") && copySource:
			return OpUploadPartCopy
		case has("partNumber") && has("uploadId"):
			return OpUploadPart
		case has("acl"):
			return OpPutObjectACL
		case has("retention"):
			return OpPutObjectRetention
		case has("legal-hold"):
			return OpPutObjectLegalHold
		case copySource:
			return OpCopyObject
		}
		return OpPutObject
	case http.MethodGet:
		switch {
		case has("uploadId"):
			return OpListParts
		case has("acl"):
			return OpGetObjectACL
		case has("retention"):
			return OpGetObjectRetention
		case has("legal-hold"):
			return OpGetObjectLegalHold
		}
		return OpGetObject
	case http.MethodHead:
		return OpHeadObject
	case http.MethodDelete:
		if has("uploadId") {
			return OpAbortMultipartUpload
		}
		return OpDeleteObject
	case http.MethodPost:
		switch {
		case has("uploads"):
			return OpCreateMultipartUpload
		case has("uploadId"):
			return OpCompleteMultipartUpload
		}
	}
	return OpUnknown
}

// classifyObjectSubresource classifies ?tagging and ?attributes on a key.
func classifyObjectSubresource(method string, has func(string) bool) Op {
	if has("tagging") {
		switch method {
		case http.MethodGet:
			return OpGetObjectTagging
		case http.MethodPut:
			return OpPutObjectTagging
		case http.MethodDelete:
			return OpDeleteObjectTagging
		}
		return OpUnknown
	}
	if method == http.MethodGet {
		return OpGetObjectAttributes
	}
	return OpUnknown
}

func classifyBucketOp(method string, q url.Values, has func(string) bool) Op {
	switch method {
	case http.MethodPut:
		switch {
		case has("versioning"):
			return OpPutBucketVersioning
		case has("acl"):
			return OpPutBucketACL
		case has("cors"):
			return OpPutBucketCORS
		case has("encryption"):
			return OpPutBucketEncryption
		case has("object-lock"):
			return OpPutObjectLockConfiguration
		case has("lifecycle"):
			return OpPutBucketLifecycle
		}
		return OpCreateBucket
	case http.MethodGet:
		switch {
		case has("location"):
			return OpGetBucketLocation
		case has("versioning"):
			return OpGetBucketVersioning
		case has("acl"):
			return OpGetBucketACL
		case has("cors"):
			return OpGetBucketCORS
		case has("encryption"):
			return OpGetBucketEncryption
		case has("object-lock"):
			return OpGetObjectLockConfiguration
		case has("lifecycle"):
			return OpGetBucketLifecycle
		case has("uploads"):
			return OpListMultipartUploads
		case has("versions"):
			return OpListObjectVersions
		case q.Get("list-type") == "2":
			return OpListObjectsV2
		}
		return OpListObjects
	case http.MethodHead:
		return OpHeadBucket
	case http.MethodDelete:
		switch {
		case has("cors"):
			return OpDeleteBucketCORS
		case has("encryption"):
			return OpDeleteBucketEncryption
		case has("lifecycle"):
			return OpDeleteBucketLifecycle
		}
		return OpDeleteBucket
	case http.MethodPost:
		if has("delete") {
			return OpDeleteObjects
		}
		// A browser form upload; its Content-Type is the handler's to check.
		return OpPostObject
	}
	return OpUnknown
}
