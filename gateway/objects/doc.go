// Package objects is the protocol-neutral object layer shared by the S3 and
// B2 front-ends: it streams request bodies through digest-checking readers
// into blobstore, commits versions to metadata, and opens byte ranges of
// stored versions for reading. The front-ends only parse and render.
//
// The order of a write is the durability contract (spec/reliability.md I1,
// I2, I6): bytes durable in blobstore → every client digest verified → the
// version committed through Raft → success. A failure before the commit
// leaves only unreferenced blobs, which are deleted when the failure is
// certain and left to garbage collection when the outcome is unknown.
//
// Encryption at rest (sse.go, seal.go) happens here too, between the digest
// reader and blobstore, so every front-end and every write path (Put,
// parts, copies) encrypts the same way: SSE-B2 with a per-blob data key
// that authd wraps under the cluster key, SSE-C with a per-blob key derived
// from the customer's key, which is never stored. Reads decrypt only the
// 64 KiB packages a range touches. Copy (copy.go) reads a source through
// the same path and writes a new version, re-encrypted as the destination
// asks.
package objects
