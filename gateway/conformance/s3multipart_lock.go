package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// testMultipartLock starts an upload with Object Lock settings: the
// completed object carries them and cannot be deleted; a bucket without
// Object Lock refuses them at the start.
func testMultipartLock(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newLockedBucket(t, c, "mp-lock")
	t.Cleanup(func() { AbortUploads(context.Background(), t, c, b) })
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	key := "locked"
	data := newMemData(190, 100)
	id, done, _ := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size), &s3.CreateMultipartUploadInput{
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &until,
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn,
	})
	out, err := complete(ctx, c, b, key, id, done)
	if err != nil {
		t.Fatal(err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if head.ObjectLockMode != types.ObjectLockModeGovernance || head.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn ||
		head.ObjectLockRetainUntilDate == nil || !head.ObjectLockRetainUntilDate.Equal(until) {
		t.Fatalf("lock of the completed object: mode %q hold %q until %v", head.ObjectLockMode, head.ObjectLockLegalHoldStatus, head.ObjectLockRetainUntilDate)
	}
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: &key, VersionId: out.VersionId})
	WantError(t, err, "AccessDenied", 403)

	plain := mpBucket(t, c, "mp-nolock")
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &plain, Key: aws.String("k"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &until})
	WantError(t, err, "InvalidRequest", 400)
}
