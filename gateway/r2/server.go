package r2

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	authpolicy "github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/corsd/policy"
	"github.com/coffer-project/coffer/gateway/authcache"
	"github.com/coffer-project/coffer/gateway/objects"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	r2v1 "github.com/coffer-project/coffer/proto/gen/go/coffer/r2/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Prefix is the path every R2 route lives under.
const Prefix = "/client/v4/"

// Bucket info keys that keep R2-only settings (B2 bucketInfo shows them).
const (
	infoJurisdiction = "r2-jurisdiction"
	infoStorageClass = "r2-storage-class"
)

// Config configures the R2 front-end.
type Config struct {
	// Location is the location hint reported for every bucket.
	Location string
}

// Deps are the R2 front-end's dependencies.
type Deps struct {
	Meta metadatav1.MetadataServiceClient
	Cors corsv1.CorsServiceClient
	Auth authv1.AuthServiceClient
	// Creds verifies Bearer tokens (the gateway's credential cache). Nil
	// means a cache without a watch stream: every request asks authd.
	Creds *authcache.Cache
	Log   *slog.Logger
	// Now is the clock for authorization decisions; nil means time.Now.
	Now func() time.Time
}

// Server implements r2v1.R2ServiceServer in-process behind grpc-gateway.
type Server struct {
	r2v1.UnsafeR2ServiceServer
	cfg  Config
	deps Deps
}

// Handler serves every route under Prefix, a shell.Handler safe for
// concurrent use.
type Handler struct {
	mux        http.Handler
	principals *principals
}

// NewHandler returns the handler serving every route under Prefix.
func NewHandler(cfg Config, deps Deps) (*Handler, error) {
	if cfg.Location == "" {
		cfg.Location = "wnam"
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	srv := &Server{cfg: cfg, deps: deps}
	mux := newMux()
	if err := r2v1.RegisterR2ServiceHandlerServer(context.Background(), mux, srv); err != nil {
		return nil, err
	}
	creds := deps.Creds
	if creds == nil {
		creds = authcache.New(authcache.Config{}, authcache.Deps{Auth: deps.Auth, Log: deps.Log})
	}
	return &Handler{mux: mux, principals: &principals{creds: creds}}, nil
}

// allow checks the account in the path and the key's capabilities.
func (s *Server) allow(ctx context.Context, accountID, capability string, b *metadatav1.Bucket) error {
	p := principalFrom(ctx)
	if p == nil {
		return errs.E(errs.Unauthenticated, "r2", nil)
	}
	if accountID != p.GetAccountId() {
		return errs.Errorf(errs.PermissionDenied, "r2", "The token does not belong to account %q.", accountID)
	}
	access := &authv1.Access{Capability: capability}
	if b != nil {
		access.BucketId, access.BucketName = b.GetBucketId(), b.GetName()
	}
	// The one authorization decision, applied here as S3 and B2 do.
	return authpolicy.Decide(p, access, s.deps.Now())
}

// bucket resolves a bucket by name within the request's jurisdiction: R2
// treats jurisdictions as separate namespaces.
func (s *Server) bucket(ctx context.Context, name string) (*metadatav1.Bucket, error) {
	resp, err := s.deps.Meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: name}})
	if err != nil {
		if errs.Is(err, errs.InvalidBucketName) || errs.Is(err, errs.InvalidArgument) {
			return nil, errs.E(errs.BucketNotFound, "r2", nil).WithBucket(name)
		}
		return nil, err
	}
	b := resp.GetBucket()
	if bucketJurisdiction(b) != jurisdiction(ctx) {
		return nil, errs.E(errs.BucketNotFound, "r2", nil).WithBucket(name)
	}
	return b, nil
}

func bucketJurisdiction(b *metadatav1.Bucket) string {
	if j := b.GetInfo()[infoJurisdiction]; j != "" {
		return j
	}
	return "default"
}

