package conformance

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

var allAttributes = []types.ObjectAttributes{
	types.ObjectAttributesEtag, types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts,
	types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize,
}

// testObjectAttributes checks GetObjectAttributes with aws-sdk-go-v2 and
// minio-go: a single-part object, a multipart one with paged parts and
// their checksums, versions, SSE-C, delete markers and bad requests.
func testObjectAttributes(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "attributes")

	// A single-part object (the SDK adds a CRC32): no ObjectParts.
	body := "single part body"
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("one"), Body: strings.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("one"), ObjectAttributes: allAttributes})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.ETag) != MD5Hex([]byte(body)) || aws.ToInt64(a.ObjectSize) != int64(len(body)) || a.StorageClass != types.StorageClassStandard ||
		a.Checksum == nil || aws.ToString(a.Checksum.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) || a.Checksum.ChecksumType != types.ChecksumTypeFullObject ||
		a.ObjectParts != nil || aws.ToString(a.VersionId) != aws.ToString(put.VersionId) || a.LastModified == nil {
		t.Fatalf("attributes of a single-part object: %+v (checksum %+v, parts %+v)", a, a.Checksum, a.ObjectParts)
	}
	// Only what was asked for.
	a, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("one"), ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize}})
	if err != nil || a.ETag != nil || a.Checksum != nil || a.StorageClass != "" || aws.ToInt64(a.ObjectSize) != int64(len(body)) {
		t.Fatalf("ObjectSize alone: %+v %v", a, err)
	}
	// An older version by id.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("one"), Body: strings.NewReader("newer")}); err != nil {
		t.Fatal(err)
	}
	a, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("one"), VersionId: put.VersionId, ObjectAttributes: allAttributes})
	if err != nil || aws.ToString(a.ETag) != MD5Hex([]byte(body)) || aws.ToString(a.VersionId) != aws.ToString(put.VersionId) {
		t.Fatalf("attributes of version 1: %+v %v", a, err)
	}

	// A multipart object of three parts with CRC32C checksums.
	key := aws.String("multi")
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: key, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int64{5 << 20, 5 << 20, 1234}
	var done []types.CompletedPart
	for i, size := range sizes {
		n := int32(i + 1)
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: key, UploadId: up.UploadId, PartNumber: &n,
			Body: NewData(uint64(700+i), size), ContentLength: aws.Int64(size), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: &n, ETag: p.ETag, ChecksumCRC32C: p.ChecksumCRC32C})
	}
	comp, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	a, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: key, ObjectAttributes: allAttributes, MaxParts: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	op := a.ObjectParts
	if aws.ToString(a.ETag) != strings.Trim(aws.ToString(comp.ETag), `"`) || aws.ToInt64(a.ObjectSize) != sizes[0]+sizes[1]+sizes[2] ||
		a.Checksum == nil || aws.ToString(a.Checksum.ChecksumCRC32C) != aws.ToString(comp.ChecksumCRC32C) || a.Checksum.ChecksumType != types.ChecksumTypeComposite ||
		op == nil || aws.ToInt32(op.TotalPartsCount) != 3 || !aws.ToBool(op.IsTruncated) || aws.ToInt32(op.MaxParts) != 2 ||
		aws.ToString(op.NextPartNumberMarker) != "2" || len(op.Parts) != 2 {
		t.Fatalf("attributes of a multipart object: %+v checksum %+v parts %+v", a, a.Checksum, op)
	}
	for i, p := range op.Parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToInt64(p.Size) != sizes[i] || aws.ToString(p.ChecksumCRC32C) != aws.ToString(done[i].ChecksumCRC32C) {
			t.Fatalf("part %d: %+v", i+1, p)
		}
	}
	a, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: key, ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectParts},
		PartNumberMarker: aws.String("2")})
	if err != nil || a.ObjectParts == nil || len(a.ObjectParts.Parts) != 1 || aws.ToInt32(a.ObjectParts.Parts[0].PartNumber) != 3 ||
		aws.ToBool(a.ObjectParts.IsTruncated) || aws.ToString(a.ObjectParts.PartNumberMarker) != "2" {
		t.Fatalf("second page of parts: %+v %v", a.ObjectParts, err)
	}

	// minio-go reads the same document.
	mc := tg.Minio(t, false)
	ma, err := mc.GetObjectAttributes(ctx, b, "multi", minio.ObjectAttributesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ma.ObjectParts.PartsCount != 3 || len(ma.ObjectParts.Parts) != 3 || ma.ObjectSize != int(sizes[0]+sizes[1]+sizes[2]) ||
		ma.Checksum.ChecksumCRC32C != aws.ToString(comp.ChecksumCRC32C) || ma.StorageClass != "STANDARD" {
		t.Fatalf("minio-go GetObjectAttributes: %+v", ma)
	}

	// An SSE-C object needs its key, as HEAD does.
	sk := NewSSEKey(9)
	aes := aws.String("AES256")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("ssec"), Body: strings.NewReader("secret"),
		SSECustomerAlgorithm: aes, SSECustomerKey: &sk.Base64, SSECustomerKeyMD5: &sk.MD5}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("ssec"), ObjectAttributes: allAttributes})
	WantError(t, err, "InvalidRequest", 400)
	if a, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("ssec"), ObjectAttributes: allAttributes,
		SSECustomerAlgorithm: aes, SSECustomerKey: &sk.Base64, SSECustomerKeyMD5: &sk.MD5}); err != nil || aws.ToInt64(a.ObjectSize) != 6 {
		t.Fatalf("SSE-C attributes with the key: %+v %v", a, err)
	}

	// Not an object: no key, a delete marker (current: 404, by id: 405).
	_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("missing"), ObjectAttributes: allAttributes})
	WantError(t, err, "NoSuchKey", 404)
	marker, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("one")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("one"), ObjectAttributes: allAttributes})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("one"), VersionId: marker.VersionId, ObjectAttributes: allAttributes})
	WantError(t, err, "MethodNotAllowed", 405)

	// Bad requests, with S3's codes.
	for _, tc := range []struct {
		name   string
		header http.Header
		code   string
	}{
		{"no attributes header", nil, "InvalidRequest"},
		{"empty attributes header", http.Header{"X-Amz-Object-Attributes": {""}}, "InvalidRequest"},
		{"unknown attribute", http.Header{"X-Amz-Object-Attributes": {"ETag,Colour"}}, "InvalidArgument"},
		{"attribute in the wrong case", http.Header{"X-Amz-Object-Attributes": {"etag"}}, "InvalidArgument"},
		{"max-parts not a number", http.Header{"X-Amz-Object-Attributes": {"ObjectParts"}, "X-Amz-Max-Parts": {"ten"}}, "InvalidArgument"},
		{"negative marker", http.Header{"X-Amz-Object-Attributes": {"ObjectParts"}, "X-Amz-Part-Number-Marker": {"-1"}}, "InvalidArgument"},
	} {
		raw := tg.Signed(t, http.MethodGet, "/"+b+"/multi?attributes", nil, tc.header)
		if raw.Status != 400 || raw.Code() != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, raw.Status, raw.Body, tc.code)
		}
	}
}
