// Package corsd is the CORS role. It owns the decision the gateway asks for
// on every preflight and every request that carries Origin (Evaluate), and
// the rule list of each bucket as S3, B2 and R2 read and write it
// (Get/Put/DeleteBucketCors). Rules are stored on the bucket in metadata
// (one list per bucket, B2 native shape); validation, evaluation and the
// S3/R2 views are the pure package corsd/policy.
//
// Rules are cached per bucket and the cache is invalidated from metadata's
// Watch stream (see cache.go); while the stream is unavailable, entries
// live for a short TTL, so a change is seen within seconds either way.
package corsd
