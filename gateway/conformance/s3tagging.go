package conformance

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// tagString renders a tag set as "k=v;..." in order, for comparisons.
func tagString(set []types.Tag) string {
	var b strings.Builder
	for _, t := range set {
		fmt.Fprintf(&b, "%s=%s;", aws.ToString(t.Key), aws.ToString(t.Value))
	}
	return b.String()
}

func getTags(t *testing.T, c *s3.Client, bucket, key string, versionID *string) (string, string) {
	t.Helper()
	out, err := c.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: &bucket, Key: &key, VersionId: versionID})
	if err != nil {
		t.Fatalf("get tagging of %s: %v", key, err)
	}
	return tagString(out.TagSet), aws.ToString(out.VersionId)
}

func tagSet(kv ...string) *types.Tagging {
	tg := &types.Tagging{TagSet: []types.Tag{}}
	for i := 0; i+1 < len(kv); i += 2 {
		tg.TagSet = append(tg.TagSet, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return tg
}

// testTagging checks object tagging with aws-sdk-go-v2 and minio-go: tags
// on PUT, multipart and copy, Get/Put/DeleteObjectTagging by key and by
// version, x-amz-tagging-count, and S3's refusals, none of which changes
// what is stored.
func testTagging(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "tagging")
	key := "tagged.txt"

	// x-amz-tagging on PUT, form-encoded; the order is kept.
	v1, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &key, Body: strings.NewReader("one"), Tagging: aws.String("z=1&a=two%20words&empty=")})
	if err != nil {
		t.Fatal(err)
	}
	if got, vid := getTags(t, c, b, key, nil); got != "z=1;a=two words;empty=;" || vid != aws.ToString(v1.VersionId) {
		t.Fatalf("tags after PUT %q (version %s, want %s)", got, vid, aws.ToString(v1.VersionId))
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
	if err != nil || aws.ToInt32(head.TagCount) != 3 {
		t.Fatalf("HEAD tag count %v: %v", head.TagCount, err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if aws.ToInt32(got.TagCount) != 3 {
		t.Fatalf("GET tag count %v", got.TagCount)
	}

	// PutObjectTagging replaces the whole set of the current version;
	// Unicode and every allowed punctuation mark are fine, and at the limits.
	v2, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &key, Body: strings.NewReader("two")})
	if err != nil {
		t.Fatal(err)
	}
	full := []string{"ключ", "значение с пробелом", "sym", "+-=._:/@", strings.Repeat("k", 128), strings.Repeat("é", 256)}
	for i := len(full) / 2; i < 10; i++ {
		full = append(full, fmt.Sprintf("n%d", i), "")
	}
	put, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: &key, Tagging: tagSet(full...)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.VersionId) != aws.ToString(v2.VersionId) {
		t.Fatalf("PutObjectTagging tagged %s, want the current %s", aws.ToString(put.VersionId), aws.ToString(v2.VersionId))
	}
	if got, _ := getTags(t, c, b, key, nil); got != tagString(tagSet(full...).TagSet) {
		t.Fatalf("tags after PutObjectTagging %q", got)
	}
	// Tagging rewrites the version's record, never its bytes.
	if out, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: &key}); string(body) != "two" || aws.ToInt32(out.TagCount) != 10 {
		t.Fatalf("object after tagging: %q, %d tags", body, aws.ToInt32(out.TagCount))
	}
	// The first version kept its own tags; it can be changed by id.
	if got, _ := getTags(t, c, b, key, v1.VersionId); got != "z=1;a=two words;empty=;" {
		t.Fatalf("version 1 tags %q", got)
	}
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: &key, VersionId: v1.VersionId, Tagging: tagSet("old", "yes")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := getTags(t, c, b, key, v1.VersionId); got != "old=yes;" {
		t.Fatalf("version 1 tags after PutObjectTagging by id %q", got)
	}
	head1, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key, VersionId: v1.VersionId})
	if err != nil || aws.ToInt32(head1.TagCount) != 1 || aws.ToString(head1.ETag) != `"`+MD5Hex([]byte("one"))+`"` {
		t.Fatalf("HEAD of version 1 after tagging: %+v %v", head1, err)
	}

	// Refusals: each leaves the tags as they were.
	before, _ := getTags(t, c, b, key, nil)
	for _, tc := range []struct {
		name   string
		tags   *types.Tagging
		code   string
		status int
	}{
		{"eleven tags", tagSet("1", "", "2", "", "3", "", "4", "", "5", "", "6", "", "7", "", "8", "", "9", "", "10", "", "11", ""), "BadRequest", 400},
		{"key twice", tagSet("d", "1", "d", "2"), "InvalidTag", 400},
		{"empty key", tagSet("", "v"), "InvalidTag", 400},
		{"key of 129", tagSet(strings.Repeat("k", 129), "v"), "InvalidTag", 400},
		{"value of 257", tagSet("k", strings.Repeat("v", 257)), "InvalidTag", 400},
		{"comma in a value", tagSet("k", "a,b"), "InvalidTag", 400},
		{"angle bracket in a key", tagSet("<k>", "v"), "InvalidTag", 400},
	} {
		_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: &key, Tagging: tc.tags})
		WantError(t, err, tc.code, tc.status)
		if now, _ := getTags(t, c, b, key, nil); now != before {
			t.Fatalf("%s: refused, yet the tags changed to %q", tc.name, now)
		}
	}
	// A bad x-amz-tagging header stores nothing.
	for _, hdr := range []string{"a=1&a=2", "=v", "k=%zz", "k=a,b"} {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("bad-header"), Body: strings.NewReader("x"), Tagging: aws.String(hdr)})
		if hdr == "k=a,b" {
			WantError(t, err, "InvalidTag", 400)
		} else {
			WantError(t, err, "InvalidArgument", 400)
		}
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("bad-header")})
	WantError(t, err, "", 404)
	// No such key, no such version.
	_, err = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("missing")})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: aws.String("missing"), Tagging: tagSet("a", "b")})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("missing"), VersionId: v1.VersionId})
	WantError(t, err, "NoSuchVersion", 404)

	// DeleteObjectTagging empties the set; HEAD then shows no count.
	del, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: &b, Key: &key})
	if err != nil || aws.ToString(del.VersionId) != aws.ToString(v2.VersionId) {
		t.Fatalf("DeleteObjectTagging: %+v %v", del, err)
	}
	if got, _ := getTags(t, c, b, key, nil); got != "" {
		t.Fatalf("tags after DeleteObjectTagging %q", got)
	}
	if head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key}); err != nil || head.TagCount != nil {
		t.Fatalf("HEAD after DeleteObjectTagging: count %v, %v", head.TagCount, err)
	}

	// Delete markers: the current one is 404 (with x-amz-delete-marker),
	// one named by id is 405, as for GET.
	marker, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: &key})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: &key, Tagging: tagSet("a", "b")})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &b, Key: &key, VersionId: marker.VersionId, Tagging: tagSet("a", "b")})
	WantError(t, err, "MethodNotAllowed", 405)
	_, err = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: &key, VersionId: marker.VersionId})
	WantError(t, err, "MethodNotAllowed", 405)
	raw := tg.Signed(t, http.MethodDelete, "/"+b+"/"+key+"?tagging", nil, nil)
	if raw.Status != 404 || raw.Header.Get("x-amz-delete-marker") != "true" {
		t.Fatalf("DeleteObjectTagging of a deleted key: %d %s (delete marker %q)", raw.Status, raw.Body, raw.Header.Get("x-amz-delete-marker"))
	}
	// Bucket tagging is still not offered.
	if raw := tg.Signed(t, http.MethodGet, "/"+b+"?tagging", nil, nil); raw.Status != 501 || raw.Code() != "NotImplemented" {
		t.Fatalf("GetBucketTagging: %d %s", raw.Status, raw.Body)
	}

	testTaggingCopyAndMultipart(t, tg, c, b)
	testTaggingMinio(t, tg, b)
}