func (s *Server) toR2(b *metadatav1.Bucket) *r2v1.Bucket {
	sc := b.GetInfo()[infoStorageClass]
	if sc == "" {
		sc = "Standard"
	}
	return &r2v1.Bucket{
		Name: b.GetName(), CreationDate: time.Unix(0, b.GetCreateTimeUnixNanos()).UTC().Format("2006-01-02T15:04:05.000Z"),
		Location: s.cfg.Location, Jurisdiction: bucketJurisdiction(b), StorageClass: sc,
	}
}

// ListBuckets lists buckets by name, with R2's cursor, start_after,
// name_contains, direction and per_page.
func (s *Server) ListBuckets(ctx context.Context, req *r2v1.ListBucketsRequest) (*r2v1.ListBucketsResponse, error) {
	if err := s.allow(ctx, req.GetAccountId(), "listBuckets", nil); err != nil {
		return nil, err
	}
	perPage := int(req.GetPerPage())
	if perPage <= 0 || float64(perPage) != req.GetPerPage() {
		perPage = 20
	}
	perPage = min(perPage, 1000)
	after := req.GetStartAfter()
	if c := req.GetCursor(); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return nil, errs.Errorf(errs.InvalidArgument, "r2.ListBuckets", "The cursor is not valid.")
		}
		after = string(b)
	}
	desc := strings.EqualFold(req.GetDirection(), "desc")
	p := principalFrom(ctx)
	allowed := map[string]bool{}
	for _, id := range p.GetBucketIds() {
		allowed[id] = true
	}
	var all []*metadatav1.Bucket
	for token := ""; ; {
		resp, err := s.deps.Meta.ListBuckets(ctx, &metadatav1.ListBucketsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, b := range resp.GetBuckets() {
			if len(allowed) > 0 && !allowed[b.GetBucketId()] {
				continue
			}
			if bucketJurisdiction(b) != jurisdiction(ctx) || !strings.Contains(b.GetName(), req.GetNameContains()) {
				continue
			}
			all = append(all, b)
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	sort.Slice(all, func(i, j int) bool { return (all[i].GetName() < all[j].GetName()) != desc })
	out := &r2v1.ListBucketsResponse{PerPage: int32(perPage), Buckets: []*r2v1.Bucket{}}
	for _, b := range all {
		if after != "" && ((!desc && b.GetName() <= after) || (desc && b.GetName() >= after)) {
			continue
		}
		if len(out.Buckets) == perPage {
			out.Cursor = base64.RawURLEncoding.EncodeToString([]byte(out.Buckets[len(out.Buckets)-1].GetName()))
			break
		}
		out.Buckets = append(out.Buckets, s.toR2(b))
	}
	return out, nil
}

// CreateBucket creates a private bucket.
func (s *Server) CreateBucket(ctx context.Context, req *r2v1.CreateBucketRequest) (*r2v1.CreateBucketResponse, error) {
	if err := s.allow(ctx, req.GetAccountId(), "writeBuckets", nil); err != nil {
		return nil, err
	}
	if err := objects.ValidateBucketName(req.GetName()); err != nil {
		return nil, err
	}
	info := map[string]string{}
	switch j := jurisdiction(ctx); j {
	case "default":
	case "eu", "fedramp":
		info[infoJurisdiction] = j
	default:
		return nil, errs.Errorf(errs.InvalidArgument, "r2.CreateBucket", "Unknown jurisdiction %q.", j)
	}
	switch sc := req.GetStorageClass(); sc {
	case "", "Standard":
	case "InfrequentAccess":
		info[infoStorageClass] = sc
	default:
		return nil, errs.Errorf(errs.InvalidArgument, "r2.CreateBucket", "Unknown storage class %q.", sc)
	}
	resp, err := s.deps.Meta.CreateBucket(ctx, &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: req.GetName(), AccountId: req.GetAccountId(), Type: metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE, Info: info,
	}})
	if err != nil {
		return nil, err
	}
	return &r2v1.CreateBucketResponse{Bucket: s.toR2(resp.GetBucket())}, nil
}

