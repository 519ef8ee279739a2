package conformance

import (
	"context"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// testListParts pages through an upload's parts with every page size.
func testListParts(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-parts")
	key := "many parts"
	data := newMemData(90, 7)
	sizes := []int64{1, 1, 1, 1, 1, 1}
	id, done, md5s := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size, sizes...), nil)
	for maxParts := int32(1); maxParts <= 8; maxParts++ {
		var got []types.Part
		p := s3.NewListPartsPaginator(c, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id, MaxParts: &maxParts})
		for pages := 0; p.HasMorePages(); pages++ {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("max-parts %d: %v", maxParts, err)
			}
			if pages > 10 || len(page.Parts) > int(maxParts) {
				t.Fatalf("max-parts %d: page of %d parts (page %d)", maxParts, len(page.Parts), pages)
			}
			if aws.ToString(page.UploadId) != id || aws.ToString(page.Key) != key || page.StorageClass != types.StorageClassStandard {
				t.Fatalf("list parts header: %+v", page)
			}
			got = append(got, page.Parts...)
		}
		if len(got) != len(done) {
			t.Fatalf("max-parts %d: %d parts, want %d", maxParts, len(got), len(done))
		}
		for i, part := range got {
			if aws.ToInt32(part.PartNumber) != int32(i+1) || aws.ToString(part.ETag) != `"`+hex.EncodeToString(md5s[i])+`"` ||
				aws.ToInt64(part.Size) != 1 || part.LastModified == nil {
				t.Fatalf("max-parts %d: part %d is %+v", maxParts, i, part)
			}
		}
	}
	out, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id, PartNumberMarker: aws.String("5")})
	if err != nil || len(out.Parts) != 2 || aws.ToInt32(out.Parts[0].PartNumber) != 6 || aws.ToBool(out.IsTruncated) {
		t.Fatalf("part-number-marker 5: %+v %v", out, err)
	}
}

// testListUploads pages, groups and encodes ListMultipartUploads like
// ListObjects.
func testListUploads(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-uploads")
	keys := []string{"a", "a", "b/1", "b/2", "b/c/3", "c d", "z+%"}
	ids := map[string][]string{}
	for _, k := range keys {
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = append(ids[k], aws.ToString(up.UploadId))
	}
	all, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b})
	if err != nil || len(all.Uploads) != len(keys) || aws.ToBool(all.IsTruncated) {
		t.Fatalf("list uploads: %d uploads, %v", len(all.Uploads), err)
	}
	for i, u := range all.Uploads {
		if aws.ToString(u.Key) != keys[i] || u.Initiated == nil || u.StorageClass != types.StorageClassStandard {
			t.Fatalf("upload %d: %+v", i, u)
		}
		if !slices.Contains(ids[keys[i]], aws.ToString(u.UploadId)) {
			t.Fatalf("upload %d: unknown id %s", i, aws.ToString(u.UploadId))
		}
	}
	// Paging with every page size yields the same list, no duplicate or gap.
	for maxUploads := int32(1); maxUploads <= int32(len(keys)); maxUploads++ {
		var got []string
		p := s3.NewListMultipartUploadsPaginator(c, &s3.ListMultipartUploadsInput{Bucket: &b, MaxUploads: &maxUploads})
		for pages := 0; p.HasMorePages(); pages++ {
			page, err := p.NextPage(ctx)
			if err != nil || pages > len(keys) {
				t.Fatalf("max-uploads %d: %v (page %d)", maxUploads, err, pages)
			}
			for _, u := range page.Uploads {
				got = append(got, aws.ToString(u.Key)+"@"+aws.ToString(u.UploadId))
			}
		}
		var want []string
		for _, u := range all.Uploads {
			want = append(want, aws.ToString(u.Key)+"@"+aws.ToString(u.UploadId))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("max-uploads %d: %v, want %v", maxUploads, got, want)
		}
	}
	// Prefix and delimiter group like ListObjects; encoding-type=url round-trips.
	out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b, Prefix: aws.String("b/"), Delimiter: aws.String("/")})
	if err != nil || len(out.Uploads) != 2 || len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "b/c/" {
		t.Fatalf("prefix b/ delimiter /: %+v %v", out, err)
	}
	out, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b, Prefix: aws.String("z"), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(out.Uploads) != 1 || aws.ToString(out.Uploads[0].Key) != "z%2B%25" {
		t.Fatalf("encoding-type url: %+v %v", out, err)
	}
	// key-marker is exclusive of the key; with upload-id-marker, of the
	// uploads up to that id.
	out, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b, KeyMarker: aws.String("a")})
	if err != nil || len(out.Uploads) != len(keys)-2 || aws.ToString(out.Uploads[0].Key) != "b/1" {
		t.Fatalf("key-marker a: %+v %v", out, err)
	}
	first := all.Uploads[0]
	out, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b, KeyMarker: first.Key, UploadIdMarker: first.UploadId})
	if err != nil || len(out.Uploads) != len(keys)-1 || aws.ToString(out.Uploads[0].UploadId) != aws.ToString(all.Uploads[1].UploadId) {
		t.Fatalf("key-marker a, upload-id-marker %s: %+v %v", aws.ToString(first.UploadId), out, err)
	}
}
