package conformance

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// SSEKey is an SSE-C customer key with the header values S3 wants.
type SSEKey struct {
	Raw    []byte
	Base64 string
	MD5    string
}

// NewSSEKey returns a deterministic 32-byte customer key.
func NewSSEKey(seed byte) SSEKey {
	raw := bytes.Repeat([]byte{seed}, 32)
	for i := range raw {
		raw[i] ^= byte(i * 7)
	}
	sum := md5.Sum(raw)
	return SSEKey{Raw: raw, Base64: base64.StdEncoding.EncodeToString(raw), MD5: base64.StdEncoding.EncodeToString(sum[:])}
}

func testSSEC(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "ssec")
	key, wrong := NewSSEKey(1), NewSSEKey(2)
	aes := aws.String("AES256")
	for i, size := range []int64{0, 1, 100<<10 + 7, 5<<20 + 1} {
		name := fmt.Sprintf("ssec-%d", size)
		data := NewData(uint64(300+i), size)
		p, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &name, Body: data, ContentLength: aws.Int64(size),
			SSECustomerAlgorithm: aes, SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &key.MD5})
		if err != nil {
			t.Fatalf("put %d: %v", size, err)
		}
		if aws.ToString(p.SSECustomerAlgorithm) != "AES256" || aws.ToString(p.SSECustomerKeyMD5) != key.MD5 {
			t.Fatalf("put %d: SSE-C echo %q %q", size, aws.ToString(p.SSECustomerAlgorithm), aws.ToString(p.SSECustomerKeyMD5))
		}
		if size > 0 && aws.ToString(p.ETag) == `"`+MD5Hex(data.Bytes(0, size))+`"` {
			t.Fatalf("put %d: an SSE-C ETag must not be the plaintext MD5", size)
		}
		get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &name, SSECustomerAlgorithm: aes, SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &key.MD5})
		if err != nil {
			t.Fatalf("get %d: %v", size, err)
		}
		n, sum, err := HashReader(get.Body)
		get.Body.Close()
		if err != nil || n != size || sum != data.SHA256() {
			t.Fatalf("get %d: %d bytes, match %v, %v", size, n, sum == data.SHA256(), err)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &name, SSECustomerAlgorithm: aes, SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &key.MD5})
		if err != nil || aws.ToInt64(head.ContentLength) != size || aws.ToString(head.SSECustomerKeyMD5) != key.MD5 {
			t.Fatalf("head %d: %+v %v", size, head, err)
		}
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &name})
		WantError(t, err, "InvalidRequest", 400)
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &name})
		WantError(t, err, "", 400)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &name, SSECustomerAlgorithm: aes, SSECustomerKey: &wrong.Base64, SSECustomerKeyMD5: &wrong.MD5})
		WantError(t, err, "AccessDenied", 403)
	}
	// Ranges decrypt only what they touch, across package boundaries.
	name := "ssec-5242881"
	data := NewData(303, 5<<20+1)
	for _, rg := range [][2]int64{{0, 0}, {65535, 65536}, {65536, 65536 + 10}, {100, 300000}, {5 << 20, 5 << 20}, {1 << 20, 5<<20 + 0}} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &name, Range: aws.String(fmt.Sprintf("bytes=%d-%d", rg[0], rg[1])),
			SSECustomerAlgorithm: aes, SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &key.MD5})
		if err != nil {
			t.Fatalf("range %v: %v", rg, err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, data.Bytes(rg[0], rg[1]-rg[0]+1)) {
			t.Fatalf("range %v: %d bytes, %v", rg, len(got), err)
		}
	}
	// Key header errors.
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("bad-md5"), Body: strings.NewReader("x"),
		SSECustomerAlgorithm: aes, SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &wrong.MD5})
	WantError(t, err, "InvalidArgument", 400)
	short := base64.StdEncoding.EncodeToString(key.Raw[:16])
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("short-key"), Body: strings.NewReader("x"),
		SSECustomerAlgorithm: aes, SSECustomerKey: &short})
	WantError(t, err, "InvalidArgument", 400)
	put(t, c, b, "plain", "plain")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("plain"), SSECustomerAlgorithm: aes, SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &key.MD5})
	WantError(t, err, "InvalidRequest", 400)

	// Copy: the source key decrypts, the destination's encrypts.
	src := CopySource(b, "ssec-102407", "")
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy-plain"), CopySource: &src})
	WantError(t, err, "InvalidRequest", 400)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy-plain"), CopySource: &src,
		CopySourceSSECustomerAlgorithm: aes, CopySourceSSECustomerKey: &wrong.Base64, CopySourceSSECustomerKeyMD5: &wrong.MD5})
	WantError(t, err, "AccessDenied", 403)
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy-plain"), CopySource: &src,
		CopySourceSSECustomerAlgorithm: aes, CopySourceSSECustomerKey: &key.Base64, CopySourceSSECustomerKeyMD5: &key.MD5}); err != nil {
		t.Fatalf("copy to plain: %v", err)
	}
	small := NewData(302, 100<<10+7)
	if _, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("copy-plain")}); !bytes.Equal(body, small.Bytes(0, small.Size)) {
		t.Fatal("copy to plain: wrong bytes")
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy-rekeyed"), CopySource: &src,
		CopySourceSSECustomerAlgorithm: aes, CopySourceSSECustomerKey: &key.Base64, CopySourceSSECustomerKeyMD5: &key.MD5,
		SSECustomerAlgorithm: aes, SSECustomerKey: &wrong.Base64, SSECustomerKeyMD5: &wrong.MD5}); err != nil {
		t.Fatalf("copy with a new key: %v", err)
	}
	if _, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("copy-rekeyed"),
		SSECustomerAlgorithm: aes, SSECustomerKey: &wrong.Base64, SSECustomerKeyMD5: &wrong.MD5}); !bytes.Equal(body, small.Bytes(0, small.Size)) {
		t.Fatal("copy with a new key: wrong bytes")
	}

	// minio-go's SSE-C.
	mc := tg.Minio(t, false)
	sse, err := encrypt.NewSSEC(key.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(ctx, b, "minio-ssec", strings.NewReader("minio secret"), 12, minio.PutObjectOptions{ServerSideEncryption: sse}); err != nil {
		t.Fatalf("minio SSE-C put: %v", err)
	}
	obj, err := mc.GetObject(ctx, b, "minio-ssec", minio.GetObjectOptions{ServerSideEncryption: sse})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || string(got) != "minio secret" {
		t.Fatalf("minio SSE-C get: %q %v", got, err)
	}
}

