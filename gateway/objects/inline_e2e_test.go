package objects_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/gateway/objects"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/runtime"
)

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// TestInlineObjects checks small objects kept in metadata end to end,
// through the real gateway: S3 and B2 reads of every shape (whole, ranges,
// HEAD, download by name and id), SSE-B2 and SSE-C (encrypted at rest in
// metadata too), copies in and out, a multipart upload with a tiny last
// part (parts are never inline), B2 uploads, deletes — and that none of it
// creates a blob or a placement, while an object one byte over the
// threshold still goes to blobstore.
func TestInlineObjects(t *testing.T) {
	c := clustertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	s3c := tg.AWS(t)
	meta := c.Meta()
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	blobs := blobv1.NewBlobServiceClient(cc)
	blobCount := func() int {
		resp, err := blobs.ListBlobs(ctx, &blobv1.ListBlobsRequest{PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.GetBlobs())
	}

	bucket := conformance.BucketName("inline")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	b, err := meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: bucket}})
	if err != nil {
		t.Fatal(err)
	}
	bucketID := b.GetBucket().GetBucketId()
	version := func(key, vid string) *metadatav1.ObjectVersion {
		t.Helper()
		resp, err := meta.GetObject(ctx, &metadatav1.GetObjectRequest{BucketId: bucketID, Key: key, VersionId: vid})
		if err != nil {
			t.Fatalf("metadata GetObject %s: %v", key, err)
		}
		return resp.GetVersion()
	}
	wantInline := func(key string, inline bool) *metadatav1.Segment {
		t.Helper()
		v := version(key, "")
		seg := v.GetSegments()[0]
		if seg.GetInline() != inline || (seg.GetPlacement() == nil) != inline {
			t.Fatalf("%s: inline %v, placement %v; want inline %v", key, seg.GetInline(), seg.GetPlacement(), inline)
		}
		return seg
	}
	put := func(key string, body []byte, mod func(*s3.PutObjectInput)) *s3.PutObjectOutput {
		t.Helper()
		in := &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: bytes.NewReader(body)}
		if mod != nil {
			mod(in)
		}
		out, err := s3c.PutObject(ctx, in)
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		return out
	}
	get := func(key, rng string, mod func(*s3.GetObjectInput)) []byte {
		t.Helper()
		in := &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(key)}
		if rng != "" {
			in.Range = aws.String(rng)
		}
		if mod != nil {
			mod(in)
		}
		out, err := s3c.GetObject(ctx, in)
		if err != nil {
			t.Fatalf("get %s %s: %v", key, rng, err)
		}
		defer out.Body.Close()
		got, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatalf("get %s %s: %v", key, rng, err)
		}
		return got
	}

	// Plain objects at and around the threshold.
	small := randomBytes(1, 4096)
	edge := randomBytes(2, objects.DefaultInlineMax)
	over := randomBytes(3, objects.DefaultInlineMax+1)
	out := put("small", small, nil)
	sum := md5.Sum(small)
	if got := aws.ToString(out.ETag); got != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("ETag %s", got)
	}
	put("edge", edge, nil)
	put("empty", nil, nil)
	if n := blobCount(); n != 0 {
		t.Fatalf("%d blobs after inline puts", n)
	}
	wantInline("small", true)
	wantInline("edge", true)
	wantInline("empty", true)
	put("over", over, nil)
	wantInline("over", false)
	if n := blobCount(); n != 1 {
		t.Fatalf("%d blobs after a put over the threshold", n)
	}
	for _, rc := range []struct {
		rng        string
		start, end int
	}{{"", 0, 4096}, {"bytes=0-0", 0, 1}, {"bytes=100-199", 100, 200}, {"bytes=-10", 4086, 4096}, {"bytes=4000-", 4000, 4096}} {
		if got := get("small", rc.rng, nil); !bytes.Equal(got, small[rc.start:rc.end]) {
			t.Errorf("small %q: %d bytes", rc.rng, len(got))
		}
	}
	if got := get("edge", fmt.Sprintf("bytes=%d-%d", len(edge)-536, len(edge)-1), nil); !bytes.Equal(got, edge[len(edge)-536:]) {
		t.Error("edge range")
	}
	if got := get("empty", "", nil); len(got) != 0 {
		t.Error("empty object")
	}
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("small")})
	if err != nil || aws.ToInt64(head.ContentLength) != 4096 {
		t.Fatalf("head: %v", err)
	}

	// SSE-B2 (AES256) and SSE-C: inline bytes are sealed, as a blob is.
	put("sse", small, func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 })
	seg := wantInline("sse", true)
	if bytes.Contains(seg.GetInlineData(), small[:32]) || len(seg.GetInlineData()) != int(objects.SealedSize(4096)) {
		t.Fatal("SSE-B2 inline bytes are not sealed")
	}
	if got := get("sse", "bytes=10-2000", nil); !bytes.Equal(got, small[10:2001]) {
		t.Error("SSE-B2 inline range")
	}
	key := bytes.Repeat([]byte{7}, 32)
	keyMD5 := md5.Sum(key)
	ssec := func(alg, k, m **string) {
		*alg, *k, *m = aws.String("AES256"), aws.String(base64.StdEncoding.EncodeToString(key)), aws.String(base64.StdEncoding.EncodeToString(keyMD5[:]))
	}
	put("ssec", small, func(in *s3.PutObjectInput) { ssec(&in.SSECustomerAlgorithm, &in.SSECustomerKey, &in.SSECustomerKeyMD5) })
	if seg := wantInline("ssec", true); bytes.Contains(seg.GetInlineData(), small[:32]) {
		t.Fatal("SSE-C inline bytes are not sealed")
	}
	if got := get("ssec", "", func(in *s3.GetObjectInput) { ssec(&in.SSECustomerAlgorithm, &in.SSECustomerKey, &in.SSECustomerKeyMD5) }); !bytes.Equal(got, small) {
		t.Error("SSE-C inline read")
	}
	if _, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("ssec")}); err == nil {
		t.Error("SSE-C inline object read without its key")
	}

	// Copies: inline to inline (also into SSE), blob to blob.
	for _, cp := range []struct {
		src, dst string
		sse      bool
		inline   bool
		want     []byte
	}{{"small", "copy", false, true, small}, {"small", "copy-sse", true, true, small}, {"sse", "copy-plain", false, true, small}, {"over", "copy-over", false, false, over}} {
		in := &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String(cp.dst), CopySource: aws.String(bucket + "/" + cp.src)}
		if cp.sse {
			in.ServerSideEncryption = types.ServerSideEncryptionAes256
		}
		if _, err := s3c.CopyObject(ctx, in); err != nil {
			t.Fatalf("copy %s: %v", cp.dst, err)
		}
		wantInline(cp.dst, cp.inline)
		if got := get(cp.dst, "", nil); !bytes.Equal(got, cp.want) {
			t.Errorf("copy %s: wrong bytes", cp.dst)
		}
	}

	// A multipart upload whose last part is tiny: parts are blobs.
	mp, err := s3c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	part1, part2 := randomBytes(4, 5<<20), []byte("tail")
	var done []types.CompletedPart
	for i, p := range [][]byte{part1, part2} {
		n := int32(i + 1)
		up, err := s3c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: aws.String("mp"), UploadId: mp.UploadId, PartNumber: &n, Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: &n, ETag: up.ETag})
	}
	if _, err := s3c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("mp"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range version("mp", "").GetSegments() {
		if s.GetInline() || s.GetPlacement() == nil {
			t.Fatal("a part of a multipart upload was kept inline")
		}
	}
	if got := get("mp", fmt.Sprintf("bytes=%d-", len(part1)-2), nil); string(got) != string(part1[len(part1)-2:])+"tail" {
		t.Error("multipart read across the tiny last part")
	}

	// B2: download by name and by id, upload a small file.
	b2 := conformance.NewB2(t, conformance.B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}, 2)
	byName := b2.DownloadByName("GET", bucket, "small", b2.Token, nil)
	if byName.Status != 200 || !bytes.Equal(byName.Body, small) || byName.Header.Get("X-Bz-Content-Sha1") != conformance.SHA1Hex(small) {
		t.Fatalf("B2 download by name: %d, sha1 %s", byName.Status, byName.Header.Get("X-Bz-Content-Sha1"))
	}
	smallID := version("small", "").GetVersionId()
	byID := b2.DownloadByID("GET", smallID, b2.Token, map[string]string{"Range": "bytes=5-9"})
	if byID.Status != 206 || !bytes.Equal(byID.Body, small[5:10]) {
		t.Fatalf("B2 ranged download by id: %d", byID.Status)
	}
	b2body := randomBytes(5, 1000)
	b2.Upload(bucketID, "from-b2", b2body, nil)
	wantInline("from-b2", true)
	if got := get("from-b2", "", nil); !bytes.Equal(got, b2body) {
		t.Error("S3 read of a B2 inline upload")
	}

	// Deleting an inline version deletes it; no blob was ever involved.
	before := blobCount()
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("small"), VersionId: aws.String(smallID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.GetObject(ctx, &metadatav1.GetObjectRequest{BucketId: bucketID, Key: "small", VersionId: smallID}); err == nil {
		t.Fatal("deleted inline version still readable")
	}
	if n := blobCount(); n != before {
		t.Fatalf("blobs went from %d to %d on an inline delete", before, n)
	}
	// Placements (what repair and GC walk) name only the blob-backed objects.
	pl, err := meta.ListPlacements(ctx, &metadatav1.ListPlacementsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pl.GetPlacements()); n != blobCount() {
		t.Fatalf("%d placements for %d blobs", n, blobCount())
	}
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, o := range list.Contents {
		sizes[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
	}
	if sizes["edge"] != objects.DefaultInlineMax || sizes["sse"] != 4096 || sizes["empty"] != 0 {
		t.Fatalf("listed sizes %v", sizes)
	}
}
