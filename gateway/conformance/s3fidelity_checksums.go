package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// allAlgorithms is S3's whole checksum set, with minio-go's name for each.
var allAlgorithms = []struct {
	alg   types.ChecksumAlgorithm
	minio minio.ChecksumType
}{
	{types.ChecksumAlgorithmCrc32, minio.ChecksumCRC32},
	{types.ChecksumAlgorithmCrc32c, minio.ChecksumCRC32C},
	{types.ChecksumAlgorithmCrc64nvme, minio.ChecksumCRC64NVME},
	{types.ChecksumAlgorithmSha1, minio.ChecksumSHA1},
	{types.ChecksumAlgorithmSha256, minio.ChecksumSHA256},
	{types.ChecksumAlgorithmMd5, minio.ChecksumMD5},
	{types.ChecksumAlgorithmSha512, minio.ChecksumSHA512},
	{types.ChecksumAlgorithmXxhash64, minio.ChecksumXXHash64},
	{types.ChecksumAlgorithmXxhash3, minio.ChecksumXXHash3},
	{types.ChecksumAlgorithmXxhash128, minio.ChecksumXXHash128},
}

// headerName is the x-amz-checksum-* header of alg.
func headerName(alg types.ChecksumAlgorithm) string {
	return "x-amz-checksum-" + strings.ToLower(string(alg))
}

// wrongSum is a well-formed value of alg that is not the body's.
func wrongSum(alg types.ChecksumAlgorithm) string {
	return b64(make([]byte, len(rawSum(alg, nil))))
}

// minioChecksum picks alg's value among minio-go's checksum fields.
func minioChecksum(alg types.ChecksumAlgorithm, crc32, crc32c, crc64, sha1, sha256, md5, sha512, xx64, xx3, xx128 string) string {
	return map[types.ChecksumAlgorithm]string{
		types.ChecksumAlgorithmCrc32: crc32, types.ChecksumAlgorithmCrc32c: crc32c, types.ChecksumAlgorithmCrc64nvme: crc64,
		types.ChecksumAlgorithmSha1: sha1, types.ChecksumAlgorithmSha256: sha256, types.ChecksumAlgorithmMd5: md5,
		types.ChecksumAlgorithmSha512: sha512, types.ChecksumAlgorithmXxhash64: xx64, types.ChecksumAlgorithmXxhash3: xx3,
		types.ChecksumAlgorithmXxhash128: xx128,
	}[alg]
}

// setAWSChecksum sets alg's field among an SDK struct's checksum fields,
// given in allAlgorithms' order (as awsChecksum reads them).
func setAWSChecksum(alg types.ChecksumAlgorithm, v string, fields ...**string) {
	for i, a := range allAlgorithms {
		if a.alg == alg {
			*fields[i] = &v
			return
		}
	}
	panic("conformance: no field for checksum algorithm " + string(alg))
}

// awsChecksum picks alg's value among aws-sdk-go-v2's checksum fields
// (in the order CRC32, CRC32C, CRC64NVME, SHA1, SHA256, MD5, SHA512,
// XXHASH64, XXHASH3, XXHASH128).
func awsChecksum(alg types.ChecksumAlgorithm, vs ...*string) string {
	for i, a := range allAlgorithms {
		if a.alg == alg {
			return aws.ToString(vs[i])
		}
	}
	return ""
}

