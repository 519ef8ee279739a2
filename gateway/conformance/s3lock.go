package conformance

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Object Lock: retention and legal holds, the lock headers of PutObject,
// governance bypass and compliance.

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// emptyLockedBucket removes every version of a lock-enabled bucket: legal
// holds are released and governance bypassed; compliance retention is
// waited out (tests keep it to seconds), then the bucket is deleted.
func emptyLockedBucket(t *testing.T, c *s3.Client, b string) {
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
		if err != nil {
			t.Errorf("list versions of %s: %v", b, err)
			return
		}
		left := 0
		for _, v := range vs.Versions {
			_, _ = c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: &b, Key: v.Key, VersionId: v.VersionId,
				LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}})
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: v.Key, VersionId: v.VersionId,
				BypassGovernanceRetention: aws.Bool(true)}); err != nil {
				left++
			}
		}
		for _, m := range vs.DeleteMarkers {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: m.Key, VersionId: m.VersionId}); err != nil {
				left++
			}
		}
		if left == 0 && !aws.ToBool(vs.IsTruncated) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("bucket %s: %d versions still locked", b, left)
			return
		}
		time.Sleep(time.Second)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b}); err != nil {
		t.Errorf("delete bucket %s: %v", b, err)
	}
}

func testObjectLock(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newLockedBucket(t, c, "lock")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)

	// Lock headers on PutObject (the SDK adds the required checksum).
	p, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("gov"), Body: strings.NewReader("governed"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &until,
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOff})
	if err != nil {
		t.Fatal(err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("gov")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeGovernance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(until) ||
		head.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOff {
		t.Fatalf("head of a governed object: mode %q until %v hold %q, %v", head.ObjectLockMode, head.ObjectLockRetainUntilDate, head.ObjectLockLegalHoldStatus, err)
	}
	ret, err := c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &b, Key: aws.String("gov")})
	if err != nil || ret.Retention.Mode != types.ObjectLockRetentionModeGovernance || !aws.ToTime(ret.Retention.RetainUntilDate).Equal(until) {
		t.Fatalf("retention: %+v %v", ret, err)
	}
	// A governed version cannot be deleted without the bypass; hiding it is fine.
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gov"), VersionId: p.VersionId})
	WantError(t, err, "AccessDenied", 403)
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gov")}); err != nil {
		t.Fatalf("delete marker on a locked key: %v", err)
	}
	// Shortening governance retention needs the bypass too.
	shorter := until.Add(-30 * time.Minute)
	_, err = c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &b, Key: aws.String("gov"), VersionId: p.VersionId,
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: &shorter}})
	WantError(t, err, "AccessDenied", 403)
	if _, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &b, Key: aws.String("gov"), VersionId: p.VersionId,
		BypassGovernanceRetention: aws.Bool(true),
		Retention:                 &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: &shorter}}); err != nil {
		t.Fatalf("shorten with bypass: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gov"), VersionId: p.VersionId,
		BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatalf("delete with bypass: %v", err)
	}

	// A legal hold blocks deletion whatever the bypass.
	h := put(t, c, b, "held", "held")
	if _, err := c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: &b, Key: aws.String("held"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}
	lh, err := c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: &b, Key: aws.String("held")})
	if err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("legal hold: %+v %v", lh, err)
	}
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("held"), VersionId: h.VersionId, BypassGovernanceRetention: aws.Bool(true)})
	WantError(t, err, "AccessDenied", 403)
	if _, err := c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: &b, Key: aws.String("held"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("held"), VersionId: h.VersionId}); err != nil {
		t.Fatalf("delete after the hold was released: %v", err)
	}

	// Compliance cannot be bypassed or shortened, only extended; it is kept
	// to seconds so the cleanup can wait it out.
	soon := time.Now().Add(8 * time.Second).UTC()
	cp, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("comp"), Body: strings.NewReader("c"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: &soon})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("comp"), VersionId: cp.VersionId, BypassGovernanceRetention: aws.Bool(true)})
	WantError(t, err, "AccessDenied", 403)
	earlier := soon.Add(-2 * time.Second)
	_, err = c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &b, Key: aws.String("comp"), BypassGovernanceRetention: aws.Bool(true),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: &earlier}})
	WantError(t, err, "AccessDenied", 403)
	later := soon.Add(2 * time.Second)
	if _, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &b, Key: aws.String("comp"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: &later}}); err != nil {
		t.Fatalf("extend compliance: %v", err)
	}

	// Errors.
	put(t, c, b, "plain", "no lock")
	_, err = c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &b, Key: aws.String("plain")})
	WantError(t, err, "NoSuchObjectLockConfiguration", 404)
	_, err = c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: &b, Key: aws.String("plain")})
	WantError(t, err, "NoSuchObjectLockConfiguration", 404)
	_, err = c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &b, Key: aws.String("missing")})
	WantError(t, err, "NoSuchKey", 404)
	past := time.Now().Add(-time.Hour)
	_, err = c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &b, Key: aws.String("plain"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: &past}})
	WantError(t, err, "InvalidArgument", 400)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("half"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeGovernance})
	WantError(t, err, "InvalidArgument", 400)
	// Lock headers without Content-MD5, a checksum or a signed payload hash
	// are refused.
	hdr := http.Header{"X-Amz-Object-Lock-Mode": {"GOVERNANCE"}, "X-Amz-Object-Lock-Retain-Until-Date": {until.Format(time.RFC3339)},
		"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}
	if r := tg.Signed(t, http.MethodPut, "/"+b+"/nodigest", []byte("x"), hdr); r.Status != 400 || r.Code() != "InvalidRequest" {
		t.Fatalf("lock headers without a digest: %d %s", r.Status, r.Body)
	}

	// A bucket without Object Lock takes none of it.
	nb := newBucket(t, c, "nolock")
	put(t, c, nb, "k", "x")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &nb, Key: aws.String("k2"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &until})
	WantError(t, err, "InvalidRequest", 400)
	_, err = c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &nb, Key: aws.String("k"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: &until}})
	WantError(t, err, "InvalidRequest", 400)
	_, err = c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: &nb, Key: aws.String("k"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
	WantError(t, err, "InvalidRequest", 400)
	_, err = c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &nb, Key: aws.String("k")})
	WantError(t, err, "InvalidRequest", 400)
}
