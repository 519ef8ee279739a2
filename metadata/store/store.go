package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coffer-project/coffer/metadata/fsm"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Config configures one node's Raft store.
type Config struct {
	// Dir holds fsm.db (the state) and raft/ (log, stable store, snapshots).
	Dir string
	// NodeID is this node's Raft server id.
	NodeID string
	// BindAddr is the Raft TCP listen address ("127.0.0.1:0" picks a port).
	BindAddr string
	// Advertise is the address other nodes dial; empty means the bound
	// address (which must then not be unspecified, like 0.0.0.0).
	Advertise string
	// Bootstrap makes a node with no Raft state the single voter of a new
	// group (ignored when Peers is set).
	Bootstrap bool
	// Peers, when set, are the voters of a new group: a node with no Raft
	// state bootstraps with exactly these (every initial node is given the
	// same list, and Raft accepts the identical bootstrap from each). The
	// list must contain this node with its advertised address.
	Peers []Peer
	// DialAddress, when set, tells where to dial a peer's Raft transport
	// ("" means its advertised address). Tests route Raft traffic through
	// fault-injecting proxies with it.
	DialAddress func(nodeID string) string
	// TLS, when set, runs the transport over mutual TLS (transport.go).
	TLS *TLS

	// HeartbeatTimeout, ElectionTimeout, SnapshotInterval,
	// SnapshotThreshold and TrailingLogs are raft.Config's; zero means
	// raft's default.
	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	SnapshotInterval  time.Duration
	SnapshotThreshold uint64
	TrailingLogs      uint64
	// MaxAppendEntries bounds how many entries the leader writes (and the
	// FSM applies) in one batch.
	MaxAppendEntries int
	// WatchRetention is how many Raft indexes of changes the FSM's watch log
	// keeps (0: the FSM's default).
	WatchRetention uint64

	// Log receives the store's and raft's logs; nil discards them.
	Log *slog.Logger
	// Registerer, when set, receives the store's metrics.
	Registerer prometheus.Registerer
}

func (c *Config) defaults() {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	d := raft.DefaultConfig()
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = d.HeartbeatTimeout
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = d.ElectionTimeout
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = d.SnapshotInterval
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = d.SnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = d.TrailingLogs
	}
	if c.MaxAppendEntries == 0 {
		c.MaxAppendEntries = 256
	}
}

