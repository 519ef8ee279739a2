package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// testUploadPartCopy builds objects from ranges of other objects: another
// bucket, awkward key names, an older version, a multipart source, and
// the error cases of the source and its range.
func testUploadPartCopy(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-copy")
	other := mpBucket(t, c, "mp-copysrc")
	srcKey := "src dir/ü+%.bin"
	src := newMemData(170, MinPart+3000)
	old := newMemData(171, MinPart)
	oldPut, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &other, Key: &srcKey, Body: old})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &other, Key: &srcKey, Body: src}); err != nil {
		t.Fatal(err)
	}
	key := "assembled"
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key, ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	copyPart := func(n int32, source *string, rng string) (*s3.UploadPartCopyOutput, error) {
		in := &s3.UploadPartCopyInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: &n, CopySource: source}
		if rng != "" {
			in.CopySourceRange = &rng
		}
		return c.UploadPartCopy(ctx, in)
	}
	var want bytes.Buffer
	var done []types.CompletedPart
	add := func(n int32, out *s3.UploadPartCopyOutput, content []byte) {
		t.Helper()
		if got, wantTag := aws.ToString(out.CopyPartResult.ETag), `"`+hex.EncodeToString(md5Of(content))+`"`; got != wantTag {
			t.Fatalf("copied part %d ETag %s, want %s", n, got, wantTag)
		}
		if sum := sha256.Sum256(content); aws.ToString(out.CopyPartResult.ChecksumSHA256) != b64(sum[:]) {
			t.Fatalf("copied part %d: SHA-256 %q", n, aws.ToString(out.CopyPartResult.ChecksumSHA256))
		}
		want.Write(content)
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.CopyPartResult.ETag, ChecksumSHA256: out.CopyPartResult.ChecksumSHA256})
	}
	// Part 1: the first MinPart bytes of the current source version.
	out, err := copyPart(1, aws.String(CopySource(other, srcKey, "")), fmt.Sprintf("bytes=0-%d", MinPart-1))
	if err != nil {
		t.Fatalf("copy part 1: %v", err)
	}
	if aws.ToString(out.CopySourceVersionId) == aws.ToString(oldPut.VersionId) || out.CopyPartResult.LastModified == nil {
		t.Fatalf("copy part 1: source version %s, last modified %v", aws.ToString(out.CopySourceVersionId), out.CopyPartResult.LastModified)
	}
	add(1, out, src.Bytes(0, MinPart))
	// Part 2: the whole older version, by version id.
	if out, err = copyPart(2, aws.String(CopySource(other, srcKey, aws.ToString(oldPut.VersionId))), ""); err != nil {
		t.Fatalf("copy part 2: %v", err)
	}
	if aws.ToString(out.CopySourceVersionId) != aws.ToString(oldPut.VersionId) {
		t.Fatalf("copy part 2: source version %s", aws.ToString(out.CopySourceVersionId))
	}
	add(2, out, old.Bytes(0, old.Size))
	// Part 3: a one-byte range at the end.
	if out, err = copyPart(3, aws.String(CopySource(other, srcKey, "")), fmt.Sprintf("bytes=%d-%d", src.Size-1, src.Size-1)); err != nil {
		t.Fatalf("copy part 3: %v", err)
	}
	add(3, out, src.Bytes(src.Size-1, 1))
	// Errors: the range, the source, its conditions.
	for _, tc := range []struct {
		name, rng string
		source    *string
		code      string
		status    int
	}{
		{"range past the end", fmt.Sprintf("bytes=0-%d", src.Size), aws.String(CopySource(other, srcKey, "")), "InvalidArgument", 400},
		{"open range", "bytes=10-", aws.String(CopySource(other, srcKey, "")), "InvalidArgument", 400},
		{"inverted range", "bytes=10-5", aws.String(CopySource(other, srcKey, "")), "InvalidArgument", 400},
		{"missing key", "", aws.String(CopySource(other, "nope", "")), "NoSuchKey", 404},
		{"missing bucket", "", aws.String(CopySource("no-such-bucket-x", srcKey, "")), "NoSuchBucket", 404},
		{"bad version", "", aws.String(CopySource(other, srcKey, "4_zbogus")), "", 404},
		{"no key", "", aws.String(other), "InvalidArgument", 400},
	} {
		_, err := copyPart(9, tc.source, tc.rng)
		WantError(t, err, tc.code, tc.status)
	}
	_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(9),
		CopySource: aws.String(CopySource(other, srcKey, "")), CopySourceIfMatch: aws.String(`"00000000000000000000000000000000"`)})
	WantError(t, err, "PreconditionFailed", 412)
	_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b, Key: &key, UploadId: aws.String("bogus"), PartNumber: aws.Int32(1),
		CopySource: aws.String(CopySource(other, srcKey, ""))})
	WantError(t, err, "NoSuchUpload", 404)
	if _, err := complete(ctx, c, b, key, aws.ToString(up.UploadId), done); err != nil {
		t.Fatalf("complete copied parts: %v", err)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || !bytes.Equal(body, want.Bytes()) {
		t.Fatalf("assembled object: %d bytes (want %d), %v", len(body), want.Len(), err)
	}
	// A multipart object is a copy source too: part boundaries are crossed.
	key2 := "from-multipart"
	up2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key2})
	if err != nil {
		t.Fatal(err)
	}
	out, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b, Key: &key2, UploadId: up2.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String(CopySource(b, key, "")), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", MinPart-5, MinPart+4))})
	if err != nil {
		t.Fatalf("copy across the source's part boundary: %v", err)
	}
	if want := `"` + hex.EncodeToString(md5Of(want.Bytes()[MinPart-5:MinPart+5])) + `"`; aws.ToString(out.CopyPartResult.ETag) != want {
		t.Fatalf("copy across parts: ETag %s, want %s", aws.ToString(out.CopyPartResult.ETag), want)
	}
}

