package conformance

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Fidelity runs the checks of behaviours where real clients and peer
// suites (ceph's s3-tests, versitygw's, minio-go's functional tests) saw
// coffer differ from S3: error codes and messages, checksums, listing
// details, metadata encoding, storage classes.
func S3Fidelity(t *testing.T, tg Target) {
	t.Run("ErrorCodes", func(t *testing.T) { testFidelityErrorCodes(t, tg) })
	t.Run("ErrorMessages", func(t *testing.T) { testFidelityErrorMessages(t, tg) })
	t.Run("UnicodeMetadata", func(t *testing.T) { testFidelityUnicodeMetadata(t, tg) })
	t.Run("ChunkedTransfer", func(t *testing.T) { testFidelityChunkedTransfer(t, tg) })
	t.Run("ChecksumsMinio", func(t *testing.T) { testFidelityChecksumsMinio(t, tg) })
	t.Run("ChecksumsAWS", func(t *testing.T) { testFidelityChecksumsAWS(t, tg) })
	t.Run("ListingBoto3", func(t *testing.T) { testFidelityListingBoto3(t, tg) })
	t.Run("ListingChecksums", func(t *testing.T) { testFidelityListingChecksums(t, tg) })
	t.Run("ListUploadsDelimiter", func(t *testing.T) { testFidelityListUploadsDelimiter(t, tg) })
	t.Run("DeleteBucketWithUploads", func(t *testing.T) { testFidelityDeleteBucketWithUploads(t, tg) })
	t.Run("StorageClass", func(t *testing.T) { testFidelityStorageClass(t, tg) })
}

// wantMessage fails unless err is an S3 error with this code and message.
func wantMessage(t testing.TB, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s %q, got %v", code, message, err)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != message {
		t.Fatalf("want %s %q, got %s %q", code, message, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func testFidelityErrorCodes(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-codes")
	put(t, c, b, "one", "single part")

	t.Run("PartNumberBeyondCount", func(t *testing.T) {
		_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("one"), PartNumber: aws.Int32(2)})
		WantError(t, err, "InvalidPartNumber", 400)
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("one"), PartNumber: aws.Int32(5)})
		WantError(t, err, "", 400)
	})
	t.Run("CompleteUnknownUpload", func(t *testing.T) {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("k"),
			UploadId:        aws.String("4_z0000000000000000000000f0000000000000000_d20250101_m000000_c000_v0000000_t0000_u00000000000000000"),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"` + MD5Hex([]byte("x")) + `"`)}}}})
		WantError(t, err, "NoSuchUpload", 404)
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("k"), UploadId: aws.String("not-an-upload-id"),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"` + MD5Hex([]byte("x")) + `"`)}}}})
		WantError(t, err, "NoSuchUpload", 404)
		// An aborted upload is unknown too.
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("aborted")})
		if err != nil {
			t.Fatal(err)
		}
		part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("aborted"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("aborted"), UploadId: up.UploadId}); err != nil {
			t.Fatal(err)
		}
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("aborted"), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
		WantError(t, err, "NoSuchUpload", 404)
		// An empty part list for an unknown upload: the upload is checked first.
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("aborted"), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{}})
		WantError(t, err, "NoSuchUpload", 404)
	})
	t.Run("LockCallsOnMissingKey", func(t *testing.T) {
		lb := newLockedBucket(t, c, "fid-lock")
		missing := aws.String("no/such/key")
		_, err := c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &lb, Key: missing})
		WantError(t, err, "NoSuchKey", 404)
		_, err = c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: &lb, Key: missing})
		WantError(t, err, "NoSuchKey", 404)
		_, err = c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: &lb, Key: missing,
			LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
		WantError(t, err, "NoSuchKey", 404)
		_, err = c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &lb, Key: missing,
			Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(farFuture())}})
		WantError(t, err, "NoSuchKey", 404)
	})
	t.Run("InvalidRetentionPeriod", func(t *testing.T) {
		lb := newLockedBucket(t, c, "fid-period")
		for _, d := range []types.DefaultRetention{
			{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(0)},
			{Mode: types.ObjectLockRetentionModeGovernance, Years: aws.Int32(-1)},
		} {
			_, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: &lb,
				ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
					Rule: &types.ObjectLockRule{DefaultRetention: &d}}})
			WantError(t, err, "InvalidRetentionPeriod", 400)
		}
	})
	t.Run("PreflightMissingBucket", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, tg.Endpoint+"/"+BucketName("fid-nobucket")+"/k", nil)
		req.Header.Set("Origin", "https://example.com")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.Contains(string(body), "<Code>NoSuchBucket</Code>") {
			t.Fatalf("preflight on a missing bucket: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("KeyTooLongOnDeleteAndHead", func(t *testing.T) {
		long := aws.String(strings.Repeat("k", 1025))
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: long})
		WantError(t, err, "KeyTooLongError", 400)
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: long, VersionId: aws.String("v")})
		WantError(t, err, "KeyTooLongError", 400)
		// HEAD answers with the status only.
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: long})
		WantError(t, err, "", 400)
	})
	t.Run("CopyMetadataTooLarge", func(t *testing.T) {
		// Refused whatever the directive (versitygw's CopyObject_long_metadata sends none).
		_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: aws.String(CopySource(b, "one", "")),
			Metadata: map[string]string{strings.Repeat("s", 2048): "value"}})
		WantError(t, err, "MetadataTooLarge", 400)
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: aws.String(CopySource(b, "one", "")),
			MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"big": strings.Repeat("v", 2100)}})
		WantError(t, err, "MetadataTooLarge", 400)
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("copy")})
		WantError(t, err, "", 404)
	})
	t.Run("RangeWithSpaceIgnored", func(t *testing.T) {
		out, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("one"), Range: aws.String("bytes= -1")})
		if string(body) != "single part" || out.ContentRange != nil {
			t.Fatalf("Range 'bytes= -1': body %q, Content-Range %v", body, aws.ToString(out.ContentRange))
		}
	})
}

// testFidelityErrorMessages checks S3's fixed message texts, which clients
// and peer suites compare verbatim.
func testFidelityErrorMessages(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-msgs")
	missing := BucketName("fid-missing")
	_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &missing})
	wantMessage(t, err, "NoSuchBucket", "The specified bucket does not exist.")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("nope")})
	wantMessage(t, err, "NoSuchKey", "The specified key does not exist.")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
	wantMessage(t, err, "KeyTooLongError", "Your key is too long.")
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("k"), UploadId: aws.String("nope")})
	wantMessage(t, err, "NoSuchUpload", "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("meta"), Body: strings.NewReader("x"),
		Metadata: map[string]string{"big": strings.Repeat("v", 2100)}})
	wantMessage(t, err, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
	put(t, c, b, "full", "x")
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b})
	wantMessage(t, err, "BucketNotEmpty", "The bucket you tried to delete is not empty. You must delete all versions in the bucket.")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("full"), IfMatch: aws.String(`"nope"`)})
	wantMessage(t, err, "PreconditionFailed", "At least one of the preconditions you specified did not hold.")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("full"), Range: aws.String("bytes=5-9")})
	wantMessage(t, err, "InvalidRange", "The requested range cannot be satisfied.")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("md5"), Body: strings.NewReader("hello"),
		ContentMD5: aws.String("AAAAAAAAAAAAAAAAAAAAAA==")})
	wantMessage(t, err, "BadDigest", "The Content-MD5 you specified did not match what we received.")
}

// farFuture is a retain-until date well ahead, whole seconds.
func farFuture() time.Time { return time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second) }
