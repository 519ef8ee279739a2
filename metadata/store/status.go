package store

import (
	"math"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coffer-project/coffer/services/errs"
)

// Peer is one voter of a group's initial configuration.
type Peer struct {
	ID      string
	Address string // Raft address
}

// Member is one server of the Raft configuration.
type Member struct {
	ID      string
	Address string
	Voter   bool
}

// Status is this node's view of the group.
type Status struct {
	NodeID        string
	State         string // Follower, Candidate, Leader or Shutdown
	LeaderID      string
	LeaderAddress string
	Members       []Member
	Term          uint64
	LastIndex     uint64
	CommitIndex   uint64
	// AppliedIndex is the state machine's durable applied index.
	AppliedIndex uint64
	// WatchFloor is the index after which the watch log is complete.
	WatchFloor uint64
}

// Status reports this node's view of the group.
func (s *Store) Status() (Status, error) {
	st := Status{
		NodeID:       s.cfg.NodeID,
		State:        s.raft.State().String(),
		Term:         s.raft.CurrentTerm(),
		LastIndex:    s.raft.LastIndex(),
		CommitIndex:  s.raft.CommitIndex(),
		AppliedIndex: s.fsm.AppliedIndex(),
		WatchFloor:   s.fsm.WatchFloor(),
	}
	st.LeaderID, st.LeaderAddress = s.Leader()
	var err error
	if st.Members, err = s.Members(); err != nil {
		return Status{}, err
	}
	return st, nil
}

// LeaderContact is how long ago this node last heard from a leader: 0 on
// the leader itself, very long when it never has.
func (s *Store) LeaderContact() time.Duration {
	if s.IsLeader() {
		return 0
	}
	lc := s.raft.LastContact()
	if lc.IsZero() {
		return math.MaxInt64
	}
	return time.Since(lc)
}

// Members is this node's view of the Raft configuration (the latest one it
// knows, committed or not).
func (s *Store) Members() ([]Member, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, errs.E(errs.Unavailable, "metadata.Members", err)
	}
	var out []Member
	for _, srv := range f.Configuration().Servers {
		out = append(out, Member{ID: string(srv.ID), Address: string(srv.Address), Voter: srv.Suffrage == raft.Voter})
	}
	return out, nil
}

// metrics are the store's Prometheus metrics; a nil *metrics is a no-op.
type metrics struct {
	reg        prometheus.Registerer
	propose    prometheus.Histogram
	collectors []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer, s *Store) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{reg: reg}
	m.propose = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "coffer_metadata_propose_seconds",
		Help:    "Time from proposing a metadata command to its application.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	})
	m.collectors = []prometheus.Collector{
		m.propose,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "coffer_metadata_applied_index",
			Help: "Raft index applied to the metadata state machine.",
		}, func() float64 { return float64(s.fsm.AppliedIndex()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "coffer_metadata_is_leader",
			Help: "1 when this node is the metadata Raft leader.",
		}, func() float64 {
			if s.IsLeader() {
				return 1
			}
			return 0
		}),
	}
	for _, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			s.log.Warn("metadata metric not registered", "err", err)
		}
	}
	return m
}

func (m *metrics) observePropose(start time.Time) {
	if m != nil {
		m.propose.Observe(time.Since(start).Seconds())
	}
}

func (m *metrics) unregister() {
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}