func testTaggingCopyAndMultipart(t *testing.T, tg Target, c *s3.Client, b string) {
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("src"), Body: strings.NewReader("source"), Tagging: aws.String("from=source")}); err != nil {
		t.Fatal(err)
	}
	// COPY (the default) carries the source's tags; x-amz-tagging is then ignored.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: aws.String(CopySource(b, "src", "")), Tagging: aws.String("ignored=1")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := getTags(t, c, b, "copy", nil); got != "from=source;" {
		t.Fatalf("copied tags %q", got)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("replaced"), CopySource: aws.String(CopySource(b, "src", "")),
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("new=1&other=2")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := getTags(t, c, b, "replaced", nil); got != "new=1;other=2;" {
		t.Fatalf("replaced tags %q", got)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("untagged"), CopySource: aws.String(CopySource(b, "src", "")),
		TaggingDirective: types.TaggingDirectiveReplace}); err != nil {
		t.Fatal(err)
	}
	if got, _ := getTags(t, c, b, "untagged", nil); got != "" {
		t.Fatalf("REPLACE without x-amz-tagging left tags %q", got)
	}
	_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("nope"), CopySource: aws.String(CopySource(b, "src", "")),
		TaggingDirective: types.TaggingDirective("MERGE")})
	WantError(t, err, "InvalidArgument", 400)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("nope"), CopySource: aws.String(CopySource(b, "src", "")),
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("a=1&a=2")})
	WantError(t, err, "InvalidArgument", 400)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("nope")})
	WantError(t, err, "", 404)

	// Multipart: the tags of CreateMultipartUpload are the object's.
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp"), Tagging: aws.String("kind=multipart")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("only part")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32}}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := getTags(t, c, b, "mp", nil); got != "kind=multipart;" {
		t.Fatalf("multipart object's tags %q", got)
	}
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp2"), Tagging: aws.String("k=<x>")})
	WantError(t, err, "InvalidTag", 400)
}

