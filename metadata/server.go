package metadata

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/coffer-project/coffer/metadata/fsm"
	"github.com/coffer-project/coffer/metadata/store"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Server is the metadata role: MetadataService and ClusterService over one
// node's Raft store. Handlers validate the request, resolve it into a command
// (ids and times stamped here, on the leader) and propose it, or read the
// state; they return *errs.Error and leave the gRPC status to the runtime.
// Calls that need the leader reach it through route (forward.go).
//
// Concurrency: handlers run concurrently; Start and Stop are called once each
// by the app.
type Server struct {
	// Embedding the Unsafe interface (not Unimplemented...) makes a new RPC
	// in the proto a compile error until it is written here.
	metadatav1.UnsafeMetadataServiceServer

	cfg      Config
	log      *slog.Logger
	clock    func() time.Time
	reg      prometheus.Registerer
	grpcAddr string // this node's gRPC address as other nodes dial it
	peers    []Peer // the static peer list (bootstrap), a fallback address book
	raftDial func(nodeID string) string
	auth     OperatorVerifier
	dialOpts []grpc.DialOption
	raftTLS  *store.TLS
	jobs     *runtime.JobMetrics

	mu sync.RWMutex
	st *store.Store // nil until Start, and after Stop

	connMu sync.Mutex
	conns  map[string]*grpc.ClientConn // to other metadata nodes, by gRPC address

	// lifecycleMu lets one lifecycle pass run at a time (the loop and
	// RunLifecycle calls).
	lifecycleMu sync.Mutex

	// life ends at Drain or Stop: watch streams and background loops stop.
	life  context.Context
	end   context.CancelFunc
	loops sync.WaitGroup
}

var (
	_ metadatav1.MetadataServiceServer = (*Server)(nil)
	_ metadatav1.ClusterServiceServer  = (*clusterServer)(nil)
)

// New checks the configuration and returns a server that is registered
// before Start; until Start has opened the store every handler answers
// Unavailable.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		return nil, errors.New("metadata: data-dir is required")
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := deps.Now
	if clock == nil {
		clock = time.Now
	}
	s := &Server{
		cfg: cfg, log: log, clock: clock, reg: deps.Registerer, raftDial: deps.RaftDialAddress,
		auth: deps.Auth, dialOpts: deps.DialOptions, raftTLS: deps.RaftTLS, jobs: runtime.NewJobMetrics(deps.Registerer),
		grpcAddr: cfg.GRPCAdvertise, conns: map[string]*grpc.ClientConn{},
	}
	s.life, s.end = context.WithCancel(context.Background())
	if s.grpcAddr == "" && dialable(deps.GRPCAddr) {
		s.grpcAddr = deps.GRPCAddr
	}
	if cfg.Peers != "" {
		s.peers, _ = ParsePeers(cfg.Peers) // checked by Validate
	}
	if s.grpcAddr == "" && (cfg.Peers != "" || cfg.Join != "") {
		return nil, errors.New("metadata: grpc-advertise is required when the gRPC listener does not name a host")
	}
	return s, nil
}

// dialable reports whether addr names a host other nodes can dial.
func dialable(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsUnspecified()
}

// Register registers MetadataService and ClusterService, with every unary
// call routed to the node that must serve it (see forward.go).
func (s *Server) Register(r grpc.ServiceRegistrar) {
	r.RegisterService(s.routed(&metadatav1.MetadataService_ServiceDesc), s)
	r.RegisterService(s.routed(&metadatav1.ClusterService_ServiceDesc), &clusterServer{s: s})
}

