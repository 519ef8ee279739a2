// Package gateway is the only role that speaks HTTP to users. It listens on
// one port and routes each request to a front-end: S3 (gateway/s3) today,
// B2 native (/b2api/…, /file/…) and the R2-style REST API (/client/v4/…)
// as those issues land. Every front-end shares the protocol-neutral object
// layer (gateway/objects) and reaches the other roles only through their
// generated gRPC clients. See DESIGN.md for the why.
package gateway
