package blobstore

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/blobstore/disk"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Deps are the blobstore role's dependencies. The data path needs none; the
// background work that keeps the data whole (garbage collection, healing)
// needs the metadata, which says which blobs are referenced and where their
// shards belong, and the other blobstore nodes, which hold the shards a
// damaged one is rebuilt from.
type Deps struct {
	// Log receives the role's logs (nil: slog.Default()).
	Log *slog.Logger
	// Meta is the metadata service (nil: no garbage collection and no
	// healing; scrubbing still reports corrupt blobs).
	Meta metadatav1.MetadataServiceClient
	// Peers returns a client for every blobstore node, this one included
	// (nil: this node alone, which can heal nothing).
	Peers client.Lookup
	// FS is the file system the store writes through (nil: the operating
	// system's); tests inject a failing disk here.
	FS disk.FS
	// Auth checks the operator's key of RunMaintenance calls (nil: they
	// are refused).
	Auth authv1.AuthServiceClient
	// Registerer, when set, receives the background jobs' metrics.
	Registerer prometheus.Registerer
}

// Server is the blobstore role: BlobService over the node's disk store.
//
// The app registers it before gRPC serves and starts it afterwards, so
// calls may arrive before Start has opened the store; they fail with
// Unavailable until then, and again after Stop.
type Server struct {
	blobv1.UnsafeBlobServiceServer

	cfg   Config
	deps  Deps
	log   *slog.Logger
	store atomic.Pointer[disk.Store]
	maint atomic.Pointer[maintainer]
	stats stats
}

// New validates cfg and builds the role. It touches no files: the store is
// opened by Start.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		return nil, errors.New("blobstore: data-dir is required")
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.GCGrace == 0 {
		cfg.GCGrace = DefaultGCGrace
	}
	deps.Log = log
	return &Server{cfg: cfg, deps: deps, log: log}, nil
}

// Register registers BlobService.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	blobv1.RegisterBlobServiceServer(r, s)
}

// Start opens the disk store (it locks the data directory, removes writes
// left unfinished by a crash and loads or creates the node id), then starts
// the background work: scrubbing, garbage collection, the repair scan and
// the healing of damage that reads report.
func (s *Server) Start(ctx context.Context) error {
	if s.store.Load() != nil {
		return errors.New("blobstore: already started")
	}
	st, err := disk.Open(s.cfg.DataDir, disk.Options{ChunkSize: s.cfg.ChunkSize, Log: s.log, FS: s.deps.FS})
	if err != nil {
		return err
	}
	if !s.store.CompareAndSwap(nil, st) {
		st.Close()
		return errors.New("blobstore: already started")
	}
	m := newMaintainer(s, st)
	s.maint.Store(m)
	m.start()
	return nil
}

// Stop ends the background work, then closes the store. Calls still in
// flight finish on their open files; new calls fail with Unavailable.
func (s *Server) Stop(ctx context.Context) error {
	if m := s.maint.Swap(nil); m != nil {
		m.stop()
	}
	if st := s.store.Swap(nil); st != nil {
		return st.Close()
	}
	return nil
}

// Ready reports whether the store is open.
func (s *Server) Ready() error {
	if s.store.Load() == nil {
		return errors.New("blobstore: store not open")
	}
	return nil
}

// NodeID is the node's stable id, or "" before Start.
func (s *Server) NodeID() string {
	if st := s.store.Load(); st != nil {
		return st.NodeID()
	}
	return ""
}

// open returns the store, or Unavailable outside Start..Stop.
func (s *Server) open(op string) (*disk.Store, error) {
	if st := s.store.Load(); st != nil {
		return st, nil
	}
	return nil, errs.Errorf(errs.Unavailable, op, "blobstore is not started")
}
