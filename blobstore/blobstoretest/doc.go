// Package blobstoretest starts real blobstore nodes for tests: the role's
// Server behind the standard runtime (interceptors and all) on 127.0.0.1:0,
// with a data directory under the test's temp dir and a client connection
// built by runtime.Dial. Nothing is mocked: tests of the blobstore client
// and of the gateway's object layer talk to the same code as production.
//
// A Cluster is a set of nodes that know each other (Deps.Peers), as the app
// wires a multi-node blobstore; nodes can be stopped, restarted at the same
// address (so every client reaches them again), or replaced by an empty
// node with a new id (a new disk).
package blobstoretest
