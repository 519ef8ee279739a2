package conformance

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MinPart is the smallest part but the last that coffer accepts (B2's
// 5,000,000 bytes; AWS's 5 MiB would do too).
const MinPart = 5_000_000

// S3Multipart runs the multipart checks against tg: every multipart
// operation, its error cases, composite and full-object checksums, and the
// multipart paths of real clients (the AWS transfer manager's call pattern
// and minio-go without DisableMultipart).
func S3Multipart(t *testing.T, tg Target) {
	t.Run("Basic", func(t *testing.T) { testMultipartBasic(t, tg) })
	t.Run("OnePart", func(t *testing.T) { testMultipartOnePart(t, tg) })
	t.Run("EdgeNumbers", func(t *testing.T) { testMultipartEdgeNumbers(t, tg) })
	t.Run("ReplacePart", func(t *testing.T) { testMultipartReplace(t, tg) })
	t.Run("Abort", func(t *testing.T) { testMultipartAbort(t, tg) })
	t.Run("Errors", func(t *testing.T) { testMultipartErrors(t, tg) })
	t.Run("RawErrors", func(t *testing.T) { testMultipartRawErrors(t, tg) })
	t.Run("Conditional", func(t *testing.T) { testMultipartConditional(t, tg) })
	t.Run("ListParts", func(t *testing.T) { testListParts(t, tg) })
	t.Run("ListUploads", func(t *testing.T) { testListUploads(t, tg) })
	t.Run("Checksums", func(t *testing.T) { testMultipartChecksums(t, tg) })
	t.Run("ChecksumErrors", func(t *testing.T) { testMultipartChecksumErrors(t, tg) })
	t.Run("UploadPartCopy", func(t *testing.T) { testUploadPartCopy(t, tg) })
	t.Run("MinioCompose", func(t *testing.T) { testMinioCompose(t, tg) })
	t.Run("SSEC", func(t *testing.T) { testMultipartSSEC(t, tg) })
	t.Run("SSEB2", func(t *testing.T) { testMultipartSSEB2(t, tg) })
	t.Run("ObjectLock", func(t *testing.T) { testMultipartLock(t, tg) })
	t.Run("TransferManagerFlow", func(t *testing.T) { testTransferManagerFlow(t, tg) })
	t.Run("Minio", func(t *testing.T) { testMultipartMinio(t, tg, false) })
	t.Run("MinioTrailers", func(t *testing.T) { testMultipartMinio(t, tg, true) })
}

// mpBucket is a fresh bucket whose unfinished uploads are aborted before it
// is emptied and deleted.
func mpBucket(t *testing.T, c *s3.Client, prefix string) string {
	t.Helper()
	b := newBucket(t, c, prefix)
	t.Cleanup(func() { AbortUploads(context.Background(), t, c, b) })
	return b
}

// AbortUploads aborts every unfinished multipart upload of a bucket.
func AbortUploads(ctx context.Context, t testing.TB, c *s3.Client, bucket string) {
	t.Helper()
	p := s3.NewListMultipartUploadsPaginator(c, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list uploads of %s: %v", bucket, err)
		}
		for _, u := range page.Uploads {
			if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
				t.Fatalf("abort %s: %v", aws.ToString(u.UploadId), err)
			}
		}
	}
}

// memData is a test body generated once and held in memory: the race
// detector makes Data's generator slow, and SDKs read a body several times
// (payload hash, checksum, send).
type memData struct {
	*bytes.Reader
	data []byte
	Size int64
	sum  string
}

func newMemData(seed uint64, size int64) *memData {
	b := NewData(seed, size).Bytes(0, size)
	sum := sha256.Sum256(b)
	return &memData{Reader: bytes.NewReader(b), data: b, Size: size, sum: hex.EncodeToString(sum[:])}
}

// Bytes returns bytes [off, off+n) (shared: do not modify).
func (d *memData) Bytes(off, n int64) []byte { return d.data[off : off+n] }

// SHA256 is the hex SHA-256 of the whole body.
func (d *memData) SHA256() string { return d.sum }

// partSpec is one part of a test upload: a slice of a Data body.
type partSpec struct{ off, size int64 }

