package conformance

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// testFidelityListingBoto3: boto3 lists with encoding-type=url (it adds it
// itself) and decodes only some fields — for ListObjects (v1) not Prefix:
// ceph's test_bucket_list_prefix_unreadable (Prefix='\n') reads back '\n';
// and an empty continuation-token= is echoed as an empty
// ContinuationToken (test_bucket_listv2_continuationtoken_empty).
func testFidelityListingBoto3(t *testing.T, tg Target) {
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-list-boto3")
	for _, k := range []string{"foo/bar", "foo/baz", "quux"} {
		put(t, c, b, k, "x")
	}
	var got struct {
		V1Prefix, V2Prefix, VersionsPrefix string
		V1Keys, V2Keys                     int
		Token                              *string
		TokenKeys                          int
	}
	tg.Boto3(t, `
b = `+pythonString(b)+`
v1 = s3.list_objects(Bucket=b, Prefix="\n")
v2 = s3.list_objects_v2(Bucket=b, Prefix="\n")
vs = s3.list_object_versions(Bucket=b, Prefix="\n")
tok = s3.list_objects_v2(Bucket=b, ContinuationToken="")
out({"V1Prefix": v1["Prefix"], "V1Keys": len(v1.get("Contents", [])), "V2Prefix": v2["Prefix"], "V2Keys": len(v2.get("Contents", [])),
     "VersionsPrefix": vs["Prefix"], "Token": tok.get("ContinuationToken"), "TokenKeys": tok["KeyCount"]})
`, &got)
	if got.V1Prefix != "\n" || got.V2Prefix != "\n" || got.VersionsPrefix != "\n" || got.V1Keys != 0 || got.V2Keys != 0 {
		t.Fatalf("Prefix='\\n' as boto3 reads it back: %+v", got)
	}
	if got.Token == nil || *got.Token != "" || got.TokenKeys != 3 {
		t.Fatalf("an empty continuation token: %+v", got)
	}
}

// testFidelityListingChecksums: listings name the checksum algorithm and
// type of objects stored with one (ListObjects v1/v2, ListObjectVersions).
func testFidelityListingChecksums(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-list-sums")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("crc"), Body: strings.NewReader("checked"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme}); err != nil {
		t.Fatal(err)
	}
	sum := b64(rawSum(types.ChecksumAlgorithmXxhash3, []byte("xx")))
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("xx"), Body: strings.NewReader("xx"), ChecksumXXHASH3: &sum}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("plain"), Body: bytes.NewReader([]byte("plain")),
		ContentMD5: aws.String(ContentMD5([]byte("plain")))}); err != nil {
		t.Fatal(err)
	}
	want := map[string]types.ChecksumAlgorithm{"crc": types.ChecksumAlgorithmCrc64nvme, "xx": types.ChecksumAlgorithmXxhash3}
	check := func(where, key string, algs []types.ChecksumAlgorithm, typ types.ChecksumType) {
		t.Helper()
		if w, ok := want[key]; ok {
			if !slices.Equal(algs, []types.ChecksumAlgorithm{w}) || typ != types.ChecksumTypeFullObject {
				t.Fatalf("%s %s: ChecksumAlgorithm %v ChecksumType %q, want [%s] FULL_OBJECT", where, key, algs, typ, w)
			}
		} else if len(algs) != 0 || typ != "" {
			t.Fatalf("%s %s: ChecksumAlgorithm %v ChecksumType %q for an object without one", where, key, algs, typ)
		}
	}
	v2, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	if err != nil || len(v2.Contents) != 3 {
		t.Fatalf("ListObjectsV2: %v %v", v2, err)
	}
	for _, o := range v2.Contents {
		check("ListObjectsV2", aws.ToString(o.Key), o.ChecksumAlgorithm, o.ChecksumType)
	}
	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: &b})
	if err != nil || len(v1.Contents) != 3 {
		t.Fatalf("ListObjects: %v %v", v1, err)
	}
	for _, o := range v1.Contents {
		check("ListObjects", aws.ToString(o.Key), o.ChecksumAlgorithm, o.ChecksumType)
	}
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
	if err != nil || len(vs.Versions) != 3 {
		t.Fatalf("ListObjectVersions: %v %v", vs, err)
	}
	for _, o := range vs.Versions {
		check("ListObjectVersions", aws.ToString(o.Key), o.ChecksumAlgorithm, o.ChecksumType)
	}
}

// testFidelityListUploadsDelimiter: ListMultipartUploads with a delimiter,
// truncated on a common prefix, still answers a NextUploadIdMarker
// (versitygw's ListMultipartUploads_delimiter_truncated), and following the
// markers lists every prefix once.
func testFidelityListUploadsDelimiter(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-list-uploads")
	keys := []string{"abc/something", "foo/bar/baz", "foo/quxx", "xyz/hello", "zzz/bca", "some/very/nested/mp/object"}
	ids := map[string]string{}
	for _, k := range keys {
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = aws.ToString(up.UploadId)
		t.Cleanup(func() {
			c.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String(k), UploadId: up.UploadId})
		})
	}
	first, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b, Delimiter: aws.String("/"), MaxUploads: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, p := range first.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	if len(first.Uploads) != 0 || strings.Join(prefixes, ",") != "abc/,foo/" || !aws.ToBool(first.IsTruncated) ||
		aws.ToString(first.NextKeyMarker) != "foo/" || aws.ToString(first.NextUploadIdMarker) == "" {
		t.Fatalf("first page: prefixes %v uploads %d truncated %v next %q %q", prefixes, len(first.Uploads),
			aws.ToBool(first.IsTruncated), aws.ToString(first.NextKeyMarker), aws.ToString(first.NextUploadIdMarker))
	}
	// Follow the markers to the end: every prefix is listed.
	seen := map[string]bool{}
	for _, p := range prefixes {
		seen[p] = true
	}
	in := &s3.ListMultipartUploadsInput{Bucket: &b, Delimiter: aws.String("/"), MaxUploads: aws.Int32(2),
		KeyMarker: first.NextKeyMarker, UploadIdMarker: first.NextUploadIdMarker}
	for range 10 {
		page, err := c.ListMultipartUploads(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.CommonPrefixes {
			seen[aws.ToString(p.Prefix)] = true
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		if aws.ToString(page.NextUploadIdMarker) == "" {
			t.Fatalf("truncated page without NextUploadIdMarker: next key %q", aws.ToString(page.NextKeyMarker))
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
	for _, p := range []string{"abc/", "foo/", "some/", "xyz/", "zzz/"} {
		if !seen[p] {
			t.Fatalf("prefix %s never listed: %v", p, seen)
		}
	}
}

// testFidelityDeleteBucketWithUploads: a bucket whose objects are all gone
// but which still holds unfinished multipart uploads is deleted, the
// uploads aborted (S3's behaviour); one that still holds an object is not,
// and its uploads stay.
func testFidelityDeleteBucketWithUploads(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := BucketName("fid-delbucket")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	p := put(t, c, b, "gone", "x")
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("pending")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("pending"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")}); err != nil {
		t.Fatal(err)
	}
	// An object version remains: refused, the upload stays.
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b})
	WantError(t, err, "BucketNotEmpty", 409)
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b})
	if err != nil || len(ups.Uploads) != 1 {
		t.Fatalf("uploads after a refused DeleteBucket: %v %v", ups, err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gone"), VersionId: p.VersionId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b}); err != nil {
		t.Fatalf("DeleteBucket with only an unfinished upload left: %v", err)
	}
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b})
	WantError(t, err, "", 404)
}
