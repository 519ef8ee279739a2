// Package authcache is the gateway's credential cache: it lets the gateway
// authenticate the steady state of S3 (and, with the B2 front-end, B2)
// traffic without an authd round trip per request, while a deleted key stops
// working on every gateway within a few seconds.
//
// # What is cached
//
// For SigV4, the first request of a key and credential scope (one day, one
// region) goes to authd's VerifySigV4, which verifies it and returns the
// principal and the scope's signing key kSigning — never the secret. Later
// requests of that key and scope are parsed and verified here with the same
// pure package authd/sigv4 (time window, then the signature in constant
// time); the caller then applies the one authorization decision,
// authd/policy.Decide, to the cached principal. For B2 tokens, authd's
// VerifyToken verdict (the token's narrowed principal, whose expiration
// includes the token's) is cached under the token's SHA-256 — tokens
// themselves are never kept.
//
// # Why it is never stale for long
//
// The cache follows metadata's Watch stream for application-key changes
// (the following itself is gateway/watchfollow, shared with bucketcache).
// Every change of a key (created, deleted) drops that key's entries; a
// compacted stream or an index going backwards drops everything. Three rules
// keep a stale entry from ever being used for long:
//
//  1. Entries are used only while the stream is live: from its first
//     response until it breaks. A broken stream is resumed from the last
//     index seen (with backoff), so the changes made meanwhile are replayed
//     before entries are used again; until then every request goes to authd,
//     which reads keys from metadata on every call (fail closed: authd or
//     metadata unreachable and nothing usable cached means the request
//     fails with Unavailable, never that it is allowed).
//  2. An answer from authd is stored only if nothing was invalidated, and
//     the stream did not change state, between the moment it was asked and
//     the moment it arrived. authd's answer reflects a linearizable read, so
//     a change that committed after that read is delivered by the stream
//     after the entry is stored, and removes it.
//  3. Every entry also expires after MaxAge, as a backstop.
//
// So a key deleted anywhere stops working here as soon as metadata's watch
// stream delivers the change (milliseconds on a healthy cluster), or as soon
// as the stream is found broken.
package authcache
