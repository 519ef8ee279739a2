package conformance

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// newHash is an independent oracle for S3's checksum algorithms (the suite
// does not use the server's code to check the server; the 2025 algorithms
// come from minio-go's implementation).
func newHash(alg types.ChecksumAlgorithm) hash.Hash {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		return crc32.NewIEEE()
	case types.ChecksumAlgorithmCrc32c:
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case types.ChecksumAlgorithmCrc64nvme:
		return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	case types.ChecksumAlgorithmSha1:
		return sha1.New()
	case types.ChecksumAlgorithmSha256:
		return sha256.New()
	case types.ChecksumAlgorithmMd5:
		return minio.ChecksumMD5.Hasher()
	case types.ChecksumAlgorithmSha512:
		return minio.ChecksumSHA512.Hasher()
	case types.ChecksumAlgorithmXxhash64:
		return minio.ChecksumXXHash64.Hasher()
	case types.ChecksumAlgorithmXxhash3:
		return minio.ChecksumXXHash3.Hasher()
	case types.ChecksumAlgorithmXxhash128:
		return minio.ChecksumXXHash128.Hasher()
	}
	panic("unknown algorithm " + alg)
}

func rawSum(alg types.ChecksumAlgorithm, b []byte) []byte {
	h := newHash(alg)
	h.Write(b)
	return h.Sum(nil)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// checksumOf picks the value of alg among an output's checksum fields.
func checksumOf(alg types.ChecksumAlgorithm, crc32, crc32c, crc64, sha1, sha256 *string) string {
	return aws.ToString(map[types.ChecksumAlgorithm]*string{
		types.ChecksumAlgorithmCrc32: crc32, types.ChecksumAlgorithmCrc32c: crc32c, types.ChecksumAlgorithmCrc64nvme: crc64,
		types.ChecksumAlgorithmSha1: sha1, types.ChecksumAlgorithmSha256: sha256,
	}[alg])
}

func testMultipartChecksums(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-sums")
	const size = MinPart + 777
	data := newMemData(100, size)
	parts := splitParts(size, MinPart)
	whole := data.Bytes(0, size)
	for _, tc := range []struct {
		alg     types.ChecksumAlgorithm
		typ     types.ChecksumType // "" asks for the default
		wantTyp types.ChecksumType
	}{
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmCrc32c, "", types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmCrc64nvme, "", types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmSha1, types.ChecksumTypeComposite, types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmSha256, "", types.ChecksumTypeComposite},
	} {
		name := fmt.Sprintf("%s-%s", tc.alg, tc.wantTyp)
		key := "sum/" + name
		id, done, _ := uploadParts(ctx, t, c, b, key, data, parts,
			&s3.CreateMultipartUploadInput{ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ})
		var partSums []byte
		for i, p := range done {
			got := checksumOf(tc.alg, p.ChecksumCRC32, p.ChecksumCRC32C, p.ChecksumCRC64NVME, p.ChecksumSHA1, p.ChecksumSHA256)
			raw := rawSum(tc.alg, data.Bytes(parts[i].off, parts[i].size))
			if got != b64(raw) {
				t.Fatalf("%s: part %d checksum %q, want %q", name, i+1, got, b64(raw))
			}
			partSums = append(partSums, raw...)
		}
		want := b64(rawSum(tc.alg, whole))
		if tc.wantTyp == types.ChecksumTypeComposite {
			want = fmt.Sprintf("%s-%d", b64(rawSum(tc.alg, partSums)), len(done))
		}
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
		if err != nil || lp.ChecksumAlgorithm != tc.alg || lp.ChecksumType != tc.wantTyp ||
			checksumOf(tc.alg, lp.Parts[0].ChecksumCRC32, lp.Parts[0].ChecksumCRC32C, lp.Parts[0].ChecksumCRC64NVME,
				lp.Parts[0].ChecksumSHA1, lp.Parts[0].ChecksumSHA256) == "" {
			t.Fatalf("%s: list parts: %+v %v", name, lp, err)
		}
		out, err := complete(ctx, c, b, key, id, done)
		if err != nil {
			t.Fatalf("%s: complete: %v", name, err)
		}
		if got := checksumOf(tc.alg, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256); got != want || out.ChecksumType != tc.wantTyp {
			t.Fatalf("%s: complete checksum %q %s, want %q %s", name, got, out.ChecksumType, want, tc.wantTyp)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		if got := checksumOf(tc.alg, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256); got != want || head.ChecksumType != tc.wantTyp {
			t.Fatalf("%s: head checksum %q %s, want %q %s", name, got, head.ChecksumType, want, tc.wantTyp)
		}
		// The SDK validates full-object values against the body it reads
		// (and skips composite ones).
		checkObject(ctx, t, c, b, key, data)
	}
	// An object checksum announced on completion is verified.
	key := "announced"
	id, done, _ := uploadParts(ctx, t, c, b, key, data, parts, &s3.CreateMultipartUploadInput{ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme})
	_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}, ChecksumCRC64NVME: aws.String("AAAAAAAAAAA="), ChecksumType: types.ChecksumTypeFullObject})
	WantError(t, err, "BadDigest", 400)
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}, MpuObjectSize: aws.Int64(size + 1)})
	WantError(t, err, "InvalidRequest", 400)
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}, MpuObjectSize: aws.Int64(size),
		ChecksumCRC64NVME: aws.String(b64(rawSum(types.ChecksumAlgorithmCrc64nvme, whole))), ChecksumType: types.ChecksumTypeFullObject}); err != nil {
		t.Fatalf("complete with the right object checksum and size: %v", err)
	}
}

