package conformance

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/runtime"
)

// TestS3Cluster runs the checks that need the cluster itself, not just an
// endpoint: keys made through authd, and the bytes on disk.
func TestS3Cluster(t *testing.T) {
	c := clustertest.Start(t)
	tg := Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	auth := authv1.NewAuthServiceClient(cc)
	meta := metadatav1.NewMetadataServiceClient(cc)
	t.Run("Authorization", func(t *testing.T) {
		S3Authorization(t, tg, func(t testing.TB, caps []string, bucket, prefix string) (string, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req := &authv1.CreateKeyRequest{Name: "conformance", Capabilities: caps, NamePrefix: prefix}
			if bucket != "" {
				b, err := meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: bucket}})
				if err != nil {
					t.Fatal(err)
				}
				req.BucketIds = []string{b.GetBucket().GetBucketId()}
			}
			req.AccountToken = c.AccountToken()
			resp, err := auth.CreateKey(ctx, req)
			if err != nil {
				t.Fatalf("create key %v: %v", caps, err)
			}
			return resp.GetKey().GetKeyId(), resp.GetSecret()
		})
	})
	t.Run("EncryptionAtRest", func(t *testing.T) { testEncryptionAtRest(t, tg, c.Dir, auth, meta) })
}

// scanFiles reports which needles occur in any file under dir.
func scanFiles(t *testing.T, dir string, needles map[string][]byte) map[string]bool {
	t.Helper()
	found := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // files may vanish under us (temp files, compaction)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for name, n := range needles {
			if bytes.Contains(b, n) {
				found[name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// testEncryptionAtRest writes recognisable plaintext with SSE-B2, SSE-C and
// no encryption, then reads every file of the cluster's data directory:
// the encrypted plaintext appears nowhere, the unencrypted does (so the
// scan is real), and the SSE-B2 data key — recovered through authd from
// the wrapped form in the blob header — appears in no file either, so
// neither metadata (Raft log, snapshots, bolt) nor blobstore keeps it
// unwrapped.
func testEncryptionAtRest(t *testing.T, tg Target, dir string, auth authv1.AuthServiceClient, meta metadatav1.MetadataServiceClient) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "atrest")
	marker := func(s string) string { return strings.Repeat("<"+s+"-plaintext-marker>", 20000) } // ~600 KB: several packages
	plain, sseB2, sseC := marker("plain"), marker("sse-b2"), marker("sse-c")
	key := NewSSEKey(9)
	put(t, c, b, "plain", plain)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("b2"), Body: strings.NewReader(sseB2),
		ServerSideEncryption: types.ServerSideEncryptionAes256}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("c"), Body: strings.NewReader(sseC),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &key.MD5}); err != nil {
		t.Fatal(err)
	}
	// Small objects are kept in metadata (inline): SSE ones sealed there
	// too, so their plaintext is in no Raft log, snapshot or bolt file.
	small := func(s string) string { return strings.Repeat("<"+s+"-inline-marker>", 100) } // ~2.5 KB
	put(t, c, b, "inline-plain", small("plain"))
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("inline-b2"), Body: strings.NewReader(small("sse-b2")),
		ServerSideEncryption: types.ServerSideEncryptionAes256}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("inline-c"), Body: strings.NewReader(small("sse-c")),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &key.MD5}); err != nil {
		t.Fatal(err)
	}
	// The SSE-B2 blob's header holds the wrapped data key; authd unwraps it.
	bk, err := meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: b}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := meta.GetObject(ctx, &metadatav1.GetObjectRequest{BucketId: bk.GetBucket().GetBucketId(), Key: "b2"})
	if err != nil {
		t.Fatal(err)
	}
	if v.GetVersion().GetEncryption().GetMode() != metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 {
		t.Fatalf("stored encryption %v", v.GetVersion().GetEncryption())
	}
	blobID := v.GetVersion().GetSegments()[0].GetPlacement().GetBlobId()
	var header []byte
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == blobID {
			if f, err := os.ReadFile(path); err == nil && len(f) >= 64+128 {
				header = f[64 : 64+128] // after the disk store's 64-byte file header
			}
		}
		return nil
	})
	if len(header) == 0 || string(header[:4]) != "CFSE" {
		t.Fatalf("no encrypted blob header for blob %s", blobID)
	}
	n := int(header[48])<<8 | int(header[49])
	kekVersion := uint32(header[12])<<24 | uint32(header[13])<<16 | uint32(header[14])<<8 | uint32(header[15])
	dk, err := auth.UnwrapDataKey(ctx, &authv1.UnwrapDataKeyRequest{Context: blobID, WrappedKey: header[50 : 50+n], KekVersion: kekVersion})
	if err != nil {
		t.Fatalf("unwrap the blob's data key: %v", err)
	}
	if bytes.Contains(header, dk.GetDataKey()) {
		t.Fatal("the blob header holds the data key unwrapped")
	}
	found := scanFiles(t, dir, map[string][]byte{
		"plain":         []byte("<plain-plaintext-marker><plain-plaintext-marker>"),
		"sse-b2":        []byte("<sse-b2-plaintext-marker>"),
		"sse-c":         []byte("<sse-c-plaintext-marker>"),
		"data key":      dk.GetDataKey(),
		"customer key":  key.Raw,
		"inline plain":  []byte("<plain-inline-marker><plain-inline-marker>"),
		"inline sse-b2": []byte("<sse-b2-inline-marker>"),
		"inline sse-c":  []byte("<sse-c-inline-marker>"),
	})
	if !found["plain"] || !found["inline plain"] {
		t.Fatal("the unencrypted objects' bytes were not found on disk: the scan is broken")
	}
	for _, leak := range []string{"sse-b2", "sse-c", "data key", "customer key", "inline sse-b2", "inline sse-c"} {
		if found[leak] {
			t.Errorf("%s found in the data directory", leak)
		}
	}
	// And the objects still read back.
	if _, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("b2")}); string(body) != sseB2 {
		t.Fatal("SSE-B2 object does not read back")
	}
	if _, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("c"),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: &key.Base64, SSECustomerKeyMD5: &key.MD5}); string(body) != sseC {
		t.Fatal("SSE-C object does not read back")
	}
}