// GetBucket returns one bucket.
func (s *Server) GetBucket(ctx context.Context, req *r2v1.GetBucketRequest) (*r2v1.GetBucketResponse, error) {
	b, err := s.bucket(ctx, req.GetBucketName())
	if err != nil {
		return nil, s.deny(ctx, req.GetAccountId(), err)
	}
	if err := s.allow(ctx, req.GetAccountId(), "listBuckets", b); err != nil {
		return nil, err
	}
	return &r2v1.GetBucketResponse{Bucket: s.toR2(b)}, nil
}

// deny answers a failed bucket lookup: authentication problems first, so a
// caller without access learns nothing about which buckets exist.
func (s *Server) deny(ctx context.Context, accountID string, lookupErr error) error {
	if err := s.allow(ctx, accountID, "listBuckets", nil); err != nil {
		return err
	}
	return lookupErr
}

// DeleteBucket deletes an empty bucket.
func (s *Server) DeleteBucket(ctx context.Context, req *r2v1.DeleteBucketRequest) (*r2v1.DeleteBucketResponse, error) {
	b, err := s.bucket(ctx, req.GetBucketName())
	if err != nil {
		return nil, s.deny(ctx, req.GetAccountId(), err)
	}
	if err := s.allow(ctx, req.GetAccountId(), "deleteBuckets", b); err != nil {
		return nil, err
	}
	if _, err := s.deps.Meta.DeleteBucket(ctx, &metadatav1.DeleteBucketRequest{BucketId: b.GetBucketId()}); err != nil {
		return nil, err
	}
	return &r2v1.DeleteBucketResponse{}, nil
}

// GetBucketCors returns the S3 view of the bucket's rules in R2's shape.
func (s *Server) GetBucketCors(ctx context.Context, req *r2v1.GetBucketCorsRequest) (*r2v1.GetBucketCorsResponse, error) {
	b, err := s.bucket(ctx, req.GetBucketName())
	if err != nil {
		return nil, s.deny(ctx, req.GetAccountId(), err)
	}
	if err := s.allow(ctx, req.GetAccountId(), "listBuckets", b); err != nil {
		return nil, err
	}
	resp, err := s.deps.Cors.GetBucketCors(ctx, &corsv1.GetBucketCorsRequest{BucketId: b.GetBucketId(), Dialect: corsv1.Dialect_DIALECT_R2})
	if err != nil {
		return nil, err
	}
	return &r2v1.GetBucketCorsResponse{Rules: policy.ToR2(resp.GetRules())}, nil
}

// PutBucketCors replaces the bucket's rules (an empty list clears them).
func (s *Server) PutBucketCors(ctx context.Context, req *r2v1.PutBucketCorsRequest) (*r2v1.PutBucketCorsResponse, error) {
	b, err := s.bucket(ctx, req.GetBucketName())
	if err != nil {
		return nil, s.deny(ctx, req.GetAccountId(), err)
	}
	if err := s.allow(ctx, req.GetAccountId(), "writeBuckets", b); err != nil {
		return nil, err
	}
	rules, err := policy.FromR2(req.GetRules())
	if err != nil {
		return nil, err
	}
	if _, err := s.deps.Cors.PutBucketCors(ctx, &corsv1.PutBucketCorsRequest{BucketId: b.GetBucketId(), Rules: rules, Dialect: corsv1.Dialect_DIALECT_R2}); err != nil {
		return nil, err
	}
	return &r2v1.PutBucketCorsResponse{}, nil
}

// DeleteBucketCors clears the bucket's rules.
func (s *Server) DeleteBucketCors(ctx context.Context, req *r2v1.DeleteBucketCorsRequest) (*r2v1.DeleteBucketCorsResponse, error) {
	b, err := s.bucket(ctx, req.GetBucketName())
	if err != nil {
		return nil, s.deny(ctx, req.GetAccountId(), err)
	}
	if err := s.allow(ctx, req.GetAccountId(), "writeBuckets", b); err != nil {
		return nil, err
	}
	if _, err := s.deps.Cors.DeleteBucketCors(ctx, &corsv1.DeleteBucketCorsRequest{BucketId: b.GetBucketId()}); err != nil {
		return nil, err
	}
	return &r2v1.DeleteBucketCorsResponse{}, nil
}
