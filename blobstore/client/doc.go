// Package client is the blobstore client used by the gateway's object
// layer: it turns "store these bytes" into BlobService calls on blobstore
// nodes and returns the placement to record in the metadata; Get and
// Delete take that placement back.
//
// A blob is stored whole on one node (k=1, m=0, the all-in-one default, in
// exactly the format used before erasure coding), or cut into stripes coded
// with Reed–Solomon into k data and m parity shards on k+m distinct nodes
// (Config; see ../DESIGN.md for the layout). Put streams every shard in
// parallel, holding a few stripes at most, and returns once a write quorum
// of shards is durable. Get reads the data shards holding the range, at the
// stripes it touches, straight to the caller; when a shard fails it
// reconstructs from parity, reports the damage to the shard's node (which
// rebuilds it) and goes on. Rebuild recreates one shard from the others;
// the nodes use it to heal.
//
// Integrity is checked end to end: nodes verify chunk checksums on every
// read; the client compares the CRC32C of each shard it sent with the one
// the node stored, and, for a whole-object read, the CRC32C of what it
// returns with the one written, withholding the last bytes on a mismatch.
// Errors are *errs.Error whatever connection the node clients use.
package client
