// Package conformance is coffer's client-level test suite: ordinary Go test
// functions that take an endpoint and credentials and drive it with real
// client libraries — for S3, aws-sdk-go-v2 with its default checksum
// behaviour and minio-go (S3Core, S3Multipart, S3Authorization,
// S3CORSAnswers); for B2, a raw client per API version and Backblaze's
// blazer (B2Core). In `go test` they run against services/clustertest; the
// same functions run against the compose cluster under the e2e build tag.
package conformance
