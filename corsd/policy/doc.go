// Package policy is CORS without I/O: validation of a bucket's rule list,
// first-match evaluation of a request against it, and the S3/R2 views onto
// the one stored list (spec/cors.md). corsd serves it over gRPC; nothing
// here touches the network, the clock or storage, so every case of the spec
// is a table test.
//
// One rule model for every dialect: the B2 native rule (corsv1.CorsRule).
// S3 CORSRule and R2 rules convert into it (operations s3_<method>), and
// the S3 and R2 reads are views of the rules that carry s3_* operations.
package policy
