// Package gateway is the only role that speaks HTTP to users. It listens on
// one port and routes each request to a front-end by path: the R2-style
// REST API (/client/v4/…, gateway/r2), B2 native (/b2api/…, /file/…,
// gateway/b2) and S3 for everything else (gateway/s3). Every front-end runs
// inside the one request shell (gateway/shell: slots, deadlines, errors in
// the client's dialect, metrics, access log), shares the protocol-neutral
// object layer (gateway/objects) and the credential cache
// (gateway/authcache), and reaches the other roles only through their
// generated gRPC clients. See DESIGN.md for the why.
package gateway
