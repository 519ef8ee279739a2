package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// Target is an S3 endpoint and the credentials of a key with every capability.
type Target struct {
	Endpoint    string // http://host:port
	AccessKeyID string
	SecretKey   string
	Region      string
}

// AWS returns an aws-sdk-go-v2 client with its default settings (checksum
// calculation WHEN_SUPPORTED, response validation on), path-style.
func (tg Target) AWS(t testing.TB) *s3.Client {
	return tg.AWSWithKeys(t, tg.AccessKeyID, tg.SecretKey)
}

// AWSWithKeys is AWS with other credentials.
func (tg Target) AWSWithKeys(t testing.TB, id, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:       tg.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(tg.Endpoint),
		UsePathStyle: true,
	})
}

// Minio returns a minio-go client; trailers selects streaming uploads with
// trailing checksums (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).
func (tg Target) Minio(t testing.TB, trailers bool) *minio.Client {
	u, err := url.Parse(tg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:           miniocreds.NewStaticV4(tg.AccessKeyID, tg.SecretKey, ""),
		Secure:          u.Scheme == "https",
		Region:          tg.Region,
		BucketLookup:    minio.BucketLookupPath,
		TrailingHeaders: trailers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var bucketSeq atomic.Int64

// BucketName returns a fresh valid bucket name.
func BucketName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, bucketSeq.Add(1))
}

// APIError returns the S3 error code and HTTP status of an aws-sdk-go-v2 error.
func APIError(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// WantError fails unless err is an S3 error with the given code and status.
func WantError(t testing.TB, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (%d), got success", code, status)
	}
	gotCode, gotStatus := APIError(err)
	if gotStatus != status || (code != "" && gotCode != code) {
		t.Fatalf("want %s (%d), got %s (%d): %v", code, status, gotCode, gotStatus, err)
	}
}

// EmptyBucket deletes every version and marker of a bucket, then the bucket.
func EmptyBucket(ctx context.Context, t testing.TB, c *s3.Client, bucket string) {
	t.Helper()
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list versions of %s: %v", bucket, err)
		}
		for _, v := range page.Versions {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: v.Key, VersionId: v.VersionId}); err != nil {
				t.Fatalf("delete %s@%s: %v", aws.ToString(v.Key), aws.ToString(v.VersionId), err)
			}
		}
		for _, m := range page.DeleteMarkers {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: m.Key, VersionId: m.VersionId}); err != nil {
				t.Fatalf("delete marker %s: %v", aws.ToString(m.Key), err)
			}
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("delete bucket %s: %v", bucket, err)
	}
}