// Start opens the state and the Raft log and starts Raft. On a first start
// it bootstraps a group (from the peer list, or as the only voter when so
// configured) or asks the join list to add it. It then waits until this
// node can serve: as the only voter, until it is leader and caught up;
// otherwise until a leader is known. Afterwards the node keeps its entry in
// the address book current (see cluster.go).
func (s *Server) Start(ctx context.Context) error {
	var peers []store.Peer
	for _, p := range s.peers {
		peers = append(peers, store.Peer{ID: p.ID, Address: p.RaftAddr})
	}
	st, err := store.Open(store.Config{
		Dir:               s.cfg.DataDir,
		NodeID:            s.cfg.NodeID,
		BindAddr:          s.cfg.RaftAddr,
		Advertise:         s.cfg.RaftAdvertise,
		Bootstrap:         s.cfg.Bootstrap && s.cfg.Join == "",
		Peers:             peers,
		DialAddress:       s.raftDial,
		TLS:               s.raftTLS,
		HeartbeatTimeout:  s.cfg.HeartbeatTimeout,
		ElectionTimeout:   s.cfg.ElectionTimeout,
		SnapshotInterval:  s.cfg.SnapshotInterval,
		SnapshotThreshold: s.cfg.SnapshotThreshold,
		TrailingLogs:      s.cfg.TrailingLogs,
		WatchRetention:    s.cfg.WatchRetention,
		Log:               s.log,
		Registerer:        s.reg,
	})
	if err != nil {
		return err
	}
	if s.cfg.Join != "" && !st.HadState() {
		if err := s.join(ctx, st); err != nil {
			st.Close()
			return err
		}
	}
	if err := st.WaitReady(ctx); err != nil {
		st.Close()
		return err
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	s.loops.Add(2)
	go s.registerLoop()
	go s.lifecycleLoop()
	s.log.Info("metadata ready", "node_id", s.cfg.NodeID, "raft_addr", st.RaftAddr(), "grpc_addr", s.grpcAddr, "applied_index", st.FSM().AppliedIndex())
	return nil
}

// Drain ends the long-lived Watch streams (watchers see Unavailable and
// reconnect elsewhere), so that the gRPC server's graceful stop, which waits
// for every open stream, does not wait for them. The app calls it before
// stopping gRPC.
func (s *Server) Drain(ctx context.Context) error {
	s.end()
	return nil
}

// Stop stops Raft and closes the state. In-flight handlers fail with Unavailable.
func (s *Server) Stop(ctx context.Context) error {
	s.end()
	s.loops.Wait()
	s.mu.Lock()
	st := s.st
	s.st = nil
	s.mu.Unlock()
	s.closeConns()
	if st == nil {
		return nil
	}
	return st.Close()
}

// Ready reports whether the node can serve: started, and a leader is known.
func (s *Server) Ready() error {
	st, err := s.store("metadata.Ready")
	if err != nil {
		return err
	}
	if id, _ := st.Leader(); id == "" {
		return errs.Errorf(errs.Unavailable, "metadata.Ready", "no raft leader")
	}
	return nil
}

// RaftAddr is the Raft address this node advertises ("" before Start).
func (s *Server) RaftAddr() string {
	if st, err := s.store(""); err == nil {
		return st.RaftAddr()
	}
	return ""
}

// Store is the node's Raft store (nil before Start); for tests and tools.
func (s *Server) Store() *store.Store {
	st, _ := s.store("")
	return st
}

func (s *Server) store(op string) (*store.Store, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.st == nil {
		return nil, errs.Errorf(errs.Unavailable, op, "metadata is not started")
	}
	return s.st, nil
}

// idRequest is a client request that may carry a request id.
type idRequest interface {
	proto.Message
	GetRequestId() string
}

// propose stamps the leader's time into cmd, with the request id and hash
// of req (nil for internal commands), and proposes it. The state machine
// answers a retry of an applied request with its first result (fsm/dedup.go).
func (s *Server) propose(ctx context.Context, op string, now time.Time, req idRequest, cmd *fsmv1.Command) (*fsm.Result, error) {
	st, err := s.store(op)
	if err != nil {
		return nil, err
	}
	cmd.RequestTimeUnixNanos = now.UnixNano()
	if req != nil && req.GetRequestId() != "" {
		id := req.GetRequestId()
		if len(id) > fsm.MaxIDBytes {
			// Callers choose their ids; a long one is remembered by its hash.
			sum := sha256.Sum256([]byte(id))
			id = "sha256:" + hex.EncodeToString(sum[:])
		}
		cmd.RequestId = id
		cmd.RequestHash = requestHash(req)
	}
	return st.Propose(ctx, cmd)
}

// requestHash is the SHA-256 of a request's deterministic encoding with its
// request_id cleared: what must match for a retry to count as the same request.
func requestHash(req proto.Message) []byte {
	c := proto.Clone(req)
	if f := c.ProtoReflect().Descriptor().Fields().ByName("request_id"); f != nil {
		c.ProtoReflect().Clear(f)
	}
	data, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	sum := sha256.Sum256(data)
	return sum[:]
}

// now is the clock handlers stamp commands with (Deps.Now in tests).
func (s *Server) now() time.Time { return s.clock() }

// read runs fn over the state, linearizably unless staleOK.
func (s *Server) read(ctx context.Context, op string, staleOK bool, fn func(*fsm.Reader) error) error {
	st, err := s.store(op)
	if err != nil {
		return err
	}
	return st.Read(ctx, staleOK, fn)
}
