// Package b2 is the Backblaze B2 Native API front-end (spec/b2-native.md):
// the JSON calls under /b2api/v1…v4/, the upload URLs that b2_get_upload_url
// and b2_get_upload_part_url hand out, and downloads by name (/file/…) and by
// id. Every API version is served by the same handlers; only the shapes that
// differ between versions (the authorize response, a key's bucket scope,
// v1's "size") are rendered per version (shapes.go, account.go).
//
// Like gateway/s3 it is a thin layer: route.go classifies a request from its
// path alone, calls.go declares each call as data, each call's parameters
// check themselves before any other role is asked (the request interface,
// which FuzzB2RequestJSON drives), handlers authorize with the one decision
// (authd/policy) and leave bytes, digests, encryption and commits to
// gateway/objects. Errors are domain errors until errors.go turns them into
// B2's JSON {status, code, message}, keyed by (call, Kind) because B2
// reports the same failure differently per call.
//
// Tokens are verified by gateway/authcache; upload tokens are bound to
// their URL's bucket or large file, and each is used for one upload at a
// time (auth_token_limit). CORS is evaluated by corsd for the four
// operations B2 offers it on (cors.go). X-Bz-Test-Mode, with which clients
// test their retry logic, is honoured only when Config.TestMode is set.
package b2
