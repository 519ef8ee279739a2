package s3

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/authd/sigv4"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// testHookNoAuth, when set, skips authentication and authorization
// altogether: every request runs as a key with every capability. Only the
// authentication benchmark sets it (export_test.go), to measure what
// authentication costs; no flag or configuration reaches it.
var testHookNoAuth atomic.Bool

// authenticate establishes who is calling and whether they may perform the
// operation: the signature is verified by the credential cache (locally
// for a key and scope it knows, else through authd), then the one
// authorization decision, policy.Decide, is applied here to the principal.
// Anonymous requests get only the decision (public-bucket reads).
func (h *Handler) authenticate(ctx context.Context, r *http.Request, c *call) error {
	if testHookNoAuth.Load() {
		c.principal = &authv1.Principal{KeyId: "no-auth-benchmark", Capabilities: policy.AllCapabilities()}
		return nil
	}
	access := &authv1.Access{Capability: c.spec.capability, BucketName: c.req.Bucket, Name: c.req.Key}
	if c.bucket != nil {
		access.BucketId = c.bucket.GetBucketId()
		access.BucketPublic = c.bucket.GetType() == metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC
	}
	switch c.req.Op {
	case OpListObjects, OpListObjectsV2, OpListObjectVersions, OpListMultipartUploads:
		access.Name = r.URL.Query().Get("prefix")
	case OpDeleteObject:
		if r.URL.Query().Get("versionId") != "" {
			access.Capability = policy.DeleteFiles
		}
	}
	if c.bucket == nil {
		// The decision cannot use a bucket that does not exist; the
		// signature is still checked so the caller gets the right error.
		access = nil
	}
	resp, err := h.creds.VerifySigV4(ctx, sigv4Request(r))
	if err != nil {
		return err
	}
	p := resp.GetPrincipal()
	switch {
	case p.GetAnonymous():
		if access == nil {
			return errs.E(errs.PermissionDenied, "s3.auth", nil)
		}
	case c.req.Op == OpCreateBucket || c.req.Op == OpListBuckets:
		access = &authv1.Access{Capability: c.spec.capability, BucketName: c.req.Bucket}
	}
	decide := policy.Decide
	if c.req.Op == OpDeleteObjects && access != nil && !p.GetAnonymous() {
		// Each key is authorized on its own (deleteobjects.go); the request
		// as a whole needs writeFiles or deleteFiles somewhere in the bucket.
		access.Capability = policy.WriteFiles
		if !hasCapability(p.GetCapabilities(), policy.WriteFiles) {
			access.Capability = policy.DeleteFiles
		}
		decide = policy.DecideAnyName
	}
	if access != nil {
		if err := decide(p, access, time.Now()); err != nil {
			return err
		}
	}
	c.principal = p
	if !p.GetAnonymous() {
		c.sig = resp
		c.ex.KeyID = p.GetKeyId()
	}
	return nil
}

// sigv4Request is what the signature covers, as received. Go's server
// moves Host out of the header map; it is passed on its own.
func sigv4Request(r *http.Request) *sigv4.Request {
	return &sigv4.Request{Method: r.Method, RawPath: rawPath(r), RawQuery: r.URL.RawQuery, Host: r.Host, Header: signedHeaders(r)}
}

// signedHeaders is the request's header as the client sent it. Go's server
// moves Transfer-Encoding out of the header map, yet clients sign it
// (boto3 signs every header it sends): it is put back, on a copy.
func signedHeaders(r *http.Request) http.Header {
	if len(r.TransferEncoding) == 0 || r.Header.Get("Transfer-Encoding") != "" {
		return r.Header
	}
	h := r.Header.Clone()
	h.Set("Transfer-Encoding", strings.Join(r.TransferEncoding, ", "))
	return h
}

// rawPath is the request path exactly as the client sent it (what it signed).
func rawPath(r *http.Request) string {
	uri := r.RequestURI
	if strings.HasPrefix(uri, "/") {
		if p, _, ok := strings.Cut(uri, "?"); ok || p != "" {
			return p
		}
	}
	return r.URL.EscapedPath()
}
