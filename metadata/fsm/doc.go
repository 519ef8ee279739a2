// Package fsm is the replicated state machine of the metadata role: the
// account, buckets, object versions, unfinished uploads and their parts,
// application keys, the blob-reference index (placements), the member
// address book and the recent request ids, kept in a bbolt file on disk,
// with the watch log of what each entry changed.
//
// The FSM applies Raft log entries whose payload is one fsmv1.Command. Apply
// is deterministic: it never reads the clock, randomness or the network; the
// leader has already stamped ids and times into the command. A command that
// cannot be decoded, or that has no op, panics (continuing would let replicas
// diverge). A command that breaks the static rules (ValidateCommand) or a
// domain rule (bucket exists, precondition failed...) is refused: the
// refusal is the entry's *Result, and a refused command changes nothing.
//
// Every batch of entries (raft.BatchingFSM) is applied in one bbolt write
// transaction together with the applied index, so concurrent writers share
// one fsync and a restart knows exactly which entries are already in the
// state: entries at or below the stored applied index are skipped, which makes
// replay idempotent.
//
// Reads go through View, which hands out a Reader over a read-only bbolt
// transaction. See ../DESIGN.md for the bucket layout.
package fsm
