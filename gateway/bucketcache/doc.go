// Package bucketcache keeps the gateway's bucket lookups off the metadata
// Raft leader: before it, every S3 and B2 request paid one linearizable
// GetBucket (a read-index round through Raft, waiting for the state to
// catch up with the latest commit) before anything else, which was most of
// a small GET's latency and half of a small PUT's.
//
// # Shape
//
// Client is a metadatav1.MetadataServiceClient: GetBucket is answered from
// the cache when it may be, every other call passes through to metadata.
// The gateway hands it to the object layer and the front-ends in place of
// the plain client, so the S3, B2 and R2 front-ends look buckets up exactly
// as before (h.meta.GetBucket) and need no change.
//
// # Why it is never stale for long (the authcache pattern)
//
// The cache follows metadata's Watch stream of bucket and CORS changes
// (kinds BUCKET, CORS), through gateway/watchfollow as authcache does: a
// change drops the bucket's entry; a compacted stream, an index going
// backwards or a long outage drop everything.
//
//  1. Entries are used only while the stream is live: from its first
//     response until it breaks. While it is down, every lookup is the
//     linearizable GetBucket it always was.
//  2. An answer from metadata is stored only if nothing was invalidated,
//     and the stream did not change state, between the question and the
//     answer (a version counter). Metadata's answer reflects a linearizable
//     read, so a change that committed after it is delivered by the stream
//     after the entry is stored, and removes it.
//  3. Every entry also expires after MaxAge, as a backstop.
//
// # Read-after-write of bucket settings
//
// A write made through this gateway — UpdateBucket and DeleteBucket on this
// client, CORS rules through the CorsService client Wrap returns — drops the
// bucket's entry (and bumps the version) as soon as the write returns, so
// the next request through this gateway reads the new settings from
// metadata: CORS rules (and so the cors_index that gateway/corscache keys
// decisions by and passes to corsd as min_rules_index), the bucket type
// and file-lock configuration are never served stale to the client that
// changed them. Another gateway sees the change when its stream delivers
// it (milliseconds on a healthy cluster), the bound authcache already
// gives key deletions, or at once falls back to linearizable reads when
// its stream is broken.
package bucketcache
