// Package errs defines coffer's domain errors: one Error struct carrying a
// stable Kind. Every layer returns these; they cross gRPC as google.rpc.Status
// with an ErrorInfo (see services/runtime), and each dialect maps a Kind to its
// wire format exactly once, at the edge (gateway/s3/errors.go and friends).
//
// Kinds are append-only: their numeric values and reason strings are part of
// the wire contract between roles.
package errs
