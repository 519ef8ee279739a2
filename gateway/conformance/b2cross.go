package conformance

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// CrossDialect checks that S3 and B2 see one world (spec/s3.md §9,
// spec/b2-native.md): buckets, files, fileInfo ↔ x-amz-meta-*, SHA-1 and
// MD5, fileId = VersionId, hide markers = delete markers, large files =
// multipart uploads — writing through one dialect and reading, listing and
// deleting through the other.
func CrossDialect(t *testing.T, s3t Target, b2t B2Target) {
	t.Run("B2ToS3", func(t *testing.T) { testB2ToS3(t, s3t, b2t) })
	t.Run("S3ToB2", func(t *testing.T) { testS3ToB2(t, s3t, b2t) })
	t.Run("LargeFiles", func(t *testing.T) { testCrossLarge(t, s3t, b2t) })
	t.Run("Tags", func(t *testing.T) { testCrossTags(t, s3t, b2t) })
}

// testCrossTags: S3 object tags are not B2 file info, but a B2 copy
// carries them as an S3 copy does (whatever its metadataDirective).
func testCrossTags(t *testing.T, s3t Target, b2t B2Target) {
	ctx := context.Background()
	c := NewB2(t, b2t, 2)
	sc := s3t.AWS(t)
	bucket := newBucket(t, sc, "crosstags")
	put, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("tagged"), Body: strings.NewReader("t"), Tagging: aws.String("team=blue")})
	if err != nil {
		t.Fatal(err)
	}
	info := c.Must("b2_get_file_info", map[string]any{"fileId": aws.ToString(put.VersionId)})
	if fi := info["fileInfo"].(map[string]any); len(fi) != 0 {
		t.Fatalf("tags leaked into B2 fileInfo: %v", fi)
	}
	c.Must("b2_copy_file", map[string]any{"sourceFileId": aws.ToString(put.VersionId), "fileName": "copied"})
	c.Must("b2_copy_file", map[string]any{"sourceFileId": aws.ToString(put.VersionId), "fileName": "replaced",
		"metadataDirective": "REPLACE", "contentType": "text/plain", "fileInfo": map[string]string{"x": "y"}})
	for _, key := range []string{"copied", "replaced"} {
		if got, _ := getTags(t, sc, bucket, key, nil); got != "team=blue;" {
			t.Fatalf("S3 tags of the B2 copy %s: %q", key, got)
		}
	}
}

func s3Versions(t *testing.T, c *s3.Client, bucket, prefix string) *s3.ListObjectVersionsOutput {
	t.Helper()
	out, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		t.Fatalf("ListObjectVersions: %v", err)
	}
	return out
}

func testB2ToS3(t *testing.T, s3t Target, b2t B2Target) {
	ctx := context.Background()
	c := NewB2(t, b2t, 2)
	sc := s3t.AWS(t)
	b := c.CreateBucket("cross", "allPrivate", nil)
	id, bucket := b["bucketId"].(string), b["bucketName"].(string)

	// The bucket exists for S3.
	if _, err := sc.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("S3 HeadBucket of a B2 bucket: %v", err)
	}
	body := []byte("written through B2, read through S3\n")
	f := c.Upload(id, "docs/note.txt", body, map[string]string{"color": "blue", "b2-content-disposition": "inline"})
	fileID := f["fileId"].(string)

	got, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("docs/note.txt")})
	if err != nil {
		t.Fatalf("S3 GetObject: %v", err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(data, body) || got.Metadata["color"] != "blue" || aws.ToString(got.ContentDisposition) != "inline" ||
		aws.ToString(got.VersionId) != fileID || strings.Trim(aws.ToString(got.ETag), `"`) != f["contentMd5"] ||
		aws.ToString(got.ContentType) != "text/plain" {
		t.Fatalf("S3 view of a B2 file: %q meta=%v version=%s etag=%s", data, got.Metadata, aws.ToString(got.VersionId), aws.ToString(got.ETag))
	}
	list, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "docs/note.txt" || aws.ToInt64(list.Contents[0].Size) != int64(len(body)) {
		t.Fatalf("S3 list: %+v %v", list, err)
	}
	// An S3 delete is a B2 hide marker with the delete marker's version id.
	del, err := sc.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("docs/note.txt")})
	if err != nil || !aws.ToBool(del.DeleteMarker) {
		t.Fatalf("S3 delete: %+v %v", del, err)
	}
	var v listPage
	c.Call("b2_list_file_versions", map[string]any{"bucketId": id}).Into(t, &v)
	if len(v.Files) != 2 || v.Files[0].Action != "hide" || *v.Files[0].FileID != aws.ToString(del.VersionId) || *v.Files[1].FileID != fileID {
		t.Fatalf("B2 view of an S3 delete: %+v", v.Files)
	}
	WantB2Error(t, c.DownloadByName(http.MethodGet, bucket, "docs/note.txt", c.Token, nil), 404, "not_found")
	// S3 deletes of versions remove B2 versions.
	for _, id := range []string{aws.ToString(del.VersionId), fileID} {
		if _, err := sc.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("docs/note.txt"), VersionId: aws.String(id)}); err != nil {
			t.Fatalf("S3 delete version: %v", err)
		}
	}
	c.Call("b2_list_file_versions", map[string]any{"bucketId": id}).Into(t, &v)
	if len(v.Files) != 0 {
		t.Fatalf("versions left after S3 deletes: %+v", v.Files)
	}
}