// Store is one node of the metadata Raft group.
//
// Concurrency: every method is safe for concurrent use. Close must be called
// once, after which the other methods fail with Unavailable.
type Store struct {
	cfg     Config
	log     *slog.Logger
	fsm     *fsm.FSM
	raft    *raft.Raft
	logs    raft.LogStore // the cache in front of bolt
	bolt    *raftboltdb.BoltStore
	snaps   *raft.FileSnapshotStore
	trans   *raft.NetworkTransport
	metrics *metrics

	barrierMu   sync.Mutex
	barrierTerm atomic.Uint64 // the term whose leader barrier has been applied

	hadState bool // Raft state existed when the store was opened

	// Leadership observation (leadership.go).
	observer *raft.Observer
	leaderCh chan struct{}
	obsDone  chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Open opens the state machine and the Raft log under cfg.Dir and starts
// Raft. With cfg.Bootstrap and no existing Raft state, it bootstraps a group
// whose only voter is this node. Open does not wait for a leader; see
// WaitReady.
func Open(cfg Config) (*Store, error) {
	cfg.defaults()
	if cfg.Dir == "" || cfg.NodeID == "" || cfg.BindAddr == "" {
		return nil, errors.New("store: dir, node id and bind address are required")
	}
	raftDir := filepath.Join(cfg.Dir, "raft")
	if err := os.MkdirAll(raftDir, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{cfg: cfg, log: cfg.Log}
	ok := false
	defer func() {
		if !ok {
			s.closeParts()
		}
	}()

	var err error
	if s.fsm, err = fsm.Open(filepath.Join(cfg.Dir, "fsm.db"), fsm.Options{Log: cfg.Log, WatchRetention: cfg.WatchRetention}); err != nil {
		return nil, err
	}
	if s.bolt, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(raftDir, "raft.db")}); err != nil {
		return nil, fmt.Errorf("store: open raft log: %w", err)
	}
	if s.logs, err = raft.NewLogCache(1024, s.bolt); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	hl := newHCLogger(cfg.Log)
	if s.snaps, err = raft.NewFileSnapshotStoreWithLogger(raftDir, 2, hl); err != nil {
		return nil, fmt.Errorf("store: open snapshots: %w", err)
	}
	hasState, err := raft.HasExistingState(s.logs, s.bolt, s.snaps)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := s.reconcile(hasState); err != nil {
		return nil, err
	}

	var advertise net.Addr
	if cfg.Advertise != "" {
		if advertise, err = net.ResolveTCPAddr("tcp", cfg.Advertise); err != nil {
			return nil, fmt.Errorf("store: advertise address: %w", err)
		}
	}
	tc := &raft.NetworkTransportConfig{Logger: hl, MaxPool: 3, Timeout: 10 * time.Second}
	if cfg.DialAddress != nil {
		tc.ServerAddressProvider = dialAddress(cfg.DialAddress)
	}
	if cfg.TLS != nil {
		s.trans, err = newTLSTransport(cfg.BindAddr, advertise, cfg.TLS, tc)
	} else {
		s.trans, err = raft.NewTCPTransportWithConfig(cfg.BindAddr, advertise, tc)
	}
	if err != nil {
		return nil, fmt.Errorf("store: raft transport: %w", err)
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = hl
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = min(rc.LeaderLeaseTimeout, cfg.HeartbeatTimeout)
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	rc.MaxAppendEntries = cfg.MaxAppendEntries
	// The FSM is durable and knows its applied index: never reload a
	// snapshot on start (reconcile covers a lost state file).
	rc.NoSnapshotRestoreOnStart = true

	s.hadState = hasState
	if conf, ok, err := s.bootstrapConfiguration(rc.LocalID); err != nil {
		return nil, err
	} else if ok && !hasState {
		if err := raft.BootstrapCluster(rc, s.logs, s.bolt, s.snaps, s.trans, conf); err != nil {
			return nil, fmt.Errorf("store: bootstrap: %w", err)
		}
		s.log.Info("bootstrapped a new metadata group", "node_id", cfg.NodeID, "raft_addr", s.trans.LocalAddr(), "voters", len(conf.Servers))
	}
	if s.raft, err = raft.NewRaft(rc, s.fsm, s.logs, s.bolt, s.snaps, s.trans); err != nil {
		return nil, fmt.Errorf("store: start raft: %w", err)
	}
	s.metrics = newMetrics(cfg.Registerer, s)
	s.watchLeadership()
	ok = true
	return s, nil
}

// bootstrapConfiguration is the configuration a new group starts with: the
// peer list, or this node alone when Bootstrap is set; ok is false when the
// node must wait to be added instead.
func (s *Store) bootstrapConfiguration(self raft.ServerID) (raft.Configuration, bool, error) {
	if len(s.cfg.Peers) == 0 {
		if !s.cfg.Bootstrap {
			return raft.Configuration{}, false, nil
		}
		return raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: self, Address: s.trans.LocalAddr()}}}, true, nil
	}
	var conf raft.Configuration
	found := false
	for _, p := range s.cfg.Peers {
		if raft.ServerID(p.ID) == self {
			found = true
			if raft.ServerAddress(p.Address) != s.trans.LocalAddr() {
				return conf, false, fmt.Errorf("store: peer list gives this node (%s) raft address %s, but it advertises %s", p.ID, p.Address, s.trans.LocalAddr())
			}
		}
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
	}
	if !found {
		return conf, false, fmt.Errorf("store: the peer list does not name this node (%s)", self)
	}
	return conf, true, nil
}

// HadState reports whether Raft state existed when the store was opened
// (false for a brand-new node, which may need to join a group).
func (s *Store) HadState() bool { return s.hadState }

// reconcile checks that the state file and the Raft log belong together
// before Raft starts. Raft will replay entries after its latest snapshot; the
// FSM skips those it already holds. Two cases need help: a state file behind
// the latest snapshot (lost or replaced) is restored from that snapshot, and
// a state file ahead of the Raft log cannot be explained and is refused.
func (s *Store) reconcile(hasState bool) error {
	applied := s.fsm.AppliedIndex()
	if !hasState {
		if applied > 0 {
			return fmt.Errorf("store: %s is at index %d but there is no raft state in %s; refusing to start",
				s.fsm.Path(), applied, filepath.Join(s.cfg.Dir, "raft"))
		}
		return nil
	}
	var snapIndex uint64
	metas, err := s.snaps.List()
	if err != nil {
		return fmt.Errorf("store: list snapshots: %w", err)
	}
	if len(metas) > 0 {
		snapIndex = metas[0].Index
		if snapIndex > applied {
			_, rc, err := s.snaps.Open(metas[0].ID)
			if err != nil {
				return fmt.Errorf("store: open snapshot %s: %w", metas[0].ID, err)
			}
			s.log.Warn("state is behind the latest snapshot; restoring it", "applied_index", applied, "snapshot_index", snapIndex)
			if err := s.fsm.Restore(rc); err != nil {
				return err
			}
			applied = s.fsm.AppliedIndex()
		}
	}
	last, err := s.bolt.LastIndex()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if applied > max(last, snapIndex) {
		return fmt.Errorf("store: state is at index %d but the raft log ends at %d; refusing to start", applied, max(last, snapIndex))
	}
	return nil
}