// testFidelityChecksumsMinio: minio-go v7.4 sends every algorithm, as a
// header or (TrailingHeaders) as an aws-chunked trailer; a right value is
// stored and reported back on the PUT response and on HEAD, a wrong one is
// BadDigest and nothing is stored.
func testFidelityChecksumsMinio(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-sums-minio")
	mc := tg.Minio(t, true)
	body := NewData(31, 200_000).Bytes(0, 200_000)
	for _, a := range allAlgorithms {
		want := b64(rawSum(a.alg, body))
		for _, mode := range []string{"header", "trailer"} {
			key := fmt.Sprintf("%s-%s", a.alg, mode)
			opts := minio.PutObjectOptions{}
			if mode == "header" {
				opts.UserMetadata = map[string]string{headerName(a.alg): want}
			} else {
				opts.Checksum = a.minio
			}
			info, err := mc.PutObject(ctx, b, key, bytes.NewReader(body), int64(len(body)), opts)
			if err != nil {
				t.Fatalf("%s: PutObject: %v", key, err)
			}
			if got := minioChecksum(a.alg, info.ChecksumCRC32, info.ChecksumCRC32C, info.ChecksumCRC64NVME, info.ChecksumSHA1, info.ChecksumSHA256,
				info.ChecksumMD5, info.ChecksumSHA512, info.ChecksumXXHash64, info.ChecksumXXHash3, info.ChecksumXXHash128); got != want {
				t.Fatalf("%s: PUT response checksum %q, want %q", key, got, want)
			}
			st, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{Checksum: true})
			if err != nil {
				t.Fatalf("%s: StatObject: %v", key, err)
			}
			if got := minioChecksum(a.alg, st.ChecksumCRC32, st.ChecksumCRC32C, st.ChecksumCRC64NVME, st.ChecksumSHA1, st.ChecksumSHA256,
				st.ChecksumMD5, st.ChecksumSHA512, st.ChecksumXXHash64, st.ChecksumXXHash3, st.ChecksumXXHash128); got != want {
				t.Fatalf("%s: HEAD checksum %q, want %q", key, got, want)
			}
		}
		// A wrong value in the header (what minio-go's functional tests
		// send) is refused.
		key := string(a.alg) + "-wrong"
		_, err := mc.PutObject(ctx, b, key, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{UserMetadata: map[string]string{headerName(a.alg): wrongSum(a.alg)}})
		if code := minio.ToErrorResponse(err).Code; code != "BadDigest" {
			t.Fatalf("%s: wrong header checksum: %v", key, err)
		}
		// A wrong value in the trailer too.
		raw := putTrailer(t, tg, "/"+b+"/"+key, body, headerName(a.alg), wrongSum(a.alg))
		if raw.Status != 400 || raw.Code() != "BadDigest" {
			t.Fatalf("%s: wrong trailer checksum: %d %s", key, raw.Status, raw.Body)
		}
		if _, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{}); minio.ToErrorResponse(err).StatusCode != 404 {
			t.Fatalf("%s: stored despite a wrong checksum: %v", key, err)
		}
		// And the right one in a raw trailer is stored.
		raw = putTrailer(t, tg, "/"+b+"/"+string(a.alg)+"-rawtrailer", body, headerName(a.alg), want)
		if raw.Status != 200 || raw.Header.Get(headerName(a.alg)) != want {
			t.Fatalf("%s: raw trailer: %d %v %s", a.alg, raw.Status, raw.Header, raw.Body)
		}
	}
	// minio-go's own default: a trailing CRC32C (sent over plain HTTP when
	// the payload hash is off), single-part and multipart.
	for _, size := range []int{len(body), 5<<20 + 1000} {
		data := NewData(34, int64(size)).Bytes(0, int64(size))
		key := fmt.Sprintf("default-%d", size)
		info, err := mc.PutObject(ctx, b, key, bytes.NewReader(data), int64(size),
			minio.PutObjectOptions{DisableContentSha256: true, PartSize: 5 << 20})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		st, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{Checksum: true})
		if err != nil {
			t.Fatalf("%s: StatObject: %v", key, err)
		}
		if info.ChecksumCRC32C == "" || st.ChecksumCRC32C != info.ChecksumCRC32C {
			t.Fatalf("%s: PUT answered CRC32C %q, HEAD %q", key, info.ChecksumCRC32C, st.ChecksumCRC32C)
		}
		if size == len(body) && st.ChecksumCRC32C != b64(rawSum(types.ChecksumAlgorithmCrc32c, data)) {
			t.Fatalf("%s: CRC32C %q is not the body's", key, st.ChecksumCRC32C)
		}
	}
	// An x-amz-checksum-* header we do not know is refused, never ignored.
	raw := tg.Signed(t, http.MethodPut, "/"+b+"/unknown", body, http.Header{"X-Amz-Checksum-Blake3": {b64(make([]byte, 32))}})
	if raw.Status != 400 || raw.Code() != "InvalidRequest" {
		t.Fatalf("unknown checksum header: %d %s", raw.Status, raw.Body)
	}
	raw = putTrailer(t, tg, "/"+b+"/unknown-trailer", body, "x-amz-checksum-blake3", b64(make([]byte, 32)))
	if raw.Status != 400 || raw.Code() != "InvalidRequest" {
		t.Fatalf("unknown checksum trailer: %d %s", raw.Status, raw.Body)
	}
}

