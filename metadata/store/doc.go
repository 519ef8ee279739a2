// Package store runs the metadata Raft group of one node: hashicorp/raft
// with raft-boltdb as log and stable store (fsync on every append), a file
// snapshot store, a TCP transport, and the bbolt-backed state machine of
// metadata/fsm.
//
// A new group is bootstrapped from a peer list (or as a single voter); voters
// are added and removed on the leader (AddVoter, RemoveServer). Writes go
// through Propose, which refuses a command that fails fsm.ValidateCommand
// before it reaches the log, and otherwise returns only after the command
// has been applied, handing back the FSM's typed result. Reads go through Read,
// which is linearizable unless the caller accepts a stale read: the leader
// records its commit index, confirms it is still leader (VerifyLeader), and
// waits until the local state machine has applied that index before it
// reads (the Raft "read index" protocol; a barrier is issued once per term
// so that the commit index is current).
//
// Raft is configured with NoSnapshotRestoreOnStart: the state machine is
// durable on its own and knows its applied index, so a restart neither
// reloads a snapshot nor re-applies the log. See ../DESIGN.md.
package store
