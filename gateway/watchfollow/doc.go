// Package watchfollow follows metadata's Watch stream for a gateway cache
// and keeps the bookkeeping that makes the cache exact: whether the stream
// is live, the index to resume from, when it broke, and a version counter
// that moves on every invalidation and every change of liveness.
//
// It exists because gateway/authcache (keys) and gateway/bucketcache
// (buckets and their CORS rules) need the very same state machine — resume
// from the last index with jittered backoff, not live while no stream is,
// drop everything after a long outage, on a compacted history or when the
// index goes backwards — and two copies of it would drift. The caches keep
// their entries and their lock: a Follower shares the cache's mutex, so a
// cache checks the version and stores an entry in one critical section
// (see Ticket), and the callbacks that drop entries run under that mutex.
//
// corsd follows the same stream but does not use this package: it keeps
// trusting entries for a short TTL while the stream is down instead of
// bypassing them, and it lives in another role.
package watchfollow
