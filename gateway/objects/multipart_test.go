package objects_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	blobclient "github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/gateway/objects"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// env is an object layer over a real in-process cluster: real metadata
// (Raft), real blobstore, no gateway in between.
type env struct {
	layer  *objects.Layer
	meta   metadatav1.MetadataServiceClient
	blobs  objects.Blobs
	bucket *metadatav1.Bucket
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := clustertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc, err := runtime.Dial("passthrough:///"+c.Process.GRPCAddr(), blobclient.DialOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	blobs, err := blobclient.Open(ctx, func(context.Context) ([]blobv1.BlobServiceClient, error) {
		return []blobv1.BlobServiceClient{blobv1.NewBlobServiceClient(cc)}, nil
	}, blobclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	meta := c.Meta()
	resp, err := meta.CreateBucket(ctx, &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{
		Name: "multipart-layer", AccountId: c.AccountID(), Type: metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE,
	}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &env{layer: objects.New(meta, blobs, log, 5<<30), meta: meta, blobs: blobs, bucket: resp.GetBucket()}
}

func (e *env) start(t *testing.T, key string, in objects.StartInput) *metadatav1.ObjectVersion {
	t.Helper()
	in.Bucket, in.Key = e.bucket, key
	up, err := e.layer.StartUpload(context.Background(), in)
	if err != nil {
		t.Fatalf("start %s: %v", key, err)
	}
	return up
}

func (e *env) part(t *testing.T, up *metadatav1.ObjectVersion, n int32, body []byte) *metadatav1.Part {
	t.Helper()
	p, err := e.layer.PutPart(context.Background(), objects.PartInput{
		Upload: up, PartNumber: n, Body: bytes.NewReader(body), Expect: objects.Expect{Size: int64(len(body))},
	})
	if err != nil {
		t.Fatalf("part %d: %v", n, err)
	}
	return p
}

// gone checks a blob can no longer be read: the layer deletes dropped
// blobs before the call that dropped them returns.
func (e *env) gone(t *testing.T, p *metadatav1.Part) {
	t.Helper()
	if rc, err := e.blobs.Get(context.Background(), p.GetSegment().GetPlacement(), 0, -1); err == nil {
		rc.Close()
		t.Fatalf("the blob of dropped part %d is still there", p.GetPartNumber())
	}
}

func (e *env) present(t *testing.T, p *metadatav1.Part) {
	t.Helper()
	rc, err := e.blobs.Get(context.Background(), p.GetSegment().GetPlacement(), 0, -1)
	if err != nil {
		t.Fatalf("the blob of live part %d is gone: %v", p.GetPartNumber(), err)
	}
	rc.Close()
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func hexMD5(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// TestMultipartLayer covers the layer's own promises over real services:
// replaced, unlisted and aborted parts lose their blobs; a completion is
// checked whole before anything commits; a retried completion returns the
// version; an upload id is bound to its bucket and key.
func TestMultipartLayer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("ReplaceAndDiscard", func(t *testing.T) {
		up := e.start(t, "replace", objects.StartInput{ContentType: "text/plain"})
		old := e.part(t, up, 1, random(1000))
		p1 := e.part(t, up, 1, random(objects.MinPartSize))
		p2 := e.part(t, up, 2, random(10))
		p3 := e.part(t, up, 3, random(10))
		e.gone(t, old)
		refs := []*metadatav1.PartRef{{PartNumber: 1, Md5: p1.GetSegment().GetMd5()}, {PartNumber: 3, Md5: p3.GetSegment().GetMd5()}}
		// p3 is too small to precede anything, but it is last: fine. The
		// old part 1's MD5 no longer exists.
		_, err := e.layer.CompleteUpload(ctx, objects.CompleteInput{UploadID: up.GetVersionId(), MinPartSize: objects.MinPartSize,
			Parts: []*metadatav1.PartRef{{PartNumber: 1, Md5: old.GetSegment().GetMd5()}}})
		if !errs.Is(err, errs.InvalidPart) {
			t.Fatalf("complete with a replaced part: %v", err)
		}
		v, err := e.layer.CompleteUpload(ctx, objects.CompleteInput{UploadID: up.GetVersionId(), BucketID: e.bucket.GetBucketId(),
			Key: "replace", Parts: refs, MinPartSize: objects.MinPartSize})
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.New()
		for _, p := range []*metadatav1.Part{p1, p3} {
			raw, _ := hex.DecodeString(p.GetSegment().GetMd5())
			sum.Write(raw)
		}
		if want := hex.EncodeToString(sum.Sum(nil)) + "-2"; v.GetEtag() != want || v.GetVersionId() != up.GetVersionId() ||
			v.GetSize() != objects.MinPartSize+10 || len(v.GetSegments()) != 2 || v.GetSegments()[1].GetPartNumber() != 3 {
			t.Fatalf("completed version: etag %s (want %s), id %s, size %d, %d segments", v.GetEtag(), want, v.GetVersionId(), v.GetSize(), len(v.GetSegments()))
		}
		e.gone(t, p2)
		e.present(t, p1)
		e.present(t, p3)
		// A retry of the same completion answers with the same version.
		again, err := e.layer.CompleteUpload(ctx, objects.CompleteInput{UploadID: up.GetVersionId(), BucketID: e.bucket.GetBucketId(),
			Key: "replace", Parts: refs, MinPartSize: objects.MinPartSize})
		if err != nil || again.GetVersionId() != v.GetVersionId() || again.GetEtag() != v.GetEtag() {
			t.Fatalf("retried completion: %v %v", again, err)
		}
		// Without bucket and key there is nothing to recognise a retry by.
		_, err = e.layer.CompleteUpload(ctx, objects.CompleteInput{UploadID: up.GetVersionId(), Parts: refs, MinPartSize: objects.MinPartSize})
		if !errs.Is(err, errs.UploadNotFound) {
			t.Fatalf("completion of a completed upload without names: %v", err)
		}
		rc := e.layer.Open(ctx, v, objects.MinPartSize-3, 6)
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || len(got) != 6 {
			t.Fatalf("read across parts: %d bytes, %v", len(got), err)
		}
	})

	t.Run("Abort", func(t *testing.T) {
		up := e.start(t, "abort", objects.StartInput{})
		parts := []*metadatav1.Part{e.part(t, up, 1, random(100)), e.part(t, up, 7, random(100))}
		if err := e.layer.AbortUpload(ctx, up.GetVersionId()); err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			e.gone(t, p)
		}
		if err := e.layer.AbortUpload(ctx, up.GetVersionId()); !errs.Is(err, errs.UploadNotFound) {
			t.Fatalf("second abort: %v", err)
		}
		// A part for the aborted upload is refused and its blob removed.
		_, err := e.layer.PutPart(ctx, objects.PartInput{Upload: up, PartNumber: 2, Body: bytes.NewReader([]byte("late")), Expect: objects.Expect{Size: 4}})
		if !errs.Is(err, errs.UploadNotFound) {
			t.Fatalf("part after abort: %v", err)
		}
	})

	t.Run("BoundToName", func(t *testing.T) {
		up := e.start(t, "bound", objects.StartInput{})
		for _, tc := range []struct{ bucket, key string }{{e.bucket.GetBucketId(), "other"}, {"000000000000000000000000", "bound"}} {
			if _, err := e.layer.GetUpload(ctx, up.GetVersionId(), tc.bucket, tc.key); !errs.Is(err, errs.UploadNotFound) {
				t.Fatalf("upload under %s/%s: %v", tc.bucket, tc.key, err)
			}
		}
		for _, id := range []string{"", "nonsense", up.GetVersionId() + "x"} {
			if _, err := e.layer.GetUpload(ctx, id, "", ""); !errs.Is(err, errs.UploadNotFound) {
				t.Fatalf("upload %q: %v", id, err)
			}
		}
	})

	t.Run("Digests", func(t *testing.T) {
		up := e.start(t, "digests", objects.StartInput{ChecksumAlgorithm: metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256})
		body := []byte("part body")
		for _, x := range []objects.Expect{
			{Size: int64(len(body)), ContentMD5: base64.StdEncoding.EncodeToString(make([]byte, 16))},
			{Size: int64(len(body)), SHA1Hex: "0000000000000000000000000000000000000000"},
			{Size: int64(len(body)) + 1},
			{Size: int64(len(body)), Algorithm: metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32},
		} {
			if _, err := e.layer.PutPart(ctx, objects.PartInput{Upload: up, PartNumber: 1, Body: bytes.NewReader(body), Expect: x}); err == nil {
				t.Fatalf("a part with wrong digests %+v was stored", x)
			}
		}
		p := e.part(t, up, 1, body)
		if len(p.GetSegment().GetChecksums()) != 1 || p.GetSegment().GetSha1() == "" || p.GetSegment().GetMd5() != hexMD5(body) {
			t.Fatalf("part digests: %+v", p.GetSegment())
		}
		resp, err := e.meta.ListParts(ctx, &metadatav1.ListPartsRequest{UploadId: up.GetVersionId()})
		if err != nil || len(resp.GetParts()) != 1 {
			t.Fatalf("refused parts were recorded: %v %v", resp, err)
		}
	})

	t.Run("ConcurrentParts", func(t *testing.T) {
		up := e.start(t, "concurrent", objects.StartInput{ChecksumAlgorithm: metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME})
		const n = 12
		bodies := make([][]byte, n)
		refs := make([]*metadatav1.PartRef, n)
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for i := range n {
			bodies[i] = random(1000 + i)
			refs[i] = &metadatav1.PartRef{PartNumber: int32(i + 1), Md5: hexMD5(bodies[i])}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.layer.PutPart(ctx, objects.PartInput{Upload: up, PartNumber: int32(i + 1),
					Body: bytes.NewReader(bodies[i]), Expect: objects.Expect{Size: int64(len(bodies[i]))}})
				if err != nil {
					errc <- fmt.Errorf("part %d: %w", i+1, err)
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		v, err := e.layer.CompleteUpload(ctx, objects.CompleteInput{UploadID: up.GetVersionId(), Parts: refs})
		if err != nil {
			t.Fatal(err)
		}
		whole := bytes.Join(bodies, nil)
		h := objects.NewHash(metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME)
		h.Write(whole)
		if got := v.GetChecksums(); len(got) != 1 || got[0].GetValue() != base64.StdEncoding.EncodeToString(h.Sum(nil)) ||
			got[0].GetType() != metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT {
			t.Fatalf("object checksum %v", got)
		}
		rc := e.layer.Open(ctx, v, 0, -1)
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, whole) {
			t.Fatalf("read back %d bytes, %v", len(got), err)
		}
	})

	t.Run("CustomerKey", func(t *testing.T) {
		key := random(32)
		sum := md5.Sum(key)
		up := e.start(t, "sse-c", objects.StartInput{CustomerKey: key, Encryption: &metadatav1.ServerSideEncryption{
			Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C, CustomerKeyMd5: base64.StdEncoding.EncodeToString(sum[:])}})
		if up.GetEncryption().GetMode() != metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C {
			t.Fatalf("upload encryption %v", up.GetEncryption())
		}
		body := random(5000)
		for _, k := range [][]byte{nil, random(32)} {
			_, err := e.layer.PutPart(ctx, objects.PartInput{Upload: up, PartNumber: 1, Body: bytes.NewReader(body),
				Expect: objects.Expect{Size: int64(len(body))}, CustomerKey: k})
			if !errs.Is(err, errs.InvalidRequest) {
				t.Fatalf("part with key %x: %v", k, err)
			}
		}
		p, err := e.layer.PutPart(ctx, objects.PartInput{Upload: up, PartNumber: 1, Body: bytes.NewReader(body),
			Expect: objects.Expect{Size: int64(len(body))}, CustomerKey: key})
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.layer.CompleteUpload(ctx, objects.CompleteInput{UploadID: up.GetVersionId(),
			Parts: []*metadatav1.PartRef{{PartNumber: 1, Md5: p.GetSegment().GetMd5()}}})
		if err != nil {
			t.Fatal(err)
		}
		rc := e.layer.OpenWith(ctx, v, 100, 1000, objects.ReadOptions{Encryption: objects.Encryption{
			Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C, CustomerKey: key}})
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, body[100:1100]) {
			t.Fatalf("SSE-C multipart read: %d bytes, %v", len(got), err)
		}
		plain := e.start(t, "plain", objects.StartInput{})
		if _, err := e.layer.PutPart(ctx, objects.PartInput{Upload: plain, PartNumber: 1, Body: bytes.NewReader(body),
			Expect: objects.Expect{Size: int64(len(body))}, CustomerKey: key}); !errs.Is(err, errs.InvalidRequest) {
			t.Fatalf("a key on a part of an unencrypted upload: %v", err)
		}
	})
}
