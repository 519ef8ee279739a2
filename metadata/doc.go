// Package metadata is the metadata role of coffer: the single source of truth
// for everything that is not object bytes (the account, buckets and their
// settings, object versions, unfinished uploads and their parts, object
// locks, application keys, blob placements), kept by a Raft group of nodes.
// The leader also runs the buckets' lifecycle rules (lifecycle.go).
//
// The role serves coffer.metadata.v1.MetadataService and ClusterService over
// a Raft store (metadata/store) whose state machine keeps its state in bbolt
// on disk (metadata/fsm). Handlers are thin: they validate the request,
// resolve it into a Raft command on the leader (ids, version ids and times
// are stamped here, never in the state machine), propose it and wait until
// it is applied. Writes and linearizable reads sent to a follower are
// forwarded to the leader (forward.go); stale_ok reads and Watch are served
// by any node. Nodes form a group from a peer list, join through an existing
// member, and keep each other's gRPC addresses in a replicated address book
// (cluster.go).
//
// The front door is the same as every role's:
//
//	srv, err := metadata.New(cfg, metadata.Deps{Log: log, GRPCAddr: addr})
//	srv.Register(grpcServer)
//	err = srv.Start(ctx) // opens the state, starts Raft, waits for a leader
//	...
//	err = srv.Drain(ctx) // ends Watch streams before the gRPC server stops
//	err = srv.Stop(ctx)
//
// See DESIGN.md for why the store and the state machine are shaped as they are.
package metadata