func testMultipartChecksumErrors(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-sumerr")
	for _, tc := range []struct {
		alg types.ChecksumAlgorithm
		typ types.ChecksumType
	}{
		{types.ChecksumAlgorithmSha1, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmSha256, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeComposite},
		{"", types.ChecksumTypeComposite},
		{"BLAKE3", ""},
		{types.ChecksumAlgorithmXxhash3, types.ChecksumTypeFullObject},
	} {
		_, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("k"), ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ})
		WantError(t, err, "InvalidRequest", 400)
	}
	key := "mismatch"
	data := newMemData(110, 2000)
	id, done, _ := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size),
		&s3.CreateMultipartUploadInput{ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	// A part checksummed with another algorithm than the upload's.
	_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: aws.Int32(2),
		Body: strings.NewReader("abc"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	WantError(t, err, "InvalidRequest", 400)
	// A part checksum in the completion that does not match the stored part.
	bad := done[0]
	bad.ChecksumCRC32C = aws.String("AAAAAA==")
	_, err = complete(ctx, c, b, key, id, []types.CompletedPart{bad})
	WantError(t, err, "InvalidPart", 400)
	// Parts without a checksum in the completion are accepted: the stored
	// ones are used.
	plain := types.CompletedPart{PartNumber: done[0].PartNumber, ETag: done[0].ETag}
	out, err := complete(ctx, c, b, key, id, []types.CompletedPart{plain})
	if err != nil || !strings.HasSuffix(aws.ToString(out.ChecksumCRC32C), "-1") {
		t.Fatalf("complete without part checksums: %+v %v", out, err)
	}
}

// testTransferManagerFlow drives the call pattern of aws-sdk-go-v2's
// transfer manager (feature/s3/manager): CRC32 on the upload, concurrent
// UploadPart calls whose outputs become the completed parts, then a
// concurrent ranged download.
func testTransferManagerFlow(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-manager")
	const size, partSize, workers = 30 << 20, 5 << 20, 4
	data := newMemData(120, size)
	key := "big/30MiB file"
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		parts []types.CompletedPart
		first error
		wg    sync.WaitGroup
	)
	nums := make(chan int32)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range nums {
				off := int64(n-1) * partSize
				out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(n),
					Body: io.NewSectionReader(data, off, min(partSize, size-off)), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
				}
				mu.Unlock()
			}
		}()
	}
	for n := int32(1); int64(n-1)*partSize < size; n++ {
		nums <- n
	}
	close(nums)
	wg.Wait()
	if first != nil {
		t.Fatalf("upload part: %v", first)
	}
	sort.Slice(parts, func(i, j int) bool { return *parts[i].PartNumber < *parts[j].PartNumber })
	out, err := complete(ctx, c, b, key, aws.ToString(up.UploadId), parts)
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	if !strings.HasSuffix(aws.ToString(out.ETag), fmt.Sprintf(`-%d"`, len(parts))) || !strings.HasSuffix(aws.ToString(out.ChecksumCRC32), fmt.Sprintf("-%d", len(parts))) {
		t.Fatalf("complete: ETag %s, CRC32 %s", aws.ToString(out.ETag), aws.ToString(out.ChecksumCRC32))
	}
	// The downloader's pattern: concurrent ranged GETs into one buffer.
	buf := make([]byte, size)
	errc := make(chan error, size/partSize+1)
	for off := int64(0); off < size; off += partSize {
		wg.Add(1)
		go func(off int64) {
			defer wg.Done()
			g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+partSize-1))})
			if err != nil {
				errc <- err
				return
			}
			defer g.Body.Close()
			if _, err := io.ReadFull(g.Body, buf[off:off+partSize]); err != nil {
				errc <- err
			}
		}(off)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("ranged download: %v", err)
	}
	if _, sum, _ := HashReader(bytes.NewReader(buf)); sum != data.SHA256() {
		t.Fatal("downloaded bytes differ from the uploaded ones")
	}
	checkObject(ctx, t, c, b, key, data)
}

