package conformance

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// testFidelityStorageClass: STANDARD and REDUCED_REDUNDANCY are accepted,
// kept and reported back (HEAD, listings, multipart uploads, copies), as
// MinIO does for minio-go's storage-class tests; archive and tiering
// classes are refused with InvalidStorageClass.
func testFidelityStorageClass(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	mc := tg.Minio(t, false)
	b := newBucket(t, c, "fid-storage")
	const rr = "REDUCED_REDUNDANCY"
	body := []byte("reduced")
	if _, err := mc.PutObject(ctx, b, "rr", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{StorageClass: rr}); err != nil {
		t.Fatalf("PutObject %s: %v", rr, err)
	}
	if _, err := mc.PutObject(ctx, b, "std", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{StorageClass: "STANDARD"}); err != nil {
		t.Fatalf("PutObject STANDARD: %v", err)
	}
	// minio-go reads the class from the header (its functional tests too).
	st, err := mc.StatObject(ctx, b, "rr", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("X-Amz-Storage-Class") != rr {
		t.Fatalf("StatObject of a %s object: %q %v", rr, st.Metadata.Get("X-Amz-Storage-Class"), err)
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("std")})
	if err != nil || (h.StorageClass != "" && h.StorageClass != types.StorageClassStandard) {
		t.Fatalf("HeadObject of a STANDARD object: %q %v", h.StorageClass, err)
	}
	// Multipart (minio-go's streaming upload) and copy keep it too.
	big := NewData(41, 5<<20+10).Bytes(0, 5<<20+10)
	if _, err := mc.PutObject(ctx, b, "rr-mp", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{StorageClass: rr, PartSize: 5 << 20}); err != nil {
		t.Fatalf("multipart PutObject %s: %v", rr, err)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("rr-copy"), CopySource: aws.String(CopySource(b, "std", "")),
		StorageClass: types.StorageClassReducedRedundancy}); err != nil {
		t.Fatalf("CopyObject to %s: %v", rr, err)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("std-copy"), CopySource: aws.String(CopySource(b, "rr", ""))}); err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	want := map[string]types.ObjectStorageClass{"rr": rr, "rr-mp": rr, "rr-copy": rr, "std": "STANDARD", "std-copy": "STANDARD"}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	if err != nil || len(list.Contents) != len(want) {
		t.Fatalf("ListObjectsV2: %v %v", list, err)
	}
	for _, o := range list.Contents {
		if o.StorageClass != want[aws.ToString(o.Key)] {
			t.Fatalf("ListObjectsV2: %s is %q, want %q", aws.ToString(o.Key), o.StorageClass, want[aws.ToString(o.Key)])
		}
	}
	for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.StorageClass != string(want[o.Key]) {
			t.Fatalf("ListObjectVersions (minio-go): %s is %q, want %q", o.Key, o.StorageClass, want[o.Key])
		}
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("pending"), StorageClass: types.StorageClassReducedRedundancy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("pending"), UploadId: up.UploadId})
	})
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b})
	if err != nil || len(ups.Uploads) != 1 || ups.Uploads[0].StorageClass != types.StorageClassReducedRedundancy {
		t.Fatalf("ListMultipartUploads: %+v %v", ups, err)
	}
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: aws.String("pending"), UploadId: up.UploadId})
	if err != nil || parts.StorageClass != types.StorageClassReducedRedundancy {
		t.Fatalf("ListParts: %+v %v", parts, err)
	}
	// Archive and tiering classes are not offered.
	for _, sc := range []types.StorageClass{types.StorageClassGlacier, types.StorageClassDeepArchive, types.StorageClassStandardIa,
		types.StorageClassIntelligentTiering, types.StorageClassGlacierIr, "NOT_A_CLASS"} {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("archive"), Body: strings.NewReader("x"), StorageClass: sc})
		WantError(t, err, "InvalidStorageClass", 400)
		_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("archive"), StorageClass: sc})
		WantError(t, err, "InvalidStorageClass", 400)
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("archive"), CopySource: aws.String(CopySource(b, "std", "")), StorageClass: sc})
		WantError(t, err, "InvalidStorageClass", 400)
	}
}
