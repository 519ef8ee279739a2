// Package s3 is the S3 front-end of the gateway. A request goes through:
//
//	Classify (route.go)  → which operation, bucket and key
//	ops table (ops.go)   → the capability it needs and its handler
//	authenticate (auth.go, authd over gRPC) and authorize (same call)
//	the handler          → bucket.go, bucketconfig.go (versioning, ACLs,
//	                       default encryption), lifecycle.go, cors.go,
//	                       lock.go (Object Lock), object.go, copy.go,
//	                       deleteobjects.go, multipart.go, list.go
//	writeError (errors.go) for any domain error, in S3's XML shape
//
// Bodies stream: aws-chunked payloads are decoded and their chunk signatures
// verified as the bytes flow (chunked.go); every digest the client sent is
// checked before the version is committed (gateway/objects). Configuration
// bodies (configbody.go) go through the same checks, bounded, before a
// fixed-struct XML decoder sees them.
//
// An operation that touches more than its own bucket and key authorizes
// every part with the same decision (policy.Decide): a copy reads its
// source only with readFiles there, DeleteObjects decides each key, and
// governance bypass and Object Lock headers need their own capabilities.
package s3