// closeParts releases whatever Open managed to open.
func (s *Store) closeParts() error {
	var errList []error
	if s.raft != nil {
		errList = append(errList, s.raft.Shutdown().Error()) // also closes the transport
	} else if s.trans != nil {
		errList = append(errList, s.trans.Close())
	}
	if s.bolt != nil {
		errList = append(errList, s.bolt.Close())
	}
	if s.fsm != nil {
		errList = append(errList, s.fsm.Close())
	}
	return errors.Join(errList...)
}

// Close stops Raft and closes the files. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.metrics != nil {
			s.metrics.unregister()
		}
		s.stopWatchingLeadership()
		s.closeErr = s.closeParts()
	})
	return s.closeErr
}

// FSM is the node's state machine (for reads that accept its current state).
func (s *Store) FSM() *fsm.FSM { return s.fsm }

// RaftAddr is the address this node advertises to the group.
func (s *Store) RaftAddr() string { return string(s.trans.LocalAddr()) }

// IsLeader reports whether this node is the leader right now.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the current leader's id and Raft address ("" when unknown).
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// WaitReady blocks until the node can serve: when it is the only voter of
// its group, until it is leader and has applied everything committed before
// (a barrier); otherwise until some leader is known. A node that belongs to
// no configuration yet (waiting to be added) is ready at once.
func (s *Store) WaitReady(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if s.IsLeader() {
			if err := s.termBarrier(ctx); err == nil || ctx.Err() != nil {
				return err
			}
		} else {
			f := s.raft.GetConfiguration()
			if err := f.Error(); err != nil {
				return errs.E(errs.Unavailable, "metadata.Start", err)
			}
			voters, self := 0, false
			for _, srv := range f.Configuration().Servers {
				if srv.Suffrage == raft.Voter {
					voters++
					self = self || srv.ID == raft.ServerID(s.cfg.NodeID)
				}
			}
			soleVoter := voters == 1 && self
			if id, _ := s.Leader(); voters == 0 || (!soleVoter && id != "") {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errs.E(errs.Unavailable, "metadata.Start", fmt.Errorf("waiting for a raft leader: %w", ctx.Err()))
		case <-t.C:
		}
	}
}

// AddVoter adds (or re-addresses) a voter. It must run on the leader and
// returns once the new configuration is committed.
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	if err := s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeoutOf(ctx)).Error(); err != nil {
		return s.raftError("metadata.AddVoter", err)
	}
	return nil
}

// RemoveServer removes a member. It must run on the leader; removing the
// leader itself commits the change, after which the leader steps down.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, timeoutOf(ctx)).Error(); err != nil {
		return s.raftError("metadata.RemoveServer", err)
	}
	return nil
}

// Snapshot asks Raft to take a snapshot now and waits for it.
func (s *Store) Snapshot() error {
	if err := s.raft.Snapshot().Error(); err != nil {
		return errs.E(errs.Internal, "metadata.Snapshot", err)
	}
	return nil
}

