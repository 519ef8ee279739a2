package s3

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/gateway/corscache"
	"github.com/coffer-project/coffer/gateway/objects"
	"github.com/coffer-project/coffer/gateway/shell"
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

// Handler is the S3 front-end, a shell.Handler safe for concurrent use.
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
	ex        *shell.Exchange
	req       Request
	spec      opSpec
	bucket    *metadatav1.Bucket
	principal *authv1.Principal
	// sig is authd's verdict for signed requests; nil for anonymous ones.
	sig *authv1.VerifySigV4Response
}

// opNames names every Op for logs and metrics, indexed by Op.
var opNames = func() []string {
	names := make([]string, OpUnsupported+1)
	names[OpUnknown], names[OpPreflight], names[OpUnsupported] = "Unknown", "Preflight", "Unsupported"
	for op, spec := range ops {
		names[op] = spec.name
	}
	return names
}()

// Dialect is what the request shell needs to serve S3: request ids in
// S3's shape and headers, S3's XML errors, and what makes a request
// anonymous (no Authorization header, no presigned query).
func (h *Handler) Dialect() shell.Dialect {
	return shell.Dialect{
		API:       "s3",
		Ops:       opNames,
		NewID:     func() string { return strings.ToUpper(runtime.NewRequestID()) },
		IDHeaders: []string{"X-Amz-Request-Id", "X-Amz-Id-2"},
		Anonymous: anonymous,
		WriteError: func(w http.ResponseWriter, r *http.Request, ex *shell.Exchange, err error) {
			writeError(w, r, ex.ID, Request{Bucket: ex.Bucket, Key: ex.Key}, err)
		},
	}
}

// anonymous reports whether r carries no S3 credentials at all. A browser
// form upload (presigned POST) carries its signature in the form, so it is
// not counted as anonymous; it is verified before its file is read.
func anonymous(r *http.Request) bool {
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return false
	}
	return len(r.Header["Authorization"]) == 0 && !strings.Contains(r.URL.RawQuery, "X-Amz-Credential")
}

// Serve serves one S3 request inside the request shell.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, ex *shell.Exchange) error {
	return h.serve(w, r, &call{id: ex.ID, ex: ex})
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, c *call) error {
	req, err := Classify(r, h.cfg.Domains)
	if err != nil {
		return err
	}
	c.req = req
	c.ex.SetOp(int(req.Op))
	c.ex.Bucket, c.ex.Key = req.Bucket, req.Key
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
	if req.Op == OpPostObject {
		// A browser form's credentials are in its body, not its headers:
		// postObject verifies them before it reveals whether the bucket
		// exists or reads a byte of the file.
		return c.spec.handler(h, w, r, c)
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
