package metadata

import "github.com/coffer-project/coffer/services/discovery"

// Advertise fills in what this node publishes in discovery: its Raft server
// id and, while it leads, the leader flag with the term. Metadata clients
// send their calls to the flagged node first; a stale flag costs one
// forwarding hop, never correctness (every follower forwards).
func (s *Server) Advertise(in *discovery.Instance) {
	in.NodeID = s.cfg.NodeID
	in.Leader, in.Term = false, 0
	st, err := s.store("")
	if err != nil || !st.IsLeader() {
		return
	}
	in.Leader = true
	if status, err := st.Status(); err == nil {
		in.Leader, in.Term = status.State == "Leader", status.Term
	}
}

// Changes receives after the node's Raft state or its view of the leader
// changed, when Advertise may answer differently (nil before Start).
func (s *Server) Changes() <-chan struct{} {
	st, err := s.store("")
	if err != nil {
		return nil
	}
	return st.LeadershipChanges()
}
