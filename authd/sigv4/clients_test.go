package sigv4

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Responder answers just enough of S3 for real clients to be satisfied;
// every request has already been verified by the server.
func s3Responder(w http.ResponseWriter, r *http.Request, body []byte) {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut:
		sum := md5.Sum(body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodHead:
		w.Header().Set("Content-Length", "5")
		w.Header().Set("ETag", `"5d41402abc4b2a76b9719d911017c592"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodGet && q.Has("list-type"):
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>%s</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`,
			xmlEscape(q.Get("prefix")))
	case r.Method == http.MethodGet:
		w.Header().Set("Content-Length", "5")
		w.Header().Set("ETag", `"5d41402abc4b2a76b9719d911017c592"`)
		_, _ = w.Write([]byte("hello"))
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// expectAllVerified fails unless the server verified every request it saw.
func expectAllVerified(t *testing.T, srv *verifyServer, min int) []*Request {
	t.Helper()
	seen, es := srv.results()
	if len(seen) < min {
		t.Fatalf("server saw %d requests, want at least %d", len(seen), min)
	}
	for i, err := range es {
		if err != nil {
			t.Errorf("%s %s?%s: %v", seen[i].Method, seen[i].RawPath, seen[i].RawQuery, err)
		}
	}
	return seen
}

// The real aws-sdk-go-v2 S3 client, with its default checksum behaviour:
// over plain HTTP it signs the body's SHA-256; over TLS it sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies with a CRC32 trailer.
func TestAWSS3Client(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) { testAWSS3Client(t, tls) })
	}
}

func testAWSS3Client(t *testing.T, tls bool) {
	srv := startVerifyServer(t, tls, s3Responder)
	client := s3.New(s3.Options{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		HTTPClient:   srv.Client(),

		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	})
	presign := s3.NewPresignClient(client)
	ctx := context.Background()
	modes := map[string]bool{}
	for _, key := range diffKeys {
		body := []byte("payload for " + key)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("bucket"), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentType: aws.String("text/plain"), Metadata: map[string]string{"note": "a  b"},
		}); err != nil {
			t.Fatalf("PutObject %q: %v", key, err)
		}
		// A non-seekable body: over TLS the SDK streams it aws-chunked with a trailer.
		if !tls {
			continue
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("bucket"), Key: aws.String(key), Body: struct{ io.Reader }{bytes.NewReader(body)},
			ContentLength: aws.Int64(int64(len(body))),
		}); err != nil {
			t.Fatalf("PutObject (stream) %q: %v", key, err)
		}
	}
	for _, key := range diffKeys {
		if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)}); err != nil {
			t.Fatalf("HeadObject %q: %v", key, err)
		}
		if _, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bucket"), Prefix: aws.String(key), Delimiter: aws.String("/")}); err != nil {
			t.Fatalf("ListObjectsV2 %q: %v", key, err)
		}
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)}); err != nil {
			t.Fatalf("DeleteObject %q: %v", key, err)
		}
		p, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{
			Bucket: aws.String("bucket"), Key: aws.String(key), ResponseContentDisposition: aws.String(`attachment; filename="x y.txt"`),
		}, s3.WithPresignExpires(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Get(p.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, r := range expectAllVerified(t, srv, 4) {
			if v := r.Header.Get("X-Amz-Content-Sha256"); isLowerHex(v, 64) {
				modes["<sha256>"] = true
			} else if v != "" {
				modes[v] = true
			}
		}
	}
	t.Logf("payload modes seen: %v", modes)
	if tls && !modes[StreamingUnsignedPayloadTrailer] {
		t.Errorf("expected the SDK to use %s over TLS", StreamingUnsignedPayloadTrailer)
	}
}

// The real minio-go client (streaming signatures over plain HTTP).
func TestMinioClient(t *testing.T) {
	srv := newVerifyServer(t, s3Responder)
	client, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{
		Creds:        miniocreds.NewStaticV4(testKeyID, testSecret, ""),
		Secure:       false,
		Region:       testRegion,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range diffKeys {
		body := bytes.Repeat([]byte(key), 1000)
		if _, err := client.PutObject(ctx, "bucket", key, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ContentType: "text/plain", UserMetadata: map[string]string{"note": "x"}}); err != nil {
			t.Fatalf("PutObject %q: %v", key, err)
		}
		if _, err := client.StatObject(ctx, "bucket", key, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("StatObject %q: %v", key, err)
		}
		for obj := range client.ListObjects(ctx, "bucket", minio.ListObjectsOptions{Prefix: key}) {
			if obj.Err != nil {
				t.Fatalf("ListObjects %q: %v", key, obj.Err)
			}
		}
		u, err := client.PresignedGetObject(ctx, "bucket", key, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		expectAllVerified(t, srv, 4)
	}
}