// splitParts cuts a body of total bytes into parts of the given sizes, the
// last part taking the rest.
func splitParts(total int64, sizes ...int64) []partSpec {
	var out []partSpec
	var off int64
	for _, s := range sizes {
		out = append(out, partSpec{off, s})
		off += s
	}
	if off < total || len(out) == 0 {
		out = append(out, partSpec{off, total - off})
	}
	return out
}

// MultipartETag is S3's ETag of a multipart object (quoted):
// hex(MD5(concat(binary part MD5s))) + "-" + part count.
func MultipartETag(partMD5s [][]byte) string {
	h := md5.New()
	for _, m := range partMD5s {
		h.Write(m)
	}
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(partMD5s))
}

func md5Of(b []byte) []byte { s := md5.Sum(b); return s[:] }

// uploadParts starts an upload of key and uploads every part of data,
// returning the upload id and the completed-part list.
func uploadParts(ctx context.Context, t *testing.T, c *s3.Client, b, key string, data *memData, parts []partSpec,
	create *s3.CreateMultipartUploadInput) (string, []types.CompletedPart, [][]byte) {
	t.Helper()
	if create == nil {
		create = &s3.CreateMultipartUploadInput{}
	}
	create.Bucket, create.Key = &b, &key
	up, err := c.CreateMultipartUpload(ctx, create)
	if err != nil {
		t.Fatalf("create upload of %s: %v", key, err)
	}
	if aws.ToString(up.UploadId) == "" || aws.ToString(up.Key) != key || aws.ToString(up.Bucket) != b {
		t.Fatalf("create upload: %+v", up)
	}
	var done []types.CompletedPart
	var md5s [][]byte
	for i, p := range parts {
		n := int32(i + 1)
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: &n,
			Body: io.NewSectionReader(data, p.off, p.size), ContentLength: aws.Int64(p.size), ChecksumAlgorithm: create.ChecksumAlgorithm})
		if err != nil {
			t.Fatalf("upload part %d of %s: %v", n, key, err)
		}
		sum := md5Of(data.Bytes(p.off, p.size))
		if want := `"` + hex.EncodeToString(sum) + `"`; aws.ToString(out.ETag) != want {
			t.Fatalf("part %d ETag %s, want %s", n, aws.ToString(out.ETag), want)
		}
		md5s = append(md5s, sum)
		done = append(done, types.CompletedPart{PartNumber: &n, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32,
			ChecksumCRC32C: out.ChecksumCRC32C, ChecksumCRC64NVME: out.ChecksumCRC64NVME, ChecksumSHA1: out.ChecksumSHA1,
			ChecksumSHA256: out.ChecksumSHA256})
	}
	return aws.ToString(up.UploadId), done, md5s
}

func complete(ctx context.Context, c *s3.Client, b, key, id string, parts []types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
	return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
}

// checkObject reads key back whole and compares it with data.
func checkObject(ctx context.Context, t *testing.T, c *s3.Client, b, key string, data *memData) *s3.GetObjectOutput {
	t.Helper()
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	n, sum, err := HashReader(out.Body)
	out.Body.Close()
	if err != nil || n != data.Size || sum != data.SHA256() {
		t.Fatalf("get %s: %d bytes (want %d), err %v, content match %v", key, n, data.Size, err, sum == data.SHA256())
	}
	return out
}

