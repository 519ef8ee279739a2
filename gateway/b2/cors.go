package b2

import (
	"net/http"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/corscache"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// CORS on the native API (spec/cors.md §1). B2 supports CORS for four
// operations only: downloads by name and by id, and uploads of files and
// parts. corsd decides (first matching rule of the bucket); the gateway
// resolves the bucket and the kind of token in the URL, answers preflights
// before any authentication (browsers send no credentials on them), and
// adds corsd's headers to actual cross-origin requests — error answers
// included. If corsd cannot be asked, the answer fails closed: no CORS
// headers, and 403 on a preflight.

// corsOperation is the CORS operation of a route, or "" for the calls B2
// offers no CORS on.
func corsOperation(route Route) string {
	switch {
	case route.Kind == KindDownload:
		return "b2_download_file_by_name"
	case route.Kind == KindUpload:
		return "b2_upload_file"
	case route.Kind == KindUploadPart:
		return "b2_upload_part"
	case route.Kind == KindAPI && route.Call == "b2_download_file_by_id":
		return "b2_download_file_by_id"
	}
	return ""
}

// corsBucket is the bucket a CORS-capable request addresses, or nil.
func (h *Handler) corsBucket(r *http.Request, route Route) *metadatav1.Bucket {
	req := &metadatav1.GetBucketRequest{}
	switch route.Kind {
	case KindDownload:
		req.Selector = &metadatav1.GetBucketRequest_Name{Name: route.Bucket}
	case KindUpload:
		req.Selector = &metadatav1.GetBucketRequest_BucketId{BucketId: route.Target}
	case KindUploadPart:
		req.Selector = &metadatav1.GetBucketRequest_BucketId{BucketId: bucketOfFileID(route.Target)}
	default:
		// Download by id: a browser's fileId is in the query.
		req.Selector = &metadatav1.GetBucketRequest_BucketId{BucketId: bucketOfFileID(r.URL.Query().Get("fileId"))}
	}
	if req.GetBucketId() == "" && req.GetName() == "" {
		return nil
	}
	resp, err := h.meta.GetBucket(r.Context(), req)
	if err != nil {
		return nil
	}
	return resp.GetBucket()
}

// urlTokenKind is the kind of token a preflight's URL carries, as corsd
// needs it: a download authorization counts only if it is valid for this
// bucket and name (cors.md §1.6), anything unverifiable counts as none.
func (h *Handler) urlTokenKind(r *http.Request, route Route, bucket *metadatav1.Bucket) corsv1.TokenKind {
	switch route.Kind {
	case KindUpload, KindUploadPart:
		// Upload tokens travel in the actual POST's header, never in the URL.
		return corsv1.TokenKind_TOKEN_KIND_UPLOAD
	}
	token := r.URL.Query().Get("Authorization")
	if token == "" {
		return corsv1.TokenKind_TOKEN_KIND_NONE
	}
	c := &call{route: route}
	if h.verify(r, c, token, downloadKinds, "") != nil {
		return corsv1.TokenKind_TOKEN_KIND_NONE
	}
	if c.tokenKind == authv1.TokenKind_TOKEN_KIND_ACCOUNT {
		return corsv1.TokenKind_TOKEN_KIND_ACCOUNT
	}
	if route.Kind != KindDownload || h.decide(c, &authv1.Access{
		Capability: policy.ReadFiles, BucketId: bucket.GetBucketId(), BucketName: route.Bucket, Name: route.Name,
	}) != nil {
		return corsv1.TokenKind_TOKEN_KIND_NONE
	}
	return corsv1.TokenKind_TOKEN_KIND_DOWNLOAD
}

// isPreflight reports whether r is a CORS preflight.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a CORS preflight: 200 with corsd's headers when a rule
// allows it, else 403 (cors_not_allowed).
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "b2.preflight"
	refused := func(msg string) error { return errs.Errorf(errs.CORSForbidden, op, "%s", msg) }
	operation := corsOperation(c.route)
	if operation == "" {
		return refused("CORS is supported only for downloads and uploads")
	}
	if h.cors == nil {
		return refused("CORS is not available on this gateway")
	}
	bucket := h.corsBucket(r, c.route)
	if bucket == nil {
		return refused("CORS is not enabled for this bucket")
	}
	allowed, reason, err := h.corsDecisions.Preflight(r.Context(), w.Header(), corscache.Question{
		Bucket: bucket, Dialect: corsv1.Dialect_DIALECT_B2, Operation: operation,
		Origin: r.Header.Get("Origin"), Method: r.Header.Get("Access-Control-Request-Method"),
		RequestHeaders: corscache.SplitHeaderList(r.Header.Get("Access-Control-Request-Headers")),
		TokenKind:      h.urlTokenKind(r, c.route, bucket),
	})
	if err != nil {
		h.log.Warn("corsd unreachable; preflight refused", "request_id", c.id, "err", err)
		return refused("CORS cannot be evaluated now")
	}
	if !allowed {
		if reason == "" {
			reason = "this CORS request is not allowed"
		}
		return refused(reason)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// corsActual adds corsd's headers to an actual cross-origin request to one
// of the CORS operations. Anything that goes wrong leaves them out.
func (h *Handler) corsActual(w http.ResponseWriter, r *http.Request, c *call) {
	operation := corsOperation(c.route)
	if r.Header.Get("Origin") == "" || operation == "" || h.cors == nil {
		return
	}
	err := h.corsDecisions.Apply(r.Context(), w.Header(), corscache.Question{
		Bucket: h.corsBucket(r, c.route), Dialect: corsv1.Dialect_DIALECT_B2, Operation: operation,
		Origin: r.Header.Get("Origin"), Method: r.Method,
	})
	if err != nil {
		h.log.Warn("corsd unreachable; no CORS headers", "request_id", c.id, "err", err)
	}
}