// Propose appends cmd to the Raft log and waits until it has been applied.
// It returns the FSM's result, or the refusal in it as the error. On a node
// that is not the leader it fails with NotLeader, whose details name the
// leader (leader_id, leader_address) for the caller to forward to. When ctx
// ends first the outcome is unknown (the command may still be applied).
func (s *Store) Propose(ctx context.Context, cmd *fsmv1.Command) (*fsm.Result, error) {
	const op = "metadata.Propose"
	start := time.Now()
	// A command the state machine would refuse for its shape never enters
	// the log (apply checks again, so a bad entry cannot break the state).
	if e := fsm.ValidateCommand(cmd); e != nil {
		return nil, e
	}
	data, err := fsm.EncodeCommand(cmd)
	if err != nil {
		return nil, errs.E(errs.Internal, op, err)
	}
	if !s.IsLeader() {
		return nil, s.notLeader(op)
	}
	f := s.raft.Apply(data, timeoutOf(ctx))
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		return nil, errs.E(errs.KindOf(ctx.Err()), op, fmt.Errorf("outcome unknown: %w", ctx.Err()))
	}
	if err != nil {
		return nil, s.raftError(op, err)
	}
	s.metrics.observePropose(start)
	res, ok := f.Response().(*fsm.Result)
	if !ok || res == nil {
		return nil, errs.Errorf(errs.Internal, op, "unexpected apply response %T", f.Response())
	}
	if res.Err != nil {
		return nil, res.Err
	}
	return res, nil
}

// Read runs fn over the local state. Unless staleOK, the read is
// linearizable: it reflects every write that completed before Read was
// called, and fails with NotLeader on a node that is not the leader.
func (s *Store) Read(ctx context.Context, staleOK bool, fn func(*fsm.Reader) error) error {
	if !staleOK {
		if err := s.readIndex(ctx); err != nil {
			return err
		}
	}
	return s.fsm.View(fn)
}

// readIndex implements the read-index protocol: note the commit index,
// confirm leadership with a quorum, wait for the FSM to reach the index.
func (s *Store) readIndex(ctx context.Context) error {
	const op = "metadata.Read"
	if !s.IsLeader() {
		return s.notLeader(op)
	}
	if err := s.termBarrier(ctx); err != nil {
		return err
	}
	index := s.raft.CommitIndex()
	if err := s.raft.VerifyLeader().Error(); err != nil {
		return s.raftError(op, err)
	}
	return s.waitApplied(ctx, index)
}

// termBarrier makes sure that, once per leadership term, everything
// committed by earlier leaders has been applied and the commit index belongs
// to this term (a new leader's commit index is only current once it has
// committed an entry of its own term).
func (s *Store) termBarrier(ctx context.Context) error {
	term := s.raft.CurrentTerm()
	if s.barrierTerm.Load() == term {
		return nil
	}
	s.barrierMu.Lock()
	defer s.barrierMu.Unlock()
	if s.barrierTerm.Load() == term {
		return nil
	}
	if err := s.raft.Barrier(timeoutOf(ctx)).Error(); err != nil {
		return s.raftError("metadata.Read", err)
	}
	s.barrierTerm.Store(term)
	return nil
}

// waitApplied waits until the FSM reflects every entry up to index. Raft
// never hands barrier and no-op entries to the FSM, so the FSM's applied
// index only reaches the last command or configuration entry at or below
// index; look that one up in the (cached) log and wait for it instead.
func (s *Store) waitApplied(ctx context.Context, index uint64) error {
	target := index
	for target > s.fsm.AppliedIndex() {
		var l raft.Log
		if err := s.logs.GetLog(target, &l); err != nil {
			break
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			break
		}
		target--
	}
	if err := s.fsm.WaitApplied(ctx, target); err != nil {
		return errs.E(errs.KindOf(err), "metadata.Read", err)
	}
	return nil
}

// notLeader builds the NotLeader error, naming the leader when known.
func (s *Store) notLeader(op string) *errs.Error {
	e := errs.Errorf(errs.NotLeader, op, "node %s is not the leader", s.cfg.NodeID)
	if id, addr := s.Leader(); id != "" {
		e.WithDetail("leader_id", id).WithDetail("leader_address", addr)
	}
	return e
}

// raftError maps a raft error to a domain error.
func (s *Store) raftError(op string, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return s.notLeader(op)
	case errors.Is(err, raft.ErrLeadershipLost):
		return errs.Errorf(errs.Unavailable, op, "leadership lost; outcome unknown")
	case errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, raft.ErrEnqueueTimeout):
		return errs.E(errs.Unavailable, op, err)
	}
	return errs.E(errs.Internal, op, err)
}

// dialAddress adapts a DialAddress function to raft.ServerAddressProvider.
type dialAddress func(nodeID string) string

// ServerAddr implements raft.ServerAddressProvider; an error makes raft use
// the advertised address.
func (d dialAddress) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	if a := d(string(id)); a != "" {
		return raft.ServerAddress(a), nil
	}
	return "", errors.New("no dial override")
}

// timeoutOf turns ctx's deadline into a raft enqueue timeout (0: none).
func timeoutOf(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 0
}
