package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// KeyMaker creates an application key with the given capabilities,
// restricted to bucket (a name; "" for none) and namePrefix, and returns
// its id and secret. In `go test` it calls authd; against a deployment, the
// B2 API's b2_create_key.
type KeyMaker func(t testing.TB, capabilities []string, bucket, namePrefix string) (id, secret string)

// S3Authorization checks that operations which touch more than their own
// bucket and key authorize every part: a copy reads its source only with
// readFiles there (spec/reliability.md §2), DeleteObjects decides each key,
// governance bypass and lock headers need their capabilities.
func S3Authorization(t *testing.T, tg Target, keys KeyMaker) {
	t.Run("CopySource", func(t *testing.T) { testCopyAuthorization(t, tg, keys) })
	t.Run("DeleteObjects", func(t *testing.T) { testDeleteObjectsAuthorization(t, tg, keys) })
	t.Run("ObjectLock", func(t *testing.T) { testLockAuthorization(t, tg, keys) })
	t.Run("Tagging", func(t *testing.T) { testTaggingAuthorization(t, tg, keys) })
	t.Run("PostObject", func(t *testing.T) { testPostAuthorization(t, tg, keys) })
}

// testPostAuthorization: a form's policy is signed by a key, and the upload
// is that key's write: it needs writeFiles, in the key's bucket and name
// prefix, however the policy is worded.
func testPostAuthorization(t *testing.T, tg Target, keys KeyMaker) {
	admin := tg.AWS(t)
	b := newBucket(t, admin, "authz-post")
	other := newBucket(t, admin, "authz-post-other")
	form := func(id, secret, bucket, key string) []FormField {
		now := time.Now()
		p := Policy{Expiration: now.Add(time.Hour), Conditions: []any{map[string]string{"bucket": bucket}, []string{"starts-with", "$key", ""}}}
		for _, f := range tg.postAuth(id, now) {
			p.Conditions = append(p.Conditions, map[string]string{f.Name: f.Value})
		}
		return append([]FormField{{"key", key}}, tg.SignPolicyWith(id, secret, p.JSON(), now)...)
	}
	file := func() *FormFile { return postFile("f", "authz") }
	id, secret := keys(t, []string{"listBuckets", "writeFiles"}, b, "pub/")
	if r := PostForm(t, tg.bucketURL(b), form(id, secret, b, "pub/ok"), file()); r.Status != 204 {
		t.Fatalf("a form within the key's prefix: %d %s", r.Status, r.Body)
	}
	wantPostError(t, "outside the key's prefix", PostForm(t, tg.bucketURL(b), form(id, secret, b, "private/x"), file()), "AccessDenied", 403, "")
	wantPostError(t, "outside the key's bucket", PostForm(t, tg.bucketURL(other), form(id, secret, other, "pub/x"), file()), "AccessDenied", 403, "")
	id, secret = keys(t, []string{"listBuckets", "readFiles"}, b, "")
	wantPostError(t, "a key without writeFiles", PostForm(t, tg.bucketURL(b), form(id, secret, b, "pub/y"), file()), "AccessDenied", 403, "")
	for _, k := range []string{"private/x", "pub/y"} {
		tg.headMissing(t, b, k)
	}
	tg.headMissing(t, other, "pub/x")
}

// testTaggingAuthorization: reading tags (and attributes) needs readFiles,
// changing them writeFiles, within the key's bucket and name prefix.
func testTaggingAuthorization(t *testing.T, tg Target, keys KeyMaker) {
	ctx := context.Background()
	admin := tg.AWS(t)
	b := newBucket(t, admin, "authz-tags")
	for _, k := range []string{"pub/x", "private/x"} {
		if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String(k), Body: strings.NewReader("x"), Tagging: aws.String("a=1")}); err != nil {
			t.Fatal(err)
		}
	}
	attrs := []types.ObjectAttributes{types.ObjectAttributesEtag}
	id, secret := keys(t, []string{"listBuckets", "readFiles"}, b, "pub/")
	reader := tg.AWSWithKeys(t, id, secret)
	if _, err := reader.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("pub/x")}); err != nil {
		t.Fatalf("readFiles cannot read tags: %v", err)
	}
	if _, err := reader.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("pub/x"), ObjectAttributes: attrs}); err != nil {
		t.Fatalf("readFiles cannot read attributes: %v", err)
	}
	_, err := reader.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("private/x")})
	WantError(t, err, "AccessDenied", 403)
	_, err = reader.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("private/x"), ObjectAttributes: attrs})
	WantError(t, err, "AccessDenied", 403)
	_, err = reader.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: aws.String("pub/x"), Tagging: tagSet("b", "2")})
	WantError(t, err, "AccessDenied", 403)
	_, err = reader.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: &b, Key: aws.String("pub/x")})
	WantError(t, err, "AccessDenied", 403)

	id, secret = keys(t, []string{"listBuckets", "writeFiles"}, b, "pub/")
	writer := tg.AWSWithKeys(t, id, secret)
	if _, err := writer.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: aws.String("pub/x"), Tagging: tagSet("b", "2")}); err != nil {
		t.Fatalf("writeFiles cannot write tags: %v", err)
	}
	_, err = writer.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("pub/x")})
	WantError(t, err, "AccessDenied", 403)
	_, err = writer.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: aws.String("private/x"), Tagging: tagSet("b", "2")})
	WantError(t, err, "AccessDenied", 403)
	if got, _ := getTags(t, admin, b, "private/x", nil); got != "a=1;" {
		t.Fatalf("a refused tag write changed the tags to %q", got)
	}
}

