package corsd

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/corsd/policy"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Config configures corsd.
type Config struct {
	// CacheSize bounds the number of buckets whose rules are cached.
	CacheSize int `yaml:"cache_size"`
	// CacheTTL bounds how long an entry is trusted while the metadata watch
	// stream is down (with the stream up, changes invalidate at once).
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// RegisterFlags registers corsd's flags under prefix and sets defaults.
func (c *Config) RegisterFlags(prefix string, fs *flag.FlagSet) {
	fs.IntVar(&c.CacheSize, prefix+"cache-size", 10000, "number of buckets whose CORS rules are cached")
	fs.DurationVar(&c.CacheTTL, prefix+"cache-ttl", 2*time.Second, "how long cached CORS rules are trusted while the metadata watch stream is down")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.CacheSize < 1 || c.CacheTTL <= 0 {
		return errors.New("corsd: cache-size and cache-ttl must be positive")
	}
	return nil
}

// Deps are corsd's dependencies.
type Deps struct {
	Meta metadatav1.MetadataServiceClient
	Log  *slog.Logger
	// Now is the clock (nil: time.Now); tests inject one.
	Now func() time.Time
}

// Server is the corsd role.
type Server struct {
	corsv1.UnsafeCorsServiceServer
	cfg   Config
	meta  metadatav1.MetadataServiceClient
	log   *slog.Logger
	cache *cache

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New builds the role.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &Server{cfg: cfg, meta: deps.Meta, log: log, cache: newCache(cfg.CacheSize, cfg.CacheTTL, now)}, nil
}

// Register registers CorsService.
func (s *Server) Register(r grpc.ServiceRegistrar) { corsv1.RegisterCorsServiceServer(r, s) }

// Start begins following metadata's change stream.
func (s *Server) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.started, s.cancel, s.done = true, cancel, make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		s.cache.follow(ctx, s.meta, s.log)
	}()
	return nil
}

// Drain stops following the change stream before the process's gRPC
// server stops: a graceful stop waits for open streams, this one included.
func (s *Server) Drain(ctx context.Context) error { return s.Stop(ctx) }

// Stop stops following the change stream. It is idempotent.
func (s *Server) Stop(context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Ready reports readiness.
func (s *Server) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return errors.New("corsd not started")
	}
	return nil
}

// rules returns the bucket's rules, from the cache or metadata. An entry
// older than minIndex — the caller has already seen a newer rule set, and
// this replica's watch has not caught up — is not used: the linearizable
// read below returns rules at least that new.
func (s *Server) rules(ctx context.Context, bucketID string, minIndex uint64) ([]*corsv1.CorsRule, uint64, error) {
	if e, ok := s.cache.get(bucketID); ok && e.index >= minIndex {
		return e.rules, e.index, nil
	}
	gen := s.cache.generation()
	resp, err := s.meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: bucketID}})
	if err != nil {
		return nil, 0, err
	}
	b := resp.GetBucket()
	s.cache.put(gen, bucketID, b.GetCorsRules(), b.GetCorsIndex())
	return b.GetCorsRules(), b.GetCorsIndex(), nil
}

// Evaluate decides one request against the bucket's rules.
func (s *Server) Evaluate(ctx context.Context, req *corsv1.EvaluateRequest) (*corsv1.EvaluateResponse, error) {
	if req.GetBucketId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, "corsd.Evaluate", "bucket_id is required")
	}
	rules, index, err := s.rules(ctx, req.GetBucketId(), req.GetMinRulesIndex())
	if err != nil {
		return nil, err
	}
	d := policy.Evaluate(rules, policy.Request{
		Operation: req.GetOperation(), Origin: req.GetOrigin(), Method: req.GetMethod(),
		Headers: strings.Join(req.GetRequestHeaders(), ","), Preflight: req.GetPreflight(),
		BucketPublic: req.GetBucketPublic(), Token: req.GetTokenKind(),
	})
	return &corsv1.EvaluateResponse{Decision: d.Decision, Headers: d.Headers, Message: d.Message, RulesIndex: index}, nil
}

func s3View(d corsv1.Dialect) bool {
	return d == corsv1.Dialect_DIALECT_S3 || d == corsv1.Dialect_DIALECT_R2
}

// GetBucketCors returns the rules as stored (B2) or their S3/R2 view.
// S3 and R2 see "no configuration" when no rule carries an s3_* operation.
func (s *Server) GetBucketCors(ctx context.Context, req *corsv1.GetBucketCorsRequest) (*corsv1.GetBucketCorsResponse, error) {
	const op = "corsd.GetBucketCors"
	resp, err := s.meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: req.GetBucketId()}})
	if err != nil {
		return nil, err
	}
	rules := resp.GetBucket().GetCorsRules()
	if s3View(req.GetDialect()) {
		if rules = policy.ToS3(rules); len(rules) == 0 {
			return nil, errs.E(errs.NoSuchConfiguration, op, nil).WithDetail("config", "cors").WithBucket(resp.GetBucket().GetName())
		}
	}
	return &corsv1.GetBucketCorsResponse{Rules: rules, RulesIndex: resp.GetBucket().GetCorsIndex()}, nil
}

// PutBucketCors validates and replaces the whole rule list.
func (s *Server) PutBucketCors(ctx context.Context, req *corsv1.PutBucketCorsRequest) (*corsv1.PutBucketCorsResponse, error) {
	rules := policy.Normalize(req.GetRules())
	var err error
	if s3View(req.GetDialect()) {
		rules, err = policy.FromS3(req.GetRules())
	} else {
		err = policy.Validate(rules)
	}
	if err != nil {
		return nil, err
	}
	return s.store(ctx, req.GetBucketId(), rules, req.GetRequestId())
}

// DeleteBucketCors clears the rule list.
func (s *Server) DeleteBucketCors(ctx context.Context, req *corsv1.DeleteBucketCorsRequest) (*corsv1.DeleteBucketCorsResponse, error) {
	resp, err := s.store(ctx, req.GetBucketId(), nil, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &corsv1.DeleteBucketCorsResponse{RulesIndex: resp.GetRulesIndex()}, nil
}

func (s *Server) store(ctx context.Context, bucketID string, rules []*corsv1.CorsRule, requestID string) (*corsv1.PutBucketCorsResponse, error) {
	resp, err := s.meta.UpdateBucket(ctx, &metadatav1.UpdateBucketRequest{
		BucketId: bucketID, SetCorsRules: true, CorsRules: rules, RequestId: requestID,
	})
	if err != nil {
		return nil, err
	}
	// This replica's cache learns at once; others learn from the watch.
	s.cache.drop(bucketID)
	b := resp.GetBucket()
	return &corsv1.PutBucketCorsResponse{Rules: b.GetCorsRules(), RulesIndex: b.GetCorsIndex()}, nil
}