func testS3ToB2(t *testing.T, s3t Target, b2t B2Target) {
	ctx := context.Background()
	c := NewB2(t, b2t, 4)
	sc := s3t.AWS(t)
	bucket := newBucket(t, sc, "crosss3")

	// The S3 bucket is a B2 bucket.
	lb := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketName": bucket})
	if len(lb["buckets"].([]any)) != 1 {
		t.Fatalf("b2_list_buckets lacks the S3 bucket: %v", lb)
	}
	id := lb["buckets"].([]any)[0].(map[string]any)["bucketId"].(string)
	body := []byte("written through S3, read through B2\n")
	put, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("a/b c.txt"), Body: bytes.NewReader(body),
		ContentType: aws.String("text/csv"), Metadata: map[string]string{"author": "zoe"}, CacheControl: aws.String("no-cache")})
	if err != nil {
		t.Fatal(err)
	}
	var names listPage
	resp := c.Call("b2_list_file_names", map[string]any{"bucketId": id})
	resp.Into(t, &names)
	if len(names.Files) != 1 || *names.Files[0].FileID != aws.ToString(put.VersionId) {
		t.Fatalf("B2 list of an S3 object: %s", resp.Body)
	}
	f := resp.JSON(t)["files"].([]any)[0].(map[string]any)
	if f["contentSha1"] != SHA1Hex(body) || f["contentMd5"] != strings.Trim(aws.ToString(put.ETag), `"`) || f["contentType"] != "text/csv" ||
		f["fileInfo"].(map[string]any)["author"] != "zoe" || f["fileInfo"].(map[string]any)["b2-cache-control"] != "no-cache" {
		t.Fatalf("B2 view of an S3 object (SHA-1 and MD5 both kept): %v", f)
	}
	dl := c.DownloadByName(http.MethodGet, bucket, "a/b c.txt", c.Token, nil)
	if dl.Status != 200 || !bytes.Equal(dl.Body, body) || dl.Header.Get("X-Bz-Info-author") != "zoe" || dl.Header.Get("Cache-Control") != "no-cache" ||
		dl.Header.Get("X-Bz-Content-Sha1") != SHA1Hex(body) {
		t.Fatalf("B2 download of an S3 object: %d %v", dl.Status, dl.Header)
	}
	// A B2 hide is an S3 delete marker.
	h := c.Must("b2_hide_file", map[string]any{"bucketId": id, "fileName": "a/b c.txt"})
	if _, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("a/b c.txt")}); err == nil {
		t.Fatal("S3 GetObject of a hidden file succeeded")
	} else {
		WantError(t, err, "NoSuchKey", 404)
	}
	vs := s3Versions(t, sc, bucket, "a/")
	if len(vs.DeleteMarkers) != 1 || aws.ToString(vs.DeleteMarkers[0].VersionId) != h["fileId"] || !aws.ToBool(vs.DeleteMarkers[0].IsLatest) ||
		len(vs.Versions) != 1 || aws.ToString(vs.Versions[0].VersionId) != aws.ToString(put.VersionId) {
		t.Fatalf("S3 versions after a B2 hide: %+v", vs)
	}
	// B2 deletes remove S3 versions.
	c.Must("b2_delete_file_version", map[string]any{"fileId": h["fileId"], "fileName": "a/b c.txt"})
	if _, err := sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("a/b c.txt")}); err != nil {
		t.Fatalf("S3 head after the B2 marker's deletion: %v", err)
	}
	c.Must("b2_delete_file_version", map[string]any{"fileId": put.VersionId, "fileName": "a/b c.txt"})
	_, err = sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("a/b c.txt"), VersionId: put.VersionId})
	WantError(t, err, "", 404)
	if vs := s3Versions(t, sc, bucket, ""); len(vs.Versions)+len(vs.DeleteMarkers) != 0 {
		t.Fatalf("S3 versions after B2 deletes: %+v", vs)
	}
}