// putTrailer PUTs body as an unsigned aws-chunked payload whose trailer
// carries name: value.
func putTrailer(t *testing.T, tg Target, path string, body []byte, name, value string) Raw {
	t.Helper()
	var wire bytes.Buffer
	fmt.Fprintf(&wire, "%x\r\n", len(body))
	wire.Write(body)
	fmt.Fprintf(&wire, "\r\n0\r\n%s:%s\r\n\r\n", name, value)
	return tg.Signed(t, http.MethodPut, path, wire.Bytes(), http.Header{
		"X-Amz-Content-Sha256":         {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Decoded-Content-Length": {strconv.Itoa(len(body))},
		"X-Amz-Trailer":                {name},
	})
}

// testFidelityChecksumsAWS: aws-sdk-go-v2 with every algorithm on PutObject
// (the SDK computes what it can and sends x-amz-sdk-checksum-algorithm; the
// others are given as values), and every algorithm × type combination on
// CreateMultipartUpload: the ones S3 accepts work end to end with the
// object checksum S3 would compute, the rest are refused as S3 refuses them.
func testFidelityChecksumsAWS(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-sums-aws")
	body := NewData(32, 100_000).Bytes(0, 100_000)
	for _, a := range allAlgorithms {
		want := b64(rawSum(a.alg, body))
		in := &s3.PutObjectInput{Bucket: &b, Key: aws.String("put-" + string(a.alg)), Body: bytes.NewReader(body), ChecksumAlgorithm: a.alg}
		setPutChecksum(in, a.alg, want)
		out, err := c.PutObject(ctx, in)
		if err != nil {
			t.Fatalf("PutObject %s: %v", a.alg, err)
		}
		got := awsChecksum(a.alg, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256,
			out.ChecksumMD5, out.ChecksumSHA512, out.ChecksumXXHASH64, out.ChecksumXXHASH3, out.ChecksumXXHASH128)
		if got != want || out.ChecksumType != types.ChecksumTypeFullObject {
			t.Fatalf("PutObject %s: checksum %q type %q, want %q FULL_OBJECT", a.alg, got, out.ChecksumType, want)
		}
		// Copy computes the algorithm it is asked for.
		cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy-" + string(a.alg)),
			CopySource: aws.String(CopySource(b, "put-"+string(allAlgorithms[0].alg), "")), ChecksumAlgorithm: a.alg})
		if err != nil {
			t.Fatalf("CopyObject %s: %v", a.alg, err)
		}
		r := cp.CopyObjectResult
		if got := awsChecksum(a.alg, r.ChecksumCRC32, r.ChecksumCRC32C, r.ChecksumCRC64NVME, r.ChecksumSHA1, r.ChecksumSHA256,
			r.ChecksumMD5, r.ChecksumSHA512, r.ChecksumXXHASH64, r.ChecksumXXHASH3, r.ChecksumXXHASH128); got != want {
			t.Fatalf("CopyObject %s: checksum %q, want %q", a.alg, got, want)
		}
	}
	for _, a := range allAlgorithms {
		for _, typ := range []types.ChecksumType{"", types.ChecksumTypeComposite, types.ChecksumTypeFullObject} {
			t.Run(fmt.Sprintf("%s-%s", a.alg, typ), func(t *testing.T) { multipartCombination(t, c, b, a.alg, typ) })
		}
	}
}

// setPutChecksum gives the SDK the value of the algorithms it cannot
// compute itself.
func setPutChecksum(in *s3.PutObjectInput, alg types.ChecksumAlgorithm, v string) {
	switch alg {
	case types.ChecksumAlgorithmMd5:
		in.ChecksumMD5 = &v
	case types.ChecksumAlgorithmXxhash64:
		in.ChecksumXXHASH64 = &v
	case types.ChecksumAlgorithmXxhash3:
		in.ChecksumXXHASH3 = &v
	case types.ChecksumAlgorithmXxhash128:
		in.ChecksumXXHASH128 = &v
	}
}

// s3Allows reports whether S3 accepts an upload of alg with type typ:
// FULL_OBJECT for the CRCs only, COMPOSITE for everything but CRC64NVME.
func s3Allows(alg types.ChecksumAlgorithm, typ types.ChecksumType) bool {
	crc := alg == types.ChecksumAlgorithmCrc32 || alg == types.ChecksumAlgorithmCrc32c || alg == types.ChecksumAlgorithmCrc64nvme
	switch typ {
	case types.ChecksumTypeFullObject:
		return crc
	case types.ChecksumTypeComposite:
		return alg != types.ChecksumAlgorithmCrc64nvme
	}
	return true
}

