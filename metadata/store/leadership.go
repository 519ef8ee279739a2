package store

import "github.com/hashicorp/raft"

// Leadership changes are observed, not polled: a Raft observer sees every
// state change (follower, candidate, leader) and every change of the known
// leader, and turns them into a signal on a one-slot channel. A reader that
// gets the signal reads the current state (IsLeader, Status); signals that
// arrive while one is pending merge into it, so nothing is missed and the
// channel never blocks Raft.

// watchLeadership starts the observer. Called once, by Open.
func (s *Store) watchLeadership() {
	s.leaderCh = make(chan struct{}, 1)
	s.obsDone = make(chan struct{})
	obs := make(chan raft.Observation, 16)
	s.observer = raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.RaftState, raft.LeaderObservation:
			return true
		}
		return false
	})
	s.raft.RegisterObserver(s.observer)
	go func() {
		for {
			select {
			case <-s.obsDone:
				return
			case <-obs:
				s.signalLeadership()
			}
		}
	}()
	// The state before the observer was registered counts as a change.
	s.signalLeadership()
}

func (s *Store) signalLeadership() {
	select {
	case s.leaderCh <- struct{}{}:
	default:
	}
}

// LeadershipChanges returns a channel that receives a value after this
// node's Raft state or its view of the leader changed. Read IsLeader or
// Status after each receive.
func (s *Store) LeadershipChanges() <-chan struct{} { return s.leaderCh }

// stopWatchingLeadership ends the observer. Called once, by Close.
func (s *Store) stopWatchingLeadership() {
	if s.observer == nil {
		return
	}
	s.raft.DeregisterObserver(s.observer)
	close(s.obsDone)
}
