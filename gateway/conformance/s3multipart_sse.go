package conformance

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// sseCKey is an SSE-C key as S3 requests carry it: algorithm, base64 key
// and base64 MD5 of the key.
type sseCKey struct{ alg, key, md5 *string }

func newSSECKey(t *testing.T) sseCKey {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(raw)
	return sseCKey{aws.String("AES256"), aws.String(b64(raw)), aws.String(b64(sum[:]))}
}

// testMultipartSSEC uploads parts with a customer key: every part needs the
// upload's key, reads need it too, and part reads work on the result.
func testMultipartSSEC(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-ssec")
	k, other := newSSECKey(t), newSSECKey(t)
	key := "secret/multi"
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key,
		SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.SSECustomerAlgorithm) != "AES256" || aws.ToString(up.SSECustomerKeyMD5) != aws.ToString(k.md5) {
		t.Fatalf("create: SSE-C echo %q %q", aws.ToString(up.SSECustomerAlgorithm), aws.ToString(up.SSECustomerKeyMD5))
	}
	data := newMemData(150, MinPart+999)
	parts := splitParts(data.Size, MinPart)
	// Parts without the key, or with another key, are refused.
	for _, pk := range []sseCKey{{}, other} {
		_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(1),
			Body: strings.NewReader("x"), SSECustomerAlgorithm: pk.alg, SSECustomerKey: pk.key, SSECustomerKeyMD5: pk.md5})
		WantError(t, err, "InvalidRequest", 400)
	}
	var done []types.CompletedPart
	for i, p := range parts {
		n := int32(i + 1)
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: up.UploadId, PartNumber: &n,
			Body: io.NewSectionReader(data, p.off, p.size), SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
		if err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
		if aws.ToString(out.SSECustomerKeyMD5) != aws.ToString(k.md5) {
			t.Fatalf("part %d: key MD5 echo %q", n, aws.ToString(out.SSECustomerKeyMD5))
		}
		done = append(done, types.CompletedPart{PartNumber: &n, ETag: out.ETag})
	}
	if _, err := complete(ctx, c, b, key, aws.ToString(up.UploadId), done); err != nil {
		t.Fatalf("complete: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key})
	WantError(t, err, "InvalidRequest", 400)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, SSECustomerAlgorithm: other.alg, SSECustomerKey: other.key, SSECustomerKeyMD5: other.md5})
	WantError(t, err, "AccessDenied", 403)
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
	if err != nil {
		t.Fatal(err)
	}
	n, sum, err := HashReader(get.Body)
	get.Body.Close()
	if err != nil || n != data.Size || sum != data.SHA256() || !strings.HasSuffix(aws.ToString(get.ETag), `-2"`) {
		t.Fatalf("get with the key: %d bytes, %v, ETag %s", n, err, aws.ToString(get.ETag))
	}
	g2, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key, PartNumber: aws.Int32(2),
		SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(g2.Body)
	g2.Body.Close()
	if err != nil || !slices.Equal(body, data.Bytes(parts[1].off, parts[1].size)) {
		t.Fatalf("get part 2 with the key: %d bytes, %v", len(body), err)
	}
}

// testMultipartSSEB2 encrypts an upload at rest (SSE-B2, S3's AES256).
func testMultipartSSEB2(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-sseb2")
	key := "at-rest"
	data := newMemData(160, MinPart+1)
	id, done, _ := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size, MinPart),
		&s3.CreateMultipartUploadInput{ServerSideEncryption: types.ServerSideEncryptionAes256})
	out, err := complete(ctx, c, b, key, id, done)
	if err != nil {
		t.Fatal(err)
	}
	if out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Fatalf("complete: encryption %q", out.ServerSideEncryption)
	}
	got := checkObject(ctx, t, c, b, key, data)
	if got.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Fatalf("get: encryption %q", got.ServerSideEncryption)
	}
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key, ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	WantError(t, err, "", 501)
}
