// Package blobstore is the blobstore role: it serves coffer.blob.v1's
// BlobService over one node's local disk store (package disk), and keeps
// the node's data whole in the background.
//
// A blobstore node stores bytes and knows nothing of names, buckets or
// permissions. Callers (the gateway's object layer, through package client)
// choose random blob ids, cut blobs into Reed–Solomon shards across nodes
// and record where each shard went in the metadata; the node only promises
// that a PutBlob answered OK is durable, and that every byte it returns has
// passed its chunk checksum.
//
// The RPC handlers are thin: validate, call the disk store, return its
// *errs.Error (the runtime's interceptor turns it into a gRPC status).
// Around them, each node runs the background work of DESIGN.md: a scrubber
// that verifies every stored blob at a bounded rate, a garbage collector
// that removes what no committed version references (and shard copies a
// repair left behind) after a grace period, a repair scan over every
// placement that brings erasure-coded blobs back to k+m healthy shards, and
// a worker that rebuilds the node's own damaged shards when a reader
// reports them (VerifyBlob) or the scrubber finds them. The background work
// needs Deps.Meta and Deps.Peers; without them a node only serves.
package blobstore
