package s3

import (
	"net/http"
)

// handlerFunc serves one classified, authenticated request.
type handlerFunc func(h *Handler, w http.ResponseWriter, r *http.Request, c *call) error

// opSpec declares an operation's pipeline as data: its name (for logs and
// metrics), the B2 capability it needs, whether it addresses a bucket that
// must exist, and its handler. A nil handler answers NotImplemented.
type opSpec struct {
	name       string
	capability string
	bucket     bool // the bucket must exist (resolved before the handler runs)
	handler    handlerFunc
}

// ops is the S3 operation table. Capabilities follow B2's S3 key rules
// (spec/b2-native.md §2.1, spec/s3.md §2.1).
var ops = map[Op]opSpec{
	OpListBuckets:                {"ListBuckets", "listBuckets", false, (*Handler).listBuckets},
	OpCreateBucket:               {"CreateBucket", "writeBuckets", false, (*Handler).createBucket},
	OpDeleteBucket:               {"DeleteBucket", "deleteBuckets", true, (*Handler).deleteBucket},
	OpHeadBucket:                 {"HeadBucket", "listBuckets", true, (*Handler).headBucket},
	OpGetBucketLocation:          {"GetBucketLocation", "listBuckets", true, (*Handler).getBucketLocation},
	OpGetBucketVersioning:        {"GetBucketVersioning", "listBuckets", true, (*Handler).getBucketVersioning},
	OpPutBucketVersioning:        {"PutBucketVersioning", "writeBuckets", true, (*Handler).putBucketVersioning},
	OpGetBucketACL:               {"GetBucketAcl", "listBuckets", true, (*Handler).getBucketACL},
	OpPutBucketACL:               {"PutBucketAcl", "writeBuckets", true, (*Handler).putBucketACL},
	OpGetBucketCORS:              {"GetBucketCors", "listBuckets", true, (*Handler).getBucketCORS},
	OpPutBucketCORS:              {"PutBucketCors", "writeBuckets", true, (*Handler).putBucketCORS},
	OpDeleteBucketCORS:           {"DeleteBucketCors", "writeBuckets", true, (*Handler).deleteBucketCORS},
	OpGetBucketEncryption:        {"GetBucketEncryption", "readBucketEncryption", true, (*Handler).getBucketEncryption},
	OpPutBucketEncryption:        {"PutBucketEncryption", "writeBucketEncryption", true, (*Handler).putBucketEncryption},
	OpDeleteBucketEncryption:     {"DeleteBucketEncryption", "writeBucketEncryption", true, (*Handler).deleteBucketEncryption},
	OpGetObjectLockConfiguration: {"GetObjectLockConfiguration", "readBucketRetentions", true, (*Handler).getObjectLockConfiguration},
	OpPutObjectLockConfiguration: {"PutObjectLockConfiguration", "writeBucketRetentions", true, (*Handler).putObjectLockConfiguration},
	OpGetBucketLifecycle:         {"GetBucketLifecycleConfiguration", "listBuckets", true, (*Handler).getBucketLifecycle},
	OpPutBucketLifecycle:         {"PutBucketLifecycleConfiguration", "writeBuckets", true, (*Handler).putBucketLifecycle},
	OpDeleteBucketLifecycle:      {"DeleteBucketLifecycle", "writeBuckets", true, (*Handler).deleteBucketLifecycle},
	OpListObjects:                {"ListObjects", "listFiles", true, (*Handler).listObjectsV1},
	OpListObjectsV2:              {"ListObjectsV2", "listFiles", true, (*Handler).listObjectsV2},
	OpListObjectVersions:         {"ListObjectVersions", "listFiles", true, (*Handler).listObjectVersions},
	OpListMultipartUploads:       {"ListMultipartUploads", "listFiles", true, (*Handler).listMultipartUploads},
	OpDeleteObjects:              {"DeleteObjects", "writeFiles", true, (*Handler).deleteObjects},
	OpPutObject:                  {"PutObject", "writeFiles", true, (*Handler).putObject},
	OpCopyObject:                 {"CopyObject", "writeFiles", true, (*Handler).copyObject},
	OpGetObject:                  {"GetObject", "readFiles", true, (*Handler).getObject},
	OpHeadObject:                 {"HeadObject", "readFiles", true, (*Handler).getObject},
	OpDeleteObject:               {"DeleteObject", "writeFiles", true, (*Handler).deleteObject},
	OpGetObjectACL:               {"GetObjectAcl", "readFiles", true, (*Handler).getObjectACL},
	OpPutObjectACL:               {"PutObjectAcl", "writeFiles", true, (*Handler).putObjectACL},
	OpGetObjectRetention:         {"GetObjectRetention", "readFileRetentions", true, (*Handler).getObjectRetention},
	OpPutObjectRetention:         {"PutObjectRetention", "writeFileRetentions", true, (*Handler).putObjectRetention},
	OpGetObjectLegalHold:         {"GetObjectLegalHold", "readFileLegalHolds", true, (*Handler).getObjectLegalHold},
	OpPutObjectLegalHold:         {"PutObjectLegalHold", "writeFileLegalHolds", true, (*Handler).putObjectLegalHold},
	OpCreateMultipartUpload:      {"CreateMultipartUpload", "writeFiles", true, (*Handler).createMultipartUpload},
	OpUploadPart:                 {"UploadPart", "writeFiles", true, (*Handler).uploadPart},
	OpUploadPartCopy:             {"UploadPartCopy", "writeFiles", true, (*Handler).uploadPartCopy},
	OpCompleteMultipartUpload:    {"CompleteMultipartUpload", "writeFiles", true, (*Handler).completeMultipartUpload},
	OpAbortMultipartUpload:       {"AbortMultipartUpload", "writeFiles", true, (*Handler).abortMultipartUpload},
	OpListParts:                  {"ListParts", "writeFiles", true, (*Handler).listParts},
	OpGetObjectTagging:           {"GetObjectTagging", "readFiles", true, (*Handler).getObjectTagging},
	OpPutObjectTagging:           {"PutObjectTagging", "writeFiles", true, (*Handler).putObjectTagging},
	OpDeleteObjectTagging:        {"DeleteObjectTagging", "writeFiles", true, (*Handler).deleteObjectTagging},
	OpGetObjectAttributes:        {"GetObjectAttributes", "readFiles", true, (*Handler).getObjectAttributes},
	// PostObject authenticates from its form, not its headers (handler.go).
	OpPostObject: {"PostObject", "writeFiles", true, (*Handler).postObject},
}