func testCrossLarge(t *testing.T, s3t Target, b2t B2Target) {
	ctx := context.Background()
	c := NewB2(t, b2t, 2)
	sc := s3t.AWS(t)
	b := c.CreateBucket("crosslarge", "allPrivate", nil)
	id, bucket := b["bucketId"].(string), b["bucketName"].(string)

	// An S3 multipart upload is a B2 unfinished large file.
	mp, err := sc.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("s3big")})
	if err != nil {
		t.Fatal(err)
	}
	un := c.Must("b2_list_unfinished_large_files", map[string]any{"bucketId": id})
	if fs := un["files"].([]any); len(fs) != 1 || fs[0].(map[string]any)["fileId"] != aws.ToString(mp.UploadId) {
		t.Fatalf("B2 view of an S3 multipart upload: %v", un)
	}
	data := NewData(5, 5_000_000+10)
	var parts []types.CompletedPart
	for i, rg := range [][2]int64{{0, 5_000_000}, {5_000_000, 10}} {
		n := int32(i + 1)
		up, err := sc.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: aws.String("s3big"), UploadId: mp.UploadId,
			PartNumber: &n, Body: bytes.NewReader(data.Bytes(rg[0], rg[1]))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: &n, ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32})
	}
	// B2 lists the parts S3 uploaded, with their SHA-1s.
	lp := c.Must("b2_list_parts", map[string]any{"fileId": mp.UploadId})
	if ps := lp["parts"].([]any); len(ps) != 2 || ps[1].(map[string]any)["contentSha1"] != SHA1Hex(data.Bytes(5_000_000, 10)) {
		t.Fatalf("B2 view of S3 parts: %v", lp)
	}
	done, err := sc.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("s3big"),
		UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(done.VersionId) != aws.ToString(mp.UploadId) {
		t.Fatalf("VersionId %s != UploadId %s", aws.ToString(done.VersionId), aws.ToString(mp.UploadId))
	}
	info := c.Must("b2_get_file_info", map[string]any{"fileId": mp.UploadId})
	if info["action"] != "upload" || info["contentLength"].(float64) != float64(data.Size) {
		t.Fatalf("B2 view of a completed S3 upload: %v", info)
	}
	if r := c.DownloadByID(http.MethodGet, aws.ToString(mp.UploadId), c.Token, nil); r.Status != 200 || !bytes.Equal(r.Body, data.Bytes(0, data.Size)) {
		t.Fatalf("B2 download of an S3 multipart object: %d", r.Status)
	}

	// A B2 large file is an S3 multipart upload, and then an object.
	start := c.Must("b2_start_large_file", map[string]any{"bucketId": id, "fileName": "b2big", "contentType": "application/x-b2"})
	fid := start["fileId"].(string)
	ups, err := sc.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil || !slices.ContainsFunc(ups.Uploads, func(u types.MultipartUpload) bool { return aws.ToString(u.UploadId) == fid }) {
		t.Fatalf("S3 view of a B2 unfinished large file: %+v %v", ups, err)
	}
	pu := c.Must("b2_get_upload_part_url", map[string]any{"fileId": fid})
	p1, p2 := data.Bytes(0, 5_000_000), data.Bytes(5_000_000, 10)
	for i, p := range [][]byte{p1, p2} {
		if r := c.uploadPart(pu["uploadUrl"].(string), pu["authorizationToken"].(string), i+1, p, SHA1Hex(p)); r.Status != 200 {
			t.Fatalf("part %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	c.Must("b2_finish_large_file", map[string]any{"fileId": fid, "partSha1Array": []string{SHA1Hex(p1), SHA1Hex(p2)}})
	obj, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("b2big")})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if !bytes.Equal(all, data.Bytes(0, data.Size)) || aws.ToString(obj.VersionId) != fid || !strings.HasSuffix(strings.Trim(aws.ToString(obj.ETag), `"`), "-2") ||
		aws.ToString(obj.ContentType) != "application/x-b2" {
		t.Fatalf("S3 view of a B2 large file: etag %s version %s", aws.ToString(obj.ETag), aws.ToString(obj.VersionId))
	}
	// And deleted through S3.
	if _, err := sc.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("b2big"), VersionId: aws.String(fid)}); err != nil {
		t.Fatal(err)
	}
	WantB2Error(t, c.Call("b2_get_file_info", map[string]any{"fileId": fid}), 404, "not_found")
}