func testMultipartBasic(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-basic")
	// Parts of unequal sizes: the minimum, a larger one, a tiny last one.
	parts := splitParts(MinPart+5<<20+1+1234, MinPart, 5<<20+1)
	data := newMemData(31, MinPart+5<<20+1+1234)
	key := "dir/multi part+ü"
	id, done, md5s := uploadParts(ctx, t, c, b, key, data, parts, &s3.CreateMultipartUploadInput{
		ContentType: aws.String("application/x-mp"), Metadata: map[string]string{"color": "blue"},
		CacheControl: aws.String("max-age=60"),
	})
	// The object is invisible until completed.
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
	WantError(t, err, "", 404)
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	if err != nil || len(list.Contents) != 0 {
		t.Fatalf("an unfinished upload is listed: %v %v", list, err)
	}
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
	if err != nil || len(vs.Versions)+len(vs.DeleteMarkers) != 0 {
		t.Fatalf("an unfinished upload is listed as a version: %v %v", vs, err)
	}
	out, err := complete(ctx, c, b, key, id, done)
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	wantETag := MultipartETag(md5s)
	if aws.ToString(out.ETag) != wantETag || aws.ToString(out.Key) != key || aws.ToString(out.Bucket) != b {
		t.Fatalf("complete: ETag %s (want %s), key %q, bucket %q", aws.ToString(out.ETag), wantETag, aws.ToString(out.Key), aws.ToString(out.Bucket))
	}
	// The version id is the upload id (B2: the large file's fileId).
	if aws.ToString(out.VersionId) != id || aws.ToString(out.Location) == "" {
		t.Fatalf("complete: version %q (upload %q), location %q", aws.ToString(out.VersionId), id, aws.ToString(out.Location))
	}
	got := checkObject(ctx, t, c, b, key, data)
	if aws.ToString(got.ETag) != wantETag || aws.ToString(got.ContentType) != "application/x-mp" ||
		got.Metadata["color"] != "blue" || aws.ToString(got.CacheControl) != "max-age=60" {
		t.Fatalf("get: ETag %s, type %s, metadata %v, cache %s", aws.ToString(got.ETag), aws.ToString(got.ContentType),
			got.Metadata, aws.ToString(got.CacheControl))
	}
	// partNumber reads return one part, with the part count.
	for i, p := range parts {
		n := int32(i + 1)
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key, PartNumber: &n})
		if err != nil {
			t.Fatalf("head part %d: %v", n, err)
		}
		if aws.ToInt64(head.ContentLength) != p.size || aws.ToInt32(head.PartsCount) != int32(len(parts)) {
			t.Fatalf("head part %d: length %d, parts %d", n, aws.ToInt64(head.ContentLength), aws.ToInt32(head.PartsCount))
		}
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, PartNumber: &n})
		if err != nil {
			t.Fatalf("get part %d: %v", n, err)
		}
		body, err := io.ReadAll(g.Body)
		g.Body.Close()
		if err != nil || !slices.Equal(body, data.Bytes(p.off, p.size)) || aws.ToInt32(g.PartsCount) != int32(len(parts)) {
			t.Fatalf("get part %d: %d bytes, err %v, parts %d", n, len(body), err, aws.ToInt32(g.PartsCount))
		}
		if want := fmt.Sprintf("bytes %d-%d/%d", p.off, p.off+p.size-1, data.Size); aws.ToString(g.ContentRange) != want {
			t.Fatalf("get part %d: Content-Range %q, want %q", n, aws.ToString(g.ContentRange), want)
		}
	}
	n := int32(len(parts) + 1)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, PartNumber: &n})
	WantError(t, err, "InvalidPartNumber", 400)
	// A range across part boundaries.
	rng, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", MinPart-10, MinPart+9))})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rng.Body)
	rng.Body.Close()
	if !slices.Equal(body, data.Bytes(MinPart-10, 20)) {
		t.Fatal("range across a part boundary returned the wrong bytes")
	}
	// Listed like any object; the upload is gone.
	list, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	if err != nil || len(list.Contents) != 1 || aws.ToInt64(list.Contents[0].Size) != data.Size || aws.ToString(list.Contents[0].ETag) != wantETag {
		t.Fatalf("list after complete: %+v %v", list, err)
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("uploads after complete: %+v %v", ups, err)
	}
	// A retried completion (its answer lost) succeeds with the same result.
	again, err := complete(ctx, c, b, key, id, done)
	if err != nil || aws.ToString(again.ETag) != wantETag || aws.ToString(again.VersionId) != id {
		t.Fatalf("repeated complete: %+v %v", again, err)
	}
	// A different part list for the completed upload is refused.
	_, err = complete(ctx, c, b, key, id, done[:1])
	WantError(t, err, "NoSuchUpload", 404)
}

func testMultipartOnePart(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-one")
	for _, size := range []int64{0, 1, 1000} {
		data := newMemData(uint64(40+size), size)
		key := fmt.Sprintf("one-%d", size)
		id, done, md5s := uploadParts(ctx, t, c, b, key, data, splitParts(size), nil)
		out, err := complete(ctx, c, b, key, id, done)
		if err != nil {
			t.Fatalf("complete one part of %d bytes: %v", size, err)
		}
		if aws.ToString(out.ETag) != MultipartETag(md5s) || !strings.HasSuffix(aws.ToString(out.ETag), `-1"`) {
			t.Fatalf("one-part ETag %s", aws.ToString(out.ETag))
		}
		checkObject(ctx, t, c, b, key, data)
	}
}

