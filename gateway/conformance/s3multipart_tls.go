package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// S3MultipartTLS runs multipart uploads over HTTPS, where aws-sdk-go-v2's
// defaults switch to aws-chunked bodies with unsigned payloads and trailing
// checksums (STREAMING-UNSIGNED-PAYLOAD-TRAILER) — what the SDK sends to
// every real endpoint. tg.Endpoint is https; client trusts its certificate.
func S3MultipartTLS(t *testing.T, tg Target, client *http.Client) {
	ctx := context.Background()
	c := s3.New(s3.Options{
		Region: tg.Region, Credentials: credentials.NewStaticCredentialsProvider(tg.AccessKeyID, tg.SecretKey, ""),
		BaseEndpoint: aws.String(tg.Endpoint), UsePathStyle: true, HTTPClient: client,
	})
	b := mpBucket(t, c, "mp-tls")
	for _, alg := range []types.ChecksumAlgorithm{"", types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha256} {
		key := fmt.Sprintf("tls/%s", alg)
		data := newMemData(200, MinPart+4321)
		id, done, md5s := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size, MinPart), &s3.CreateMultipartUploadInput{ChecksumAlgorithm: alg})
		out, err := complete(ctx, c, b, key, id, done)
		if err != nil {
			t.Fatalf("%s: complete: %v", key, err)
		}
		if aws.ToString(out.ETag) != MultipartETag(md5s) {
			t.Fatalf("%s: ETag %s", key, aws.ToString(out.ETag))
		}
		checkObject(ctx, t, c, b, key, data)
	}
	// A single PutObject takes the same trailer path.
	data := newMemData(201, 300_000)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("tls/put"), Body: data}); err != nil {
		t.Fatalf("put: %v", err)
	}
	checkObject(ctx, t, c, b, "tls/put", data)
	// minio-go over TLS with trailing checksums (its default multipart path).
	u, err := url.Parse(tg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(u.Host, &minio.Options{
		Creds: miniocreds.NewStaticV4(tg.AccessKeyID, tg.SecretKey, ""), Secure: true, Region: tg.Region,
		BucketLookup: minio.BucketLookupPath, TrailingHeaders: true, Transport: client.Transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	big := newMemData(202, 11<<20)
	info, err := mc.PutObject(ctx, b, "tls/minio", big, big.Size, minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil || !strings.HasSuffix(info.ETag, "-3") {
		t.Fatalf("minio multipart over TLS: %+v %v", info, err)
	}
	checkObject(ctx, t, c, b, "tls/minio", big)
}
