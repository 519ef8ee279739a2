package conformance

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

func testDeleteObjects(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "multidelete")
	put(t, c, b, "hide me", "1")
	v1 := put(t, c, b, "versioned", "1")
	v2 := put(t, c, b, "versioned", "2")
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("hide me")},
		{Key: aws.String("versioned"), VersionId: v1.VersionId},
		{Key: aws.String("never existed")},
		{Key: aws.String(strings.Repeat("k", 1025))},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]types.DeletedObject{}
	for _, d := range out.Deleted {
		deleted[aws.ToString(d.Key)] = d
	}
	if d := deleted["hide me"]; !aws.ToBool(d.DeleteMarker) || aws.ToString(d.DeleteMarkerVersionId) == "" {
		t.Fatalf("hidden key: %+v", d)
	}
	if d := deleted["versioned"]; aws.ToString(d.VersionId) != aws.ToString(v1.VersionId) || aws.ToBool(d.DeleteMarker) {
		t.Fatalf("deleted version: %+v", d)
	}
	if _, ok := deleted["never existed"]; !ok || len(out.Deleted) != 3 {
		t.Fatalf("deleted entries: %+v", out.Deleted)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "KeyTooLongError" {
		t.Fatalf("errors: %+v", out.Errors)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("hide me")})
	WantError(t, err, "", 404)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("versioned"), VersionId: v1.VersionId})
	WantError(t, err, "", 404)
	if h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("versioned")}); err != nil || aws.ToString(h.VersionId) != aws.ToString(v2.VersionId) {
		t.Fatalf("surviving version: %v", err)
	}
	// Deleting the delete marker by id says so.
	marker := deleted["hide me"].DeleteMarkerVersionId
	out, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("hide me"), VersionId: marker},
	}}})
	if err != nil || len(out.Deleted) != 1 || !aws.ToBool(out.Deleted[0].DeleteMarker) || aws.ToString(out.Deleted[0].DeleteMarkerVersionId) != aws.ToString(marker) {
		t.Fatalf("delete of a marker: %+v %v", out, err)
	}

	// Quiet mode lists only failures; 1000 keys is the limit.
	var ids []types.ObjectIdentifier
	for i := range 1000 {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(fmt.Sprintf("bulk/%04d", i))})
	}
	for i := 0; i < 20; i++ {
		put(t, c, b, aws.ToString(ids[i].Key), "x")
	}
	out, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
	if err != nil || len(out.Deleted) != 0 || len(out.Errors) != 0 {
		t.Fatalf("quiet delete of 1000: %d deleted, %d errors, %v", len(out.Deleted), len(out.Errors), err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("bulk/")})
	if err != nil || len(list.Contents) != 0 {
		t.Fatalf("after bulk delete: %d left, %v", len(list.Contents), err)
	}
	doc := func(n int) []byte {
		var sb strings.Builder
		sb.WriteString("<Delete>")
		for i := range n {
			fmt.Fprintf(&sb, "<Object><Key>k%d</Key></Object>", i)
		}
		sb.WriteString("</Delete>")
		return []byte(sb.String())
	}
	big := doc(1001)
	if r := tg.Signed(t, http.MethodPost, "/"+b+"?delete", big, http.Header{"Content-Md5": {ContentMD5(big)}}); r.Status != 400 || r.Code() != "MalformedXML" {
		t.Fatalf("1001 keys: %d %s", r.Status, r.Body)
	}
	small := doc(2)
	if r := tg.Signed(t, http.MethodPost, "/"+b+"?delete", small, nil); r.Status != 400 || r.Code() != "InvalidRequest" {
		t.Fatalf("no Content-MD5 or checksum: %d %s", r.Status, r.Body)
	}
	if r := tg.Signed(t, http.MethodPost, "/"+b+"?delete", small, http.Header{"Content-Md5": {ContentMD5([]byte("x"))}}); r.Status != 400 || r.Code() != "BadDigest" {
		t.Fatalf("wrong Content-MD5: %d %s", r.Status, r.Body)
	}
	if r := tg.Signed(t, http.MethodPost, "/"+b+"?delete", []byte("<Delete><Object>"), http.Header{"Content-Md5": {ContentMD5([]byte("<Delete><Object>"))}}); r.Status != 400 || r.Code() != "MalformedXML" {
		t.Fatalf("broken XML: %d %s", r.Status, r.Body)
	}
	if r := tg.Signed(t, http.MethodPost, "/"+b+"?delete", small, http.Header{"Content-Md5": {ContentMD5(small)}}); r.Status != 200 {
		t.Fatalf("Content-MD5 delete: %d %s", r.Status, r.Body)
	}

	// minio-go's RemoveObjects.
	mc := tg.Minio(t, false)
	objs := make(chan minio.ObjectInfo, 3)
	for _, k := range []string{"m1", "m2", "m3"} {
		put(t, c, b, k, k)
		objs <- minio.ObjectInfo{Key: k}
	}
	close(objs)
	for e := range mc.RemoveObjects(ctx, b, objs, minio.RemoveObjectsOptions{}) {
		t.Fatalf("minio remove %s: %v", e.ObjectName, e.Err)
	}
	if list, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("m")}); len(list.Contents) != 0 {
		t.Fatalf("minio RemoveObjects left %d", len(list.Contents))
	}
}
