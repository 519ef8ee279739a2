// Package runtime owns what every role shares at run time: the gRPC listener
// with its interceptor chain (request id, logging, metrics, panic recovery,
// domain-error translation), the admin HTTP listener (/healthz, /readyz,
// /metrics, /debug/pprof), gRPC health, structured logs, and gRPC clients
// that translate statuses back into domain errors.
//
// Roles register their services on Server.GRPC() before Serve is called; the
// runtime knows nothing of what they do.
package runtime
