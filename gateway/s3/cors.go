package s3

import (
	"context"
	"net/http"
	"strings"

	"github.com/coffer-project/coffer/gateway/corscache"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// CORS on the S3 endpoint (spec/cors.md §2.3). corsd decides; the
// front-end only turns a request into corsd's question and its answer into
// headers or an S3 error. Preflights are answered before authentication —
// browsers send no credentials on them.

// s3CORSMethods are the methods an S3 rule can allow.
var s3CORSMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "DELETE": true, "HEAD": true}

func resourceType(req Request) string {
	if req.Key != "" {
		return "OBJECT"
	}
	return "BUCKET"
}

// preflight answers OPTIONS.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.Preflight"
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	bad := func(msg string) error {
		return errs.Errorf(errs.InvalidRequest, op, "%s", msg).WithDetail("preflight", "true")
	}
	switch {
	case origin == "":
		return bad("Insufficient information. Origin request header needed.")
	case method == "":
		return bad("Insufficient information. Access-Control-Request-Method request header needed.")
	case !s3CORSMethods[method]:
		return bad("Invalid Access-Control-Request-Method: " + method)
	}
	forbidden := func(msg string) error {
		return errs.Errorf(errs.CORSForbidden, op, "CORSResponse: %s", msg).
			WithDetail("method", method).WithDetail("resource_type", resourceType(c.req))
	}
	b, err := h.meta.GetBucket(r.Context(), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: c.req.Bucket}})
	if err != nil {
		if errs.Is(err, errs.BucketNotFound) || errs.Is(err, errs.InvalidBucketName) || errs.Is(err, errs.InvalidArgument) {
			// S3 answers a preflight on a missing bucket with NoSuchBucket.
			return errs.E(errs.BucketNotFound, op, err).WithBucket(c.req.Bucket)
		}
		return err
	}
	allowed, reason, err := h.corsDecisions.Preflight(r.Context(), w.Header(), corscache.Question{
		Bucket: b.GetBucket(), Dialect: corsv1.Dialect_DIALECT_S3, Operation: "s3_" + strings.ToLower(method),
		Origin: origin, Method: method, TokenKind: corsv1.TokenKind_TOKEN_KIND_S3,
		RequestHeaders: corscache.SplitHeaderList(r.Header.Get("Access-Control-Request-Headers")),
	})
	if err != nil {
		h.log.Warn("corsd unavailable; preflight refused", "request_id", c.id, "err", err)
		return forbidden("This CORS request is not allowed.")
	}
	if !allowed {
		return forbidden(reason)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// applyCORS sets corsd's headers for an actual request that carries
// Origin before the handler runs, so they are on error responses too. Any
// failure means no CORS headers, never a refusal of the request itself.
func (h *Handler) applyCORS(ctx context.Context, w http.ResponseWriter, r *http.Request, c *call) {
	err := h.corsDecisions.Apply(ctx, w.Header(), corscache.Question{
		Bucket: c.bucket, Dialect: corsv1.Dialect_DIALECT_S3, Operation: "s3_" + strings.ToLower(r.Method),
		Origin: r.Header.Get("Origin"), Method: r.Method, TokenKind: corsv1.TokenKind_TOKEN_KIND_S3,
	})
	if err != nil {
		h.log.Warn("corsd unavailable; answering without CORS headers", "request_id", c.id, "err", err)
	}
}
