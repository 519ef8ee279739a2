// Package sigv4 verifies AWS Signature Version 4 (AWS4-HMAC-SHA256) on S3
// requests, as S3 defines it: header-signed requests (Authorization header)
// and presigned URLs (X-Amz-* query parameters). It is pure: it never looks a
// key up, never reads a clock it was not given, and never touches the body.
//
// Verification is two steps, so that the caller can look the key up in
// between:
//
//	a, err := v.Parse(req)            // syntax, scope, payload mode, signed-header rules
//	key := sigv4.SigningKey(secret, a.Credential)
//	err = v.Verify(req, a, key)       // time window, then the signature (constant time)
//
// The canonical request follows S3's rules (spec/s3.md §2.2): the path is
// encoded once and never normalised (no dot-segment or "//" removal); the
// query is parsed from the raw string, so a raw "+" canonicalises to "%2B";
// header values are trimmed with inner runs of spaces collapsed and repeated
// headers joined with ",". When the decoded-and-re-encoded path does not
// verify, the raw escaped path as received is tried too, because some clients
// leave characters such as "=", "@" or "*" unescaped and sign what they sent.
//
// # Streaming payloads (aws-chunked)
//
// The body is not verified here. For x-amz-content-sha256 values
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD and STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
// the caller verifies each chunk as it streams, from the values in Auth and
// the signing key (never the secret):
//
//	prev := a.Signature                          // the seed signature
//	for each chunk c (including the final zero-length chunk):
//	    sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + a.AmzDate + "\n" + a.Credential.Scope() + "\n" +
//	           prev + "\n" + EmptySHA256 + "\n" + hex(sha256(c))
//	    sig := hex(hmac_sha256(signingKey, sts)) // must equal chunk-signature (hmac.Equal)
//	    prev = sig
//	trailer (…-TRAILER only), over the trailer lines each as "name:value\n":
//	    sts := "AWS4-HMAC-SHA256-TRAILER\n" + a.AmzDate + "\n" + a.Credential.Scope() + "\n" +
//	           prev + "\n" + hex(sha256("x-amz-checksum-crc32:<base64>\n"))
//	    sig := hex(hmac_sha256(signingKey, sts)) // must equal x-amz-trailer-signature
//
// STREAMING-UNSIGNED-PAYLOAD-TRAILER carries no chunk signatures; its seed
// signature is still verified here like any other request.
package sigv4
