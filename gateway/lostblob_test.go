package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/gateway/conformance"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
)

// syncBuffer collects the process's log lines from every goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything logged so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log records logged so far.
func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// contentHeaders are the headers of an object that an error must not carry.
var contentHeaders = []string{"ETag", "Last-Modified", "X-Amz-Version-Id", "X-Amz-Meta-Color", "Accept-Ranges",
	"Content-Range", "X-Bz-File-Id", "X-Bz-File-Name", "X-Bz-Content-Sha1", "X-Bz-Upload-Timestamp", "X-Bz-Info-Color"}

// TestLostBlobIsAServerError: with an object's blob file deleted from the
// disk, metadata still lists the object. A GET (S3) or download (B2) that
// cannot read its bytes answers 500 in the dialect's format — not 404,
// from which sync tools conclude the object is gone — with none of the
// object's content headers, and the gateway logs it at ERROR with the blob
// id. HEAD reads no bytes and still says 200.
func TestLostBlobIsAServerError(t *testing.T) {
	logs := &syncBuffer{}
	c := clustertest.StartLogged(t, logs)
	ctx := context.Background()
	b2 := conformance.NewB2(t, conformance.B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}, 2)
	b := b2.CreateBucket("lost", "allPrivate", nil)
	bucketID, bucket := b["bucketId"].(string), b["bucketName"].(string)
	const size = 1 << 20
	b2.Upload(bucketID, "doc.bin", bytes.Repeat([]byte("d"), size), map[string]string{"color": "blue"})
	b2.Upload(bucketID, "rot.bin", bytes.Repeat([]byte("r"), size), map[string]string{"color": "red"})
	// doc.bin's blob is deleted; a byte of rot.bin's first chunk flipped.
	blobID := blobFiles(t, c, bucketID, "doc.bin", func(path string) error { return os.Remove(path) })
	blobFiles(t, c, bucketID, "rot.bin", func(path string) error {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteAt([]byte{0xff}, 4096)
		return err
	})

	s3c := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}.AWS(t)
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc.bin")}); err != nil {
		t.Errorf("HEAD reads no bytes and should still succeed: %v", err)
	}
	check := func(dialect string, resp *http.Response) []byte {
		t.Helper()
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s: %d %s, want 500", dialect, resp.StatusCode, body)
		}
		for _, h := range contentHeaders {
			if v := resp.Header.Get(h); v != "" {
				t.Errorf("%s: the error carries the object's %s: %q", dialect, h, v)
			}
		}
		if resp.Header.Get("Content-Length") == strconv.Itoa(size) || len(body) >= size {
			t.Errorf("%s: the error carries the object's length", dialect)
		}
		return body
	}
	for _, key := range []string{"doc.bin", "rot.bin"} {
		pre, err := s3.NewPresignClient(s3c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(pre.URL)
		if err != nil {
			t.Fatal(err)
		}
		var s3e struct {
			Code string `xml:"Code"`
		}
		if body := check("S3 GET "+key, resp); xml.Unmarshal(body, &s3e) != nil || s3e.Code != "InternalError" {
			t.Errorf("S3 GET %s: %s, want InternalError", key, body)
		}
		dl := b2.DownloadByName(http.MethodGet, bucket, key, b2.Token, nil)
		var b2e struct {
			Code string `json:"code"`
		}
		check("B2 download "+key, &http.Response{StatusCode: dl.Status, Header: dl.Header, Body: io.NopCloser(bytes.NewReader(dl.Body))})
		if json.Unmarshal(dl.Body, &b2e) != nil || b2e.Code != "internal_error" {
			t.Errorf("B2 download %s: %s, want internal_error", key, dl.Body)
		}
	}

	// Logged at ERROR with the blob id.
	deadline := time.Now().Add(5 * time.Second)
	for {
		found := false
		for _, l := range logs.lines() {
			if l["level"] == "ERROR" && l["blob_id"] == blobID {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ERROR log line with blob_id=%s", blobID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// blobFiles applies f to every file of the blob of key's current version
// under the cluster's data directory and returns the blob id.
func blobFiles(t *testing.T, c *clustertest.Cluster, bucketID, key string, f func(path string) error) string {
	t.Helper()
	got, err := c.Meta().GetObject(context.Background(), &metadatav1.GetObjectRequest{BucketId: bucketID, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	blobID := got.GetVersion().GetSegments()[0].GetPlacement().GetBlobId()
	n := 0
	_ = filepath.WalkDir(c.Dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (d.Name() == blobID || strings.HasPrefix(d.Name(), blobID+".")) {
			if err := f(path); err != nil {
				t.Fatal(err)
			}
			n++
		}
		return nil
	})
	if n == 0 {
		t.Fatalf("no file of blob %s under %s", blobID, c.Dir)
	}
	return blobID
}
