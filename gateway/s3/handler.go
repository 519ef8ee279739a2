package s3

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/gateway/corscache"
	"github.com/coffer-project/coffer/gateway/objects"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Config configures the S3 front-end.
type Config struct {
	// Region is advertised by GetBucketLocation and HeadBucket.
	Region string
	// Domains are the base hosts of virtual-hosted-style requests.
	Domains []string
}

// Deps are the S3 front-end's dependencies.
type Deps struct {
	Objects *objects.Layer
	Auth    authv1.AuthServiceClient
	// Creds verifies signatures, from its cache or through Auth (auth.go).
	// Nil means a cache without a watch stream: every request asks authd.
	Creds *authcache.Cache
	// Cors stores bucket CORS rules (Get/Put/DeleteBucketCors).
	Cors corsv1.CorsServiceClient
	Log  *slog.Logger
}

// Handler is the S3 front-end, an http.Handler safe for concurrent use.
type Handler struct {
	cfg     Config
	objects *objects.Layer
	meta    metadatav1.MetadataServiceClient
	auth    authv1.AuthServiceClient
	creds   *authcache.Cache
	cors    corsv1.CorsServiceClient
	// corsDecisions caches corsd's answers by the bucket's cors_index.
	corsDecisions *corscache.Cache
	log           *slog.Logger
}

// New builds the S3 front-end.
func New(cfg Config, deps Deps) *Handler {
	creds := deps.Creds
	if creds == nil {
		creds = authcache.New(authcache.Config{Region: cfg.Region}, authcache.Deps{Auth: deps.Auth, Log: deps.Log})
	}
	return &Handler{cfg: cfg, objects: deps.Objects, meta: deps.Objects.Meta(), auth: deps.Auth, creds: creds, cors: deps.Cors,
		corsDecisions: corscache.New(deps.Cors, corscache.DefaultMaxEntries), log: deps.Log}
}

// call is the state of one request as it moves through the pipeline.
type call struct {
	id        string
	req       Request
	spec      opSpec
	bucket    *metadatav1.Bucket
	principal *authv1.Principal
	// sig is authd's verdict for signed requests; nil for anonymous ones.
	sig *authv1.VerifySigV4Response
}

// statusWriter records whether the response has started, so an error after
// the first byte aborts the connection instead of appending an XML error to
// a half-sent body.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := strings.ToUpper(runtime.NewRequestID())
	sw := &statusWriter{ResponseWriter: w}
	sw.Header().Set("x-amz-request-id", id)
	sw.Header().Set("x-amz-id-2", id)
	sw.Header().Set("Server", "coffer")
	r = r.WithContext(runtime.WithRequestID(r.Context(), id))
	c := &call{id: id}
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			h.log.Error("panic in S3 handler", "request_id", id, "op", c.spec.name, "panic", fmt.Sprint(rec))
			if sw.status != 0 {
				panic(http.ErrAbortHandler)
			}
			writeError(sw, r, id, c.req, errs.E(errs.Internal, "s3", fmt.Errorf("panic: %v", rec)))
		}
	}()
	err := h.serve(sw, r, c)
	if err != nil {
		if sw.status != 0 {
			// The status line is gone: cut the connection so the client sees
			// a truncated body, never a silently wrong one.
			h.log.Warn("S3 response failed after it started", "request_id", id, "op", c.spec.name, "err", err)
			panic(http.ErrAbortHandler)
		}
		level := slog.LevelDebug
		if k := errs.KindOf(err); k == errs.Internal || k == errs.Other || k == errs.DataLoss {
			level = slog.LevelError
		}
		h.log.Log(r.Context(), level, "S3 request failed", "request_id", id, "op", c.spec.name,
			"bucket", c.req.Bucket, "err", err)
		writeError(sw, r, id, c.req, err)
	}
	h.log.Debug("s3", "request_id", id, "op", c.spec.name, "method", r.Method, "status", sw.status,
		"duration", time.Since(start))
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, c *call) error {
	req, err := Classify(r, h.cfg.Domains)
	if err != nil {
		return err
	}
	c.req = req
	switch req.Op {
	case OpUnknown:
		return errs.E(errs.MethodNotAllowed, "s3", nil)
	case OpUnsupported:
		return errs.Errorf(errs.Unimplemented, "s3", "This S3 feature is not supported.")
	case OpPreflight:
		// Answered before authentication: browsers send no credentials.
		return h.preflight(w, r, c)
	}
	c.spec = ops[req.Op]
	ctx := r.Context()
	if c.spec.bucket {
		resp, err := h.meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: req.Bucket}})
		switch {
		case err == nil:
			c.bucket = resp.GetBucket()
		case errs.Is(err, errs.BucketNotFound), errs.Is(err, errs.InvalidBucketName), errs.Is(err, errs.InvalidArgument):
			// Authenticate first: an unsigned or forged request learns nothing.
		default:
			return err
		}
		// CORS headers go on whatever answer follows, errors included.
		h.applyCORS(ctx, w, r, c)
	}
	if err := h.authenticate(ctx, r, c); err != nil {
		return err
	}
	if c.spec.bucket && c.bucket == nil {
		return errs.E(errs.BucketNotFound, "s3", nil).WithBucket(req.Bucket)
	}
	if c.spec.handler == nil {
		return errs.Errorf(errs.Unimplemented, "s3."+c.spec.name, "%s is not implemented yet.", c.spec.name)
	}
	return c.spec.handler(h, w, r, c)
}