func multipartCombination(t *testing.T, c *s3.Client, b string, alg types.ChecksumAlgorithm, typ types.ChecksumType) {
	ctx := context.Background()
	key := fmt.Sprintf("mp-%s-%s", alg, typ)
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key, ChecksumAlgorithm: alg, ChecksumType: typ})
	if !s3Allows(alg, typ) {
		WantError(t, err, "InvalidRequest", 400)
		return
	}
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	if typ == "" {
		typ = types.ChecksumTypeComposite
		if alg == types.ChecksumAlgorithmCrc64nvme {
			typ = types.ChecksumTypeFullObject
		}
	}
	if up.ChecksumAlgorithm != alg || up.ChecksumType != typ {
		t.Fatalf("CreateMultipartUpload answers %q %q, want %q %q", up.ChecksumAlgorithm, up.ChecksumType, alg, typ)
	}
	data := NewData(33, MinPart+1000)
	parts := [][]byte{data.Bytes(0, MinPart), data.Bytes(MinPart, 1000)}
	var done []types.CompletedPart
	var raws [][]byte
	// A part whose checksum does not match its bytes is BadDigest.
	bad := &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(parts[0]), ChecksumAlgorithm: alg}
	setPartChecksumAlways(bad, alg, wrongSum(alg))
	_, err = c.UploadPart(ctx, bad)
	WantError(t, err, "BadDigest", 400)
	for i, p := range parts {
		sum := rawSum(alg, p)
		raws = append(raws, sum)
		in := &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(int32(i + 1)),
			Body: bytes.NewReader(p), ChecksumAlgorithm: alg}
		setPartChecksum(in, alg, b64(sum))
		out, err := c.UploadPart(ctx, in)
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		got := awsChecksum(alg, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256,
			out.ChecksumMD5, out.ChecksumSHA512, out.ChecksumXXHASH64, out.ChecksumXXHASH3, out.ChecksumXXHASH128)
		if got != b64(sum) {
			t.Fatalf("UploadPart %d: checksum %q, want %q", i+1, got, b64(sum))
		}
		cp := types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag}
		setCompletedChecksum(&cp, alg, b64(sum))
		done = append(done, cp)
	}
	want := b64(rawSum(alg, data.Bytes(0, data.Size)))
	if typ == types.ChecksumTypeComposite {
		want = b64(rawSum(alg, bytes.Join(raws, nil))) + "-2"
	}
	// An object checksum announced on completion that differs is BadDigest,
	// and the upload stays.
	wrong := wrongSum(alg)
	if typ == types.ChecksumTypeComposite {
		wrong += "-2"
	}
	in := &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: up.UploadId, ChecksumType: typ,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}
	setCompleteChecksum(in, alg, wrong)
	_, err = c.CompleteMultipartUpload(ctx, in)
	WantError(t, err, "BadDigest", 400)
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	got := awsChecksum(alg, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256,
		out.ChecksumMD5, out.ChecksumSHA512, out.ChecksumXXHASH64, out.ChecksumXXHASH3, out.ChecksumXXHASH128)
	if got != want || out.ChecksumType != typ {
		t.Fatalf("CompleteMultipartUpload: checksum %q %q, want %q %q", got, out.ChecksumType, want, typ)
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if got := awsChecksum(alg, h.ChecksumCRC32, h.ChecksumCRC32C, h.ChecksumCRC64NVME, h.ChecksumSHA1, h.ChecksumSHA256,
		h.ChecksumMD5, h.ChecksumSHA512, h.ChecksumXXHASH64, h.ChecksumXXHASH3, h.ChecksumXXHASH128); got != want || h.ChecksumType != typ {
		t.Fatalf("HEAD: checksum %q %q, want %q %q", got, h.ChecksumType, want, typ)
	}
}

func setPartChecksum(in *s3.UploadPartInput, alg types.ChecksumAlgorithm, v string) {
	switch alg {
	case types.ChecksumAlgorithmMd5:
		in.ChecksumMD5 = &v
	case types.ChecksumAlgorithmXxhash64:
		in.ChecksumXXHASH64 = &v
	case types.ChecksumAlgorithmXxhash3:
		in.ChecksumXXHASH3 = &v
	case types.ChecksumAlgorithmXxhash128:
		in.ChecksumXXHASH128 = &v
	}
}

func setCompletedChecksum(p *types.CompletedPart, alg types.ChecksumAlgorithm, v string) {
	setAWSChecksum(alg, v, &p.ChecksumCRC32, &p.ChecksumCRC32C, &p.ChecksumCRC64NVME, &p.ChecksumSHA1, &p.ChecksumSHA256,
		&p.ChecksumMD5, &p.ChecksumSHA512, &p.ChecksumXXHASH64, &p.ChecksumXXHASH3, &p.ChecksumXXHASH128)
}

// setPartChecksumAlways sets alg's value on an UploadPart, whatever the
// algorithm (the SDK then sends it instead of computing one).
func setPartChecksumAlways(in *s3.UploadPartInput, alg types.ChecksumAlgorithm, v string) {
	setAWSChecksum(alg, v, &in.ChecksumCRC32, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, &in.ChecksumSHA1, &in.ChecksumSHA256,
		&in.ChecksumMD5, &in.ChecksumSHA512, &in.ChecksumXXHASH64, &in.ChecksumXXHASH3, &in.ChecksumXXHASH128)
}

// setCompleteChecksum announces alg's object checksum on a completion.
func setCompleteChecksum(in *s3.CompleteMultipartUploadInput, alg types.ChecksumAlgorithm, v string) {
	setAWSChecksum(alg, v, &in.ChecksumCRC32, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, &in.ChecksumSHA1, &in.ChecksumSHA256,
		&in.ChecksumMD5, &in.ChecksumSHA512, &in.ChecksumXXHASH64, &in.ChecksumXXHASH3, &in.ChecksumXXHASH128)
}
