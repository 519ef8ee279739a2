package conformance

// This file needs github.com/aws/aws-sdk-go-v2/feature/s3/manager, which
// go.mod does not require yet; build with -tags s3manager once it does.
// testTransferManagerFlow (s3multipart_clients.go) drives the same calls
// without it.

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3TransferManager uploads and downloads through aws-sdk-go-v2's transfer
// manager with its defaults (CRC32 on multipart uploads), 40 MiB in 5 MiB
// parts and a small object that goes up as one PutObject.
func S3TransferManager(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-tm")
	for _, size := range []int64{40 << 20, 1 << 20} {
		data := newMemData(uint64(size), size)
		key := fmt.Sprintf("manager/%d bytes", size)
		up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize, u.Concurrency = 5<<20, 4 })
		out, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: &b, Key: &key, Body: struct{ *memData }{data}})
		if err != nil {
			t.Fatalf("upload %d bytes: %v", size, err)
		}
		if multipart := size > 5<<20; multipart != strings.Contains(aws.ToString(out.ETag), "-") {
			t.Fatalf("upload %d bytes: ETag %s", size, aws.ToString(out.ETag))
		}
		buf := manager.NewWriteAtBuffer(make([]byte, 0, size))
		dl := manager.NewDownloader(c, func(d *manager.Downloader) { d.PartSize, d.Concurrency = 5<<20, 4 })
		n, err := dl.Download(ctx, buf, &s3.GetObjectInput{Bucket: &b, Key: &key})
		if err != nil || n != size {
			t.Fatalf("download %d bytes: %d, %v", size, n, err)
		}
		if _, sum, _ := HashReader(bytes.NewReader(buf.Bytes())); sum != data.SHA256() {
			t.Fatalf("download %d bytes: content differs", size)
		}
	}
}