// testMultipartEdgeNumbers uses the highest part number, with a gap.
func testMultipartEdgeNumbers(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-edges")
	key := "edges"
	first, last := newMemData(45, MinPart), newMemData(46, 10)
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	for _, p := range []struct {
		n    int32
		data *memData
	}{{1, first}, {10000, last}} {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(p.n), Body: p.data})
		if err != nil {
			t.Fatalf("part %d: %v", p.n, err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(p.n), ETag: out.ETag})
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumberMarker: aws.String("9999")})
	if err != nil || len(lp.Parts) != 1 || aws.ToInt32(lp.Parts[0].PartNumber) != 10000 {
		t.Fatalf("list parts after 9999: %+v %v", lp, err)
	}
	if _, err := complete(ctx, c, b, key, aws.ToString(up.UploadId), done); err != nil {
		t.Fatalf("complete parts 1 and 10000: %v", err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key, PartNumber: aws.Int32(2)})
	if err != nil || aws.ToInt64(head.ContentLength) != 10 || aws.ToInt32(head.PartsCount) != 2 {
		t.Fatalf("head of the second part: %+v %v", head, err)
	}
}

func testMultipartReplace(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-replace")
	key := "replaced"
	first, second := newMemData(50, 2000), newMemData(51, 3000)
	id, done, _ := uploadParts(ctx, t, c, b, key, first, splitParts(first.Size), nil)
	one := int32(1)
	out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: &one, Body: second})
	if err != nil {
		t.Fatal(err)
	}
	// Only the newest part 1 exists now.
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
	if err != nil || len(parts.Parts) != 1 || aws.ToInt64(parts.Parts[0].Size) != second.Size || aws.ToString(parts.Parts[0].ETag) != aws.ToString(out.ETag) {
		t.Fatalf("list parts after replace: %+v %v", parts, err)
	}
	_, err = complete(ctx, c, b, key, id, done)
	WantError(t, err, "InvalidPart", 400)
	if _, err := complete(ctx, c, b, key, id, []types.CompletedPart{{PartNumber: &one, ETag: out.ETag}}); err != nil {
		t.Fatalf("complete with the replacing part: %v", err)
	}
	checkObject(ctx, t, c, b, key, second)
}

func testMultipartAbort(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-abort")
	key := "aborted"
	data := newMemData(60, 4000)
	id, done, _ := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size, 1000, 1000), nil)
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id}); err != nil {
		t.Fatalf("abort: %v", err)
	}
	_, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id})
	WantError(t, err, "NoSuchUpload", 404)
	_, err = complete(ctx, c, b, key, id, done)
	WantError(t, err, "NoSuchUpload", 404)
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
	WantError(t, err, "NoSuchUpload", 404)
	one := int32(1)
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: &one, Body: strings.NewReader("x")})
	WantError(t, err, "NoSuchUpload", 404)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
	WantError(t, err, "", 404)
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("uploads after abort: %+v %v", ups, err)
	}
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
	if err != nil || len(vs.Versions)+len(vs.DeleteMarkers) != 0 {
		t.Fatalf("versions after abort: %+v %v", vs, err)
	}
}