func testTaggingMinio(t *testing.T, tg Target, b string) {
	ctx := context.Background()
	mc := tg.Minio(t, false)
	if _, err := mc.PutObject(ctx, b, "minio", strings.NewReader("m"), 1, minio.PutObjectOptions{UserTags: map[string]string{"tool": "minio-go", "a b": "c d"}}); err != nil {
		t.Fatal(err)
	}
	info, err := mc.StatObject(ctx, b, "minio", minio.StatObjectOptions{})
	if err != nil || info.UserTagCount != 2 {
		t.Fatalf("minio StatObject tag count %d: %v", info.UserTagCount, err)
	}
	got, err := mc.GetObjectTagging(ctx, b, "minio", minio.GetObjectTaggingOptions{})
	if err != nil || got.ToMap()["a b"] != "c d" || got.ToMap()["tool"] != "minio-go" {
		t.Fatalf("minio GetObjectTagging %v: %v", got, err)
	}
	set, err := tags.NewTags(map[string]string{"replaced": "yes"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.PutObjectTagging(ctx, b, "minio", set, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetObjectTagging(ctx, b, "minio", minio.GetObjectTaggingOptions{}); err != nil || len(got.ToMap()) != 1 || got.ToMap()["replaced"] != "yes" {
		t.Fatalf("minio tags after PutObjectTagging %v: %v", got, err)
	}
	if err := mc.RemoveObjectTagging(ctx, b, "minio", minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetObjectTagging(ctx, b, "minio", minio.GetObjectTaggingOptions{}); err != nil || len(got.ToMap()) != 0 {
		t.Fatalf("minio tags after RemoveObjectTagging %v: %v", got, err)
	}
}