func testSSEB2(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "sseb2")
	for i, size := range []int64{0, 1, 200<<10 + 3, 5<<20 + 1} {
		name := fmt.Sprintf("sse-%d", size)
		data := NewData(uint64(400+i), size)
		p, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &name, Body: data, ContentLength: aws.Int64(size),
			ServerSideEncryption: types.ServerSideEncryptionAes256})
		if err != nil {
			t.Fatalf("put %d: %v", size, err)
		}
		// SSE-B2 (as SSE-S3) keeps the plaintext MD5 as ETag.
		if p.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToString(p.ETag) != `"`+MD5Hex(data.Bytes(0, size))+`"` {
			t.Fatalf("put %d: SSE %q ETag %s", size, p.ServerSideEncryption, aws.ToString(p.ETag))
		}
		get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &name})
		if err != nil {
			t.Fatalf("get %d: %v", size, err)
		}
		n, sum, err := HashReader(get.Body)
		get.Body.Close()
		if err != nil || n != size || sum != data.SHA256() || get.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Fatalf("get %d: %d bytes, match %v, SSE %q, %v", size, n, sum == data.SHA256(), get.ServerSideEncryption, err)
		}
	}
	data := NewData(403, 5<<20+1)
	for _, rg := range [][2]int64{{0, 10}, {65530, 65545}, {3 << 20, 5 << 20}} {
		_, got := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("sse-5242881"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]))})
		if !bytes.Equal(got, data.Bytes(rg[0], rg[1]-rg[0]+1)) {
			t.Fatalf("range %v: wrong bytes", rg)
		}
	}
	// Copies of SSE-B2 objects read decrypted bytes and may re-encrypt.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("sse-copy"), CopySource: aws.String(CopySource(b, "sse-5242881", "")),
		ServerSideEncryption: types.ServerSideEncryptionAes256}); err != nil {
		t.Fatal(err)
	}
	out, got := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("sse-copy")})
	if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || !bytes.Equal(got, data.Bytes(0, data.Size)) {
		t.Fatal("copy of an SSE-B2 object: wrong bytes or not encrypted")
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("kms"), Body: strings.NewReader("x"), ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	WantError(t, err, "NotImplemented", 501)
	k3 := NewSSEKey(3)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("both"), Body: strings.NewReader("x"), ServerSideEncryption: types.ServerSideEncryptionAes256,
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &k3.Base64, SSECustomerKeyMD5: &k3.MD5})
	WantError(t, err, "InvalidArgument", 400)
	// minio-go's SSE-S3.
	mc := tg.Minio(t, true)
	if _, err := mc.PutObject(ctx, b, "minio-sse", strings.NewReader("minio sse"), 9, minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
		t.Fatalf("minio SSE-S3 put: %v", err)
	}
	st, err := mc.StatObject(ctx, b, "minio-sse", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" {
		t.Fatalf("minio stat: %+v %v", st.Metadata, err)
	}
}