// testMinioCompose concatenates objects server-side with minio-go's
// ComposeObject, which is built on UploadPartCopy with ranges.
func testMinioCompose(t *testing.T, tg Target) {
	ctx := context.Background()
	mc := tg.Minio(t, false)
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-compose")
	a, z := newMemData(180, 5<<20), newMemData(181, 1234)
	for k, d := range map[string]*memData{"a": a, "z": z} {
		if _, err := mc.PutObject(ctx, b, k, d, d.Size, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
	}
	info, err := mc.ComposeObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "composed"},
		minio.CopySrcOptions{Bucket: b, Object: "a"}, minio.CopySrcOptions{Bucket: b, Object: "z"})
	if err != nil {
		t.Fatalf("compose: %v", err)
	}
	if info.Size != a.Size+z.Size {
		t.Fatalf("compose: size %d", info.Size)
	}
	obj, err := mc.GetObject(ctx, b, "composed", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, append(a.Bytes(0, a.Size), z.Bytes(0, z.Size)...)) {
		t.Fatalf("composed object: %d bytes, %v", len(got), err)
	}
}

// S3MultipartAuthorization checks the multipart operations decide like
// every other: a restricted key cannot start, write, list or copy outside
// its bucket and prefix, and UploadPartCopy reads its source only with
// readFiles there.
func S3MultipartAuthorization(t *testing.T, tg Target, keys KeyMaker) {
	ctx := context.Background()
	admin := tg.AWS(t)
	mine := mpBucket(t, admin, "mp-authz-mine")
	theirs := mpBucket(t, admin, "mp-authz-theirs")
	put(t, admin, theirs, "secret", "not yours")
	put(t, admin, mine, "private/x", "prefix-protected")

	id, secret := keys(t, fileCaps, mine, "")
	c := tg.AWSWithKeys(t, id, secret)
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &mine, Key: aws.String("copy")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &mine, Key: aws.String("copy"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String(CopySource(theirs, "secret", ""))})
	WantError(t, err, "AccessDenied", 403)
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &mine, Key: aws.String("copy"), UploadId: up.UploadId})
	if err != nil || len(parts.Parts) != 0 {
		t.Fatalf("a refused copy stored a part: %+v %v", parts, err)
	}
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &theirs, Key: aws.String("k")})
	WantError(t, err, "AccessDenied", 403)
	_, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &theirs})
	WantError(t, err, "AccessDenied", 403)

	// A name prefix bounds every multipart call by key (uploads by prefix).
	id, secret = keys(t, fileCaps, mine, "pub/")
	c = tg.AWSWithKeys(t, id, secret)
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &mine, Key: aws.String("private/y")})
	WantError(t, err, "AccessDenied", 403)
	adminUp, err := admin.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &mine, Key: aws.String("private/z")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &mine, Key: aws.String("private/z"), UploadId: adminUp.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	WantError(t, err, "AccessDenied", 403)
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &mine, Key: aws.String("private/z"), UploadId: adminUp.UploadId})
	WantError(t, err, "AccessDenied", 403)
	_, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &mine, Prefix: aws.String("private/")})
	WantError(t, err, "AccessDenied", 403)
	if _, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &mine, Prefix: aws.String("pub/")}); err != nil {
		t.Fatalf("list uploads within the prefix: %v", err)
	}
	pubUp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &mine, Key: aws.String("pub/leak")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &mine, Key: aws.String("pub/leak"), UploadId: pubUp.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String(CopySource(mine, "private/x", ""))})
	WantError(t, err, "AccessDenied", 403)

	// Reading is not writing.
	id, secret = keys(t, []string{"listBuckets", "listFiles", "readFiles"}, "", "")
	c = tg.AWSWithKeys(t, id, secret)
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &mine, Key: aws.String("ro")})
	WantError(t, err, "AccessDenied", 403)
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &mine, Key: aws.String("private/z"), UploadId: adminUp.UploadId})
	WantError(t, err, "AccessDenied", 403)
}