var fileCaps = []string{"listBuckets", "listFiles", "readFiles", "writeFiles", "deleteFiles"}

func testCopyAuthorization(t *testing.T, tg Target, keys KeyMaker) {
	ctx := context.Background()
	admin := tg.AWS(t)
	mine := newBucket(t, admin, "authz-mine")
	theirs := newBucket(t, admin, "authz-theirs")
	put(t, admin, theirs, "secret", "not yours")
	put(t, admin, mine, "private/x", "prefix-protected")
	put(t, admin, mine, "pub/x", "readable")

	// A key restricted to one bucket cannot copy out of another.
	id, secret := keys(t, fileCaps, mine, "")
	c := tg.AWSWithKeys(t, id, secret)
	_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &mine, Key: aws.String("stolen"), CopySource: aws.String(CopySource(theirs, "secret", ""))})
	WantError(t, err, "AccessDenied", 403)
	_, err = admin.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &mine, Key: aws.String("stolen")})
	WantError(t, err, "", 404)

	// A name prefix restricts the source as much as the destination.
	id, secret = keys(t, fileCaps, mine, "pub/")
	c = tg.AWSWithKeys(t, id, secret)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &mine, Key: aws.String("pub/leak"), CopySource: aws.String(CopySource(mine, "private/x", ""))})
	WantError(t, err, "AccessDenied", 403)
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &mine, Key: aws.String("pub/y"), CopySource: aws.String(CopySource(mine, "pub/x", ""))}); err != nil {
		t.Fatalf("copy within the prefix: %v", err)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &mine, Key: aws.String("private/y"), CopySource: aws.String(CopySource(mine, "pub/x", ""))})
	WantError(t, err, "AccessDenied", 403)

	// Writing is not reading.
	id, secret = keys(t, []string{"listBuckets", "writeFiles"}, mine, "")
	c = tg.AWSWithKeys(t, id, secret)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &mine, Key: aws.String("z"), CopySource: aws.String(CopySource(mine, "pub/x", ""))})
	WantError(t, err, "AccessDenied", 403)
}

func testDeleteObjectsAuthorization(t *testing.T, tg Target, keys KeyMaker) {
	ctx := context.Background()
	admin := tg.AWS(t)
	b := newBucket(t, admin, "authz-delete")
	a := put(t, admin, b, "allowed/a", "a")
	put(t, admin, b, "other/b", "b")
	id, secret := keys(t, fileCaps, b, "allowed/")
	c := tg.AWSWithKeys(t, id, secret)
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("allowed/a")}, {Key: aws.String("other/b")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "allowed/a" ||
		len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "other/b" || aws.ToString(out.Errors[0].Code) != "AccessDenied" {
		t.Fatalf("per-key authorization: deleted %+v errors %+v", out.Deleted, out.Errors)
	}
	if _, err := admin.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("other/b")}); err != nil {
		t.Fatalf("the refused key was deleted: %v", err)
	}
	// Removing a version needs deleteFiles; hiding needs only writeFiles.
	id, secret = keys(t, []string{"listBuckets", "writeFiles"}, b, "")
	c = tg.AWSWithKeys(t, id, secret)
	out, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("allowed/a"), VersionId: a.VersionId}, {Key: aws.String("other/b")},
	}}})
	if err != nil || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "AccessDenied" || len(out.Deleted) != 1 {
		t.Fatalf("version delete without deleteFiles: %+v %v", out, err)
	}
	// A key with neither capability is refused outright.
	id, secret = keys(t, []string{"listBuckets", "readFiles"}, b, "")
	c = tg.AWSWithKeys(t, id, secret)
	_, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("x")}}}})
	WantError(t, err, "AccessDenied", 403)
}

func testLockAuthorization(t *testing.T, tg Target, keys KeyMaker) {
	ctx := context.Background()
	admin := tg.AWS(t)
	b := newLockedBucket(t, admin, "authz-lock")
	until := time.Now().Add(time.Hour).UTC()
	p, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("gov"), Body: strings.NewReader("g"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &until})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := keys(t, fileCaps, b, "")
	c := tg.AWSWithKeys(t, id, secret)
	// No bypassGovernance: the bypass header is refused.
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gov"), VersionId: p.VersionId, BypassGovernanceRetention: aws.Bool(true)})
	WantError(t, err, "AccessDenied", 403)
	// No writeFileRetentions / writeFileLegalHolds: lock headers are refused.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("x"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &until})
	WantError(t, err, "AccessDenied", 403)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("x"), Body: strings.NewReader("x"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	WantError(t, err, "AccessDenied", 403)
	_, err = c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &b, Key: aws.String("gov"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(until.Add(time.Hour))}})
	WantError(t, err, "AccessDenied", 403)
	// Without readFileRetentions the lock state is not shown.
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("gov")})
	if err != nil || head.ObjectLockMode != "" {
		t.Fatalf("head without readFileRetentions: mode %q, %v", head.ObjectLockMode, err)
	}
	// With the capabilities, the same requests work.
	id, secret = keys(t, append([]string{"bypassGovernance", "writeFileRetentions", "readFileRetentions", "readFileLegalHolds"}, fileCaps...), b, "")
	c = tg.AWSWithKeys(t, id, secret)
	if head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("gov")}); err != nil || head.ObjectLockMode != types.ObjectLockModeGovernance {
		t.Fatalf("head with readFileRetentions: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gov"), VersionId: p.VersionId, BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatalf("bypass with the capability: %v", err)
	}
}