func testMultipartErrors(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-errors")
	key := "errs"
	small := newMemData(70, 3000)
	id, done, _ := uploadParts(ctx, t, c, b, key, small, splitParts(small.Size, 1000, 1000), nil)
	// Unknown upload ids, and a real id under another key.
	for _, tc := range []struct{ key, id string }{{key, "4_zbogus_f0000000000000000_d20250101_m000000_c000_v0000000_t0000"}, {key, "x"}, {"other-key", id}} {
		one := int32(1)
		_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String(tc.key), UploadId: aws.String(tc.id), PartNumber: &one, Body: strings.NewReader("x")})
		WantError(t, err, "NoSuchUpload", 404)
		_, err = complete(ctx, c, b, tc.key, tc.id, done)
		WantError(t, err, "NoSuchUpload", 404)
		_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: aws.String(tc.key), UploadId: aws.String(tc.id)})
		WantError(t, err, "NoSuchUpload", 404)
		_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String(tc.key), UploadId: aws.String(tc.id)})
		WantError(t, err, "NoSuchUpload", 404)
	}
	// Part numbers outside 1..10000.
	for _, n := range []int32{0, 10001, -1} {
		_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: aws.Int32(n), Body: strings.NewReader("x")})
		WantError(t, err, "InvalidArgument", 400)
	}
	// A wrong Content-MD5 is refused and the part is not stored.
	_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: aws.Int32(9),
		Body: strings.NewReader("hello!"), ContentMD5: aws.String("XUFAKrxLKna5cZ2REBfFkg==")})
	WantError(t, err, "BadDigest", 400)
	// A wrong part checksum likewise.
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: aws.Int32(9),
		Body: strings.NewReader("hello"), ChecksumCRC32: aws.String("AAAAAA==")})
	WantError(t, err, "BadDigest", 400)
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
	if err != nil || len(parts.Parts) != 3 {
		t.Fatalf("a refused part was stored: %+v %v", parts, err)
	}
	p1, p2, p3 := done[0], done[1], done[2]
	bad := p2
	bad.ETag = aws.String(`"00000000000000000000000000000000"`)
	missing := types.CompletedPart{PartNumber: aws.Int32(7), ETag: p1.ETag}
	for _, tc := range []struct {
		name   string
		parts  []types.CompletedPart
		code   string
		status int
	}{
		{"wrong etag", []types.CompletedPart{p1, bad, p3}, "InvalidPart", 400},
		{"missing part", []types.CompletedPart{p1, p2, missing}, "InvalidPart", 400},
		{"descending", []types.CompletedPart{p2, p1, p3}, "InvalidPartOrder", 400},
		{"duplicate", []types.CompletedPart{p1, p1, p3}, "InvalidPartOrder", 400},
		{"small parts", []types.CompletedPart{p1, p2, p3}, "EntityTooSmall", 400},
		{"no parts", nil, "MalformedXML", 400},
	} {
		_, err := complete(ctx, c, b, key, id, tc.parts)
		WantError(t, err, tc.code, tc.status)
	}
	// Nothing was created by the refused completions; the upload survives.
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
	WantError(t, err, "", 404)
	// Unlisted parts are allowed; only the listed one makes the object.
	if _, err := complete(ctx, c, b, key, id, []types.CompletedPart{p3}); err != nil {
		t.Fatalf("complete with the last part only: %v", err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !slices.Equal(body, small.Bytes(2000, 1000)) {
		t.Fatal("the object is not its only listed part")
	}
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("sc"), StorageClass: types.StorageClassGlacier})
	WantError(t, err, "InvalidStorageClass", 400)
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("no-such-bucket-mp"), Key: aws.String("k")})
	WantError(t, err, "NoSuchBucket", 404)
	_, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b, MaxUploads: aws.Int32(-1)})
	WantError(t, err, "InvalidArgument", 400)
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id, MaxParts: aws.Int32(-1)})
	WantError(t, err, "", 400)
}

func testMultipartConditional(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-cond")
	key := "cond"
	data := newMemData(80, 100)
	id, done, _ := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size), nil)
	// No object yet: If-None-Match: * holds.
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}, IfNoneMatch: aws.String("*")}); err != nil {
		t.Fatalf("conditional complete on a new key: %v", err)
	}
	id2, done2, _ := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size), nil)
	_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id2,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done2}, IfNoneMatch: aws.String("*")})
	WantError(t, err, "PreconditionFailed", 412)
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id2,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done2}, IfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)})
	WantError(t, err, "PreconditionFailed", 412)
	// The upload survives a failed condition and completes unconditionally.
	if _, err := complete(ctx, c, b, key, id2, done2); err != nil {
		t.Fatalf("unconditional complete after a failed condition: %v", err)
	}
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
	if err != nil || len(vs.Versions) != 2 || aws.ToString(vs.Versions[0].VersionId) != id2 || !aws.ToBool(vs.Versions[0].IsLatest) {
		t.Fatalf("versions: %+v %v", vs, err)
	}
}
