// Package authd is the authentication and authorization role of coffer. It
// owns secrets: application keys (capabilities, bucket and name-prefix
// restrictions, expiry), the account's master key, SigV4 verification for
// the S3 API, and B2 account, upload-URL and download-authorization tokens.
//
// Keys are stored by the metadata role (MetadataService CreateKey, GetKey,
// ListKeys, DeleteKey). Their secrets are sealed with the cluster's
// key-encryption key (package kek) before they are sent there, so the Raft
// log and its snapshots never hold a plaintext secret; every authd replica of
// a cluster must therefore share the KEK (COFFER_CLUSTER_KEY, or the same
// KEK file). A secret is returned once, by the CreateKey call that made it,
// and is never logged.
//
// authd keeps no key cache: every verification reads the key from metadata
// (a linearizable read), so what authd answers is never older than the
// question. Speed comes from the gateway (gateway/authcache), which caches
// the principal and the scope-bound signing key authd returns, verifies later
// requests itself with packages sigv4 and policy, and drops cached entries
// when the metadata watch stream reports a key change. That cache is only
// safe because authd's answers are fresh.
//
// The gateway calls VerifySigV4 with the request as received (method, escaped
// path, raw query, host, headers) and, optionally, the Access the operation
// needs; authd parses and verifies the signature (package sigv4), reads the
// key, and applies the one authorization decision (package policy) in the
// same round trip. It returns the principal and the date/region/service-scoped
// signing key — never the secret — with the seed signature, the request's
// X-Amz-Date and the credential scope, from which the gateway verifies chunk
// and trailer signatures of aws-chunked bodies as the bytes stream; the exact
// algorithm is documented on package sigv4.
//
// B2 tokens (tokens.go) are self-contained and authenticated with a key
// derived from the KEK, so any replica verifies any token without a shared
// store; they name their key, and stop verifying when it is deleted.
//
// On first start authd creates the account id (through metadata InitAccount),
// one key with every capability if no application key exists — with
// COFFER_ACCESS_KEY_ID / COFFER_SECRET_ACCESS_KEY when they are set,
// otherwise generated and printed once to Deps.Out — and the account's
// master key (COFFER_MASTER_APPLICATION_KEY, or generated and printed once).
// As in B2, the master key works on the native API only: the S3 API refuses
// it.
package authd
