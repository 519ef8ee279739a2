package conformance

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

func testCopyObject(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "copy")
	other := newBucket(t, c, "copy-dst")
	const src = "dir/a b+c%d?e/../f"
	srcBody := strings.Repeat("copy me ", 1000)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String(src), Body: strings.NewReader(srcBody),
		ContentType: aws.String("text/x-source"), Metadata: map[string]string{"color": "red"}, CacheControl: aws.String("max-age=5")}); err != nil {
		t.Fatal(err)
	}

	// COPY keeps metadata; the ETag is the MD5 of the copied bytes.
	out, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &other, Key: aws.String("copied"), CopySource: aws.String(CopySource(b, src, ""))})
	if err != nil {
		t.Fatal(err)
	}
	if etag := aws.ToString(out.CopyObjectResult.ETag); etag != `"`+MD5Hex([]byte(srcBody))+`"` || out.CopyObjectResult.LastModified == nil {
		t.Fatalf("copy result ETag %s", etag)
	}
	if aws.ToString(out.VersionId) == "" || aws.ToString(out.CopySourceVersionId) == "" {
		t.Fatalf("copy version headers: %q %q", aws.ToString(out.VersionId), aws.ToString(out.CopySourceVersionId))
	}
	got, body := getBody(t, c, &s3.GetObjectInput{Bucket: &other, Key: aws.String("copied")})
	if string(body) != srcBody || aws.ToString(got.ContentType) != "text/x-source" || got.Metadata["color"] != "red" || aws.ToString(got.CacheControl) != "max-age=5" {
		t.Fatalf("COPY: type %q meta %v cache %q, body ok %v", aws.ToString(got.ContentType), got.Metadata, aws.ToString(got.CacheControl), string(body) == srcBody)
	}

	// REPLACE takes the request's metadata.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("replaced"), CopySource: aws.String(CopySource(b, src, "")),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/x-new"), Metadata: map[string]string{"shape": "round"}}); err != nil {
		t.Fatal(err)
	}
	got, _ = getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("replaced")})
	if aws.ToString(got.ContentType) != "text/x-new" || got.Metadata["shape"] != "round" || got.Metadata["color"] != "" || got.CacheControl != nil {
		t.Fatalf("REPLACE: type %q meta %v cache %v", aws.ToString(got.ContentType), got.Metadata, got.CacheControl)
	}

	// A copy of an older version by id.
	v1 := put(t, c, b, "versioned", "one")
	put(t, c, b, "versioned", "two")
	out, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("from-v1"), CopySource: aws.String(CopySource(b, "versioned", aws.ToString(v1.VersionId)))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.CopySourceVersionId) != aws.ToString(v1.VersionId) {
		t.Fatalf("copy source version %q, want %q", aws.ToString(out.CopySourceVersionId), aws.ToString(v1.VersionId))
	}
	if _, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("from-v1")}); string(body) != "one" {
		t.Fatalf("copy of version 1: %q", body)
	}

	// Copying onto itself needs a change.
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("versioned"), CopySource: aws.String(CopySource(b, "versioned", ""))})
	WantError(t, err, "InvalidRequest", 400)
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("versioned"), CopySource: aws.String(CopySource(b, "versioned", "")),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"touched": "yes"}}); err != nil {
		t.Fatalf("copy onto itself with REPLACE: %v", err)
	}

	// Copy-source conditions.
	etag := `"` + MD5Hex([]byte(srcBody)) + `"`
	past, future := time.Now().Add(-24*time.Hour), time.Now().Add(24*time.Hour)
	for name, in := range map[string]*s3.CopyObjectInput{
		"if-match":            {CopySourceIfMatch: aws.String(`"0123"`)},
		"if-none-match":       {CopySourceIfNoneMatch: aws.String(etag)},
		"if-modified-since":   {CopySourceIfModifiedSince: &future},
		"if-unmodified-since": {CopySourceIfUnmodifiedSince: &past},
	} {
		in.Bucket, in.Key, in.CopySource = &b, aws.String("cond"), aws.String(CopySource(b, src, ""))
		_, err := c.CopyObject(ctx, in)
		if code, status := APIError(err); code != "PreconditionFailed" || status != 412 {
			t.Fatalf("%s: %s (%d) %v", name, code, status, err)
		}
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("cond"), CopySource: aws.String(CopySource(b, src, "")),
		CopySourceIfMatch: aws.String(etag), CopySourceIfUnmodifiedSince: &past}); err != nil {
		t.Fatalf("If-Match that holds wins over If-Unmodified-Since: %v", err)
	}

	// Missing sources and delete markers.
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("x"), CopySource: aws.String(CopySource(b, "no-such-key", ""))})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("x"), CopySource: aws.String(CopySource(BucketName("missing"), "k", ""))})
	WantError(t, err, "NoSuchBucket", 404)
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("versioned")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("x"), CopySource: aws.String(CopySource(b, "versioned", ""))})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("x"), CopySource: aws.String(CopySource(b, "versioned", aws.ToString(del.VersionId)))})
	WantError(t, err, "InvalidRequest", 400)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("x"), CopySource: aws.String(b)})
	WantError(t, err, "InvalidArgument", 400)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("x"), CopySource: aws.String(CopySource(b, src, "")),
		MetadataDirective: "SOMETIMES"})
	WantError(t, err, "InvalidArgument", 400)

	// A checksum asked of the copy is computed over the copied bytes.
	out, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("summed"), CopySource: aws.String(CopySource(b, src, "")),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil || aws.ToString(out.CopyObjectResult.ChecksumSHA256) == "" {
		t.Fatalf("copy with SHA256: %+v %v", out, err)
	}
	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("summed"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, g.Body) // the SDK validates the checksum as it reads
	g.Body.Close()
	if aws.ToString(g.ChecksumSHA256) != aws.ToString(out.CopyObjectResult.ChecksumSHA256) {
		t.Fatalf("copied checksum %q, stored %q", aws.ToString(out.CopyObjectResult.ChecksumSHA256), aws.ToString(g.ChecksumSHA256))
	}

	// A larger object crosses encryption-free blob reads in several
	// chunks; minio-go's copy path too.
	data := NewData(31, 6<<20+17)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("big"), Body: data}); err != nil {
		t.Fatal(err)
	}
	mc := tg.Minio(t, false)
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: other, Object: "big-copy"}, minio.CopySrcOptions{Bucket: b, Object: "big"}); err != nil {
		t.Fatalf("minio copy: %v", err)
	}
	obj, err := mc.GetObject(ctx, other, "big-copy", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, sum, err := HashReader(obj)
	obj.Close()
	if err != nil || n != data.Size || sum != data.SHA256() {
		t.Fatalf("minio copy read back %d bytes, match %v, %v", n, sum == data.SHA256(), err)
	}
	// Conditional writes apply to the destination.
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &other, Key: aws.String("big-copy"), CopySource: aws.String(CopySource(b, src, "")),
		IfNoneMatch: aws.String("*")})
	WantError(t, err, "PreconditionFailed", 412)
	// The source header may also come unencoded with a leading slash.
	r := tg.Signed(t, http.MethodPut, "/"+b+"/raw-copy", nil, http.Header{"X-Amz-Copy-Source": {"/" + b + "/big"}})
	if r.Status != 200 || !bytes.Contains(r.Body, []byte("<CopyObjectResult")) {
		t.Fatalf("raw copy: %d %s", r.Status, r.Body)
	}
}