// testMultipartMinio uploads through minio-go's multipart paths (known
// length with 5 MiB parts, and unknown length), with or without trailing
// checksums, and its incomplete-upload helpers.
func testMultipartMinio(t *testing.T, tg Target, trailers bool) {
	ctx := context.Background()
	mc := tg.Minio(t, trailers)
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-minio")
	const size = 11<<20 + 3
	for _, length := range []int64{size, -1} {
		data := newMemData(130, size)
		key := fmt.Sprintf("minio/len %d", length)
		info, err := mc.PutObject(ctx, b, key, io.Reader(data), length, minio.PutObjectOptions{PartSize: 5 << 20, ContentType: "application/x-minio"})
		if err != nil {
			t.Fatalf("put (length %d): %v", length, err)
		}
		if info.Size != size || !strings.HasSuffix(info.ETag, "-3") {
			t.Fatalf("put (length %d): size %d, ETag %s", length, info.Size, info.ETag)
		}
		st, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{})
		if err != nil || st.Size != size || st.ETag != info.ETag || st.ContentType != "application/x-minio" {
			t.Fatalf("stat: %+v %v", st, err)
		}
		obj, err := mc.GetObject(ctx, b, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, sum, err := HashReader(obj)
		obj.Close()
		if err != nil || n != size || sum != data.SHA256() {
			t.Fatalf("get: %d bytes, err %v", n, err)
		}
	}
	// Incomplete uploads: list and remove through minio's helpers.
	core := minio.Core{Client: mc}
	id, err := core.NewMultipartUpload(ctx, b, "minio/incomplete", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, b, "minio/incomplete", id, 1, strings.NewReader("part"), 4, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	var found []string
	for u := range mc.ListIncompleteUploads(ctx, b, "minio/", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		found = append(found, u.Key+"@"+u.UploadID)
	}
	if len(found) != 1 || found[0] != "minio/incomplete@"+id {
		t.Fatalf("incomplete uploads: %v", found)
	}
	if err := mc.RemoveIncompleteUpload(ctx, b, "minio/incomplete"); err != nil {
		t.Fatal(err)
	}
	res, err := core.ListMultipartUploads(ctx, b, "", "", "", "", 1000)
	if err != nil || len(res.Uploads) != 0 {
		t.Fatalf("uploads after RemoveIncompleteUpload: %+v %v", res, err)
	}
}
