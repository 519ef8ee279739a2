package metadata

import (
	"regexp"
	"testing"

	"google.golang.org/protobuf/proto"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func TestAccount(t *testing.T) {
	n := startNode(t, testConfig(t))
	_, err := n.meta.GetAccount(ctx(t), &metadatav1.GetAccountRequest{})
	wantKind(t, err, errs.NoSuchConfiguration)
	_, err = n.meta.InitAccount(ctx(t), &metadatav1.InitAccountRequest{AccountId: "not-hex"})
	wantKind(t, err, errs.InvalidArgument)

	first, err := n.meta.InitAccount(ctx(t), &metadatav1.InitAccountRequest{AccountId: "0123456789ab"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := n.meta.InitAccount(ctx(t), &metadatav1.InitAccountRequest{AccountId: "ba9876543210"})
	if err != nil || !proto.Equal(again.Account, first.Account) {
		t.Fatalf("second InitAccount = %v, %v; want the first account %v", again, err, first.Account)
	}
	got, err := n.meta.GetAccount(ctx(t), &metadatav1.GetAccountRequest{})
	if err != nil || got.Account.AccountId != "0123456789ab" || got.Account.CreateTimeUnixNanos == 0 {
		t.Fatalf("GetAccount = %v, %v", got, err)
	}
}

func TestBucketLifecycle(t *testing.T) {
	n := startNode(t, testConfig(t))
	if _, err := n.meta.InitAccount(ctx(t), &metadatav1.InitAccountRequest{AccountId: "0123456789ab"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"short", "has_underscore", "has.dot", "B2-reserved", "x" + string(make([]byte, 63)), "näme-bucket"} {
		_, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: bad}})
		wantKind(t, err, errs.InvalidBucketName)
	}

	b := mustBucket(t, n, "My-Bucket")
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(b.BucketId) || b.AccountId != "0123456789ab" ||
		b.Revision != 1 || b.Type != metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE || b.CreateIndex == 0 || b.CreateTimeUnixNanos == 0 {
		t.Fatalf("created bucket %v", b)
	}
	_, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "my-bucket"}})
	wantKind(t, err, errs.BucketAlreadyExists)

	byName, err := n.meta.GetBucket(ctx(t), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: "MY-BUCKET"}})
	if err != nil || !proto.Equal(byName.Bucket, b) {
		t.Fatalf("GetBucket by name = %v, %v", byName, err)
	}
	byID, err := n.meta.GetBucket(ctx(t), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: b.BucketId}, StaleOk: true})
	if err != nil || !proto.Equal(byID.Bucket, b) {
		t.Fatalf("GetBucket by id = %v, %v", byID, err)
	}
	_, err = n.meta.GetBucket(ctx(t), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: "no-such-bucket"}})
	wantKind(t, err, errs.BucketNotFound)

	// Update: each present setting replaces; ifRevisionIs guards.
	_, err = n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: b.BucketId})
	wantKind(t, err, errs.InvalidArgument)
	public := metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC
	up, err := n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{
		BucketId: b.BucketId, Type: &public, SetInfo: true, Info: map[string]string{"cache-control": "max-age=60"},
		SetCorsRules: true, CorsRules: []*corsv1.CorsRule{{Name: "allow-all", AllowedOrigins: []string{"*"}}}, IfRevisionIs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if u := up.Bucket; u.Revision != 2 || u.Type != public || u.Info["cache-control"] != "max-age=60" || len(u.CorsRules) != 1 ||
		u.ModifyIndex <= b.ModifyIndex || u.CorsIndex != u.ModifyIndex || u.CreateIndex != b.CreateIndex {
		t.Fatalf("updated bucket %v", u)
	}
	_, err = n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: b.BucketId, SetInfo: true, IfRevisionIs: 1})
	wantKind(t, err, errs.Conflict)
	up, err = n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: b.BucketId, SetCorsRules: true})
	if err != nil || len(up.Bucket.CorsRules) != 0 || up.Bucket.Info["cache-control"] == "" || up.Bucket.Revision != 3 {
		t.Fatalf("clearing CORS: %v, %v", up, err)
	}
	_, err = n.meta.UpdateBucket(ctx(t), &metadatav1.UpdateBucketRequest{BucketId: "000000000000000000000000", SetInfo: true})
	wantKind(t, err, errs.BucketNotFound)

	// List in name order, paged.
	for _, name := range []string{"alpha-bucket", "Zulu-bucket", "beta-bucket"} {
		mustBucket(t, n, name)
	}
	var names []string
	token := ""
	for {
		page, err := n.meta.ListBuckets(ctx(t), &metadatav1.ListBucketsRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Buckets {
			names = append(names, b.Name)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if want := []string{"alpha-bucket", "beta-bucket", "My-Bucket", "Zulu-bucket"}; !equal(names, want) {
		t.Fatalf("listed %v, want %v", names, want)
	}

	// Delete: refused while a version exists, then allowed.
	v := put(t, n, b.BucketId, "k", "e")
	_, err = n.meta.DeleteBucket(ctx(t), &metadatav1.DeleteBucketRequest{BucketId: b.BucketId})
	wantKind(t, err, errs.BucketNotEmpty)
	if _, err := n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.meta.DeleteObjectVersion(ctx(t), &metadatav1.DeleteObjectVersionRequest{BucketId: b.BucketId, Key: "k", VersionId: v.VersionId}); err != nil {
		t.Fatal(err)
	}
	_, err = n.meta.DeleteBucket(ctx(t), &metadatav1.DeleteBucketRequest{BucketId: b.BucketId})
	wantKind(t, err, errs.BucketNotEmpty) // the hide marker is still a version
	vs, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, PageSize: 10})
	if err != nil || len(vs.Versions) != 1 {
		t.Fatalf("versions: %v, %v", vs, err)
	}
	if _, err := n.meta.DeleteObjectVersion(ctx(t), &metadatav1.DeleteObjectVersionRequest{VersionId: vs.Versions[0].VersionId}); err != nil {
		t.Fatal(err)
	}
	del, err := n.meta.DeleteBucket(ctx(t), &metadatav1.DeleteBucketRequest{BucketId: b.BucketId})
	if err != nil || del.Bucket.Name != "My-Bucket" {
		t.Fatalf("DeleteBucket = %v, %v", del, err)
	}
	_, err = n.meta.GetBucket(ctx(t), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: b.BucketId}})
	wantKind(t, err, errs.BucketNotFound)
	_, err = n.meta.DeleteBucket(ctx(t), &metadatav1.DeleteBucketRequest{BucketId: b.BucketId})
	wantKind(t, err, errs.BucketNotFound)
	mustBucket(t, n, "my-bucket") // the name is free again
}

func TestTooManyBuckets(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxBuckets = 2
	n := startNode(t, cfg)
	mustBucket(t, n, "bucket-one")
	mustBucket(t, n, "bucket-two")
	_, err := n.meta.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "bucket-three"}})
	wantKind(t, err, errs.TooManyBuckets)
}

func TestApplicationKeys(t *testing.T) {
	n := startNode(t, testConfig(t))
	for _, id := range []string{"0002", "0001", "0003"} {
		k := &metadatav1.ApplicationKey{KeyId: id, Name: "key-" + id, Capabilities: []string{"listBuckets"}, EncryptedSecret: []byte{1, 2, 3}, KekVersion: 1}
		resp, err := n.meta.CreateKey(ctx(t), &metadatav1.CreateKeyRequest{Key: k})
		if err != nil || resp.Key.CreateIndex == 0 || resp.Key.CreateTimeUnixNanos == 0 || string(resp.Key.EncryptedSecret) != "\x01\x02\x03" {
			t.Fatalf("CreateKey = %v, %v", resp, err)
		}
	}
	_, err := n.meta.CreateKey(ctx(t), &metadatav1.CreateKeyRequest{Key: &metadatav1.ApplicationKey{KeyId: "0001"}})
	wantKind(t, err, errs.Conflict)
	_, err = n.meta.CreateKey(ctx(t), &metadatav1.CreateKeyRequest{Key: &metadatav1.ApplicationKey{}})
	wantKind(t, err, errs.InvalidArgument)

	got, err := n.meta.GetKey(ctx(t), &metadatav1.GetKeyRequest{KeyId: "0002"})
	if err != nil || got.Key.Name != "key-0002" || got.Key.Capabilities[0] != "listBuckets" {
		t.Fatalf("GetKey = %v, %v", got, err)
	}
	page, err := n.meta.ListKeys(ctx(t), &metadatav1.ListKeysRequest{PageSize: 2})
	if err != nil || len(page.Keys) != 2 || page.Keys[0].KeyId != "0001" || page.NextKeyId != "0003" {
		t.Fatalf("ListKeys page 1 = %v, %v", page, err)
	}
	page, err = n.meta.ListKeys(ctx(t), &metadatav1.ListKeysRequest{PageSize: 2, StartKeyId: page.NextKeyId})
	if err != nil || len(page.Keys) != 1 || page.Keys[0].KeyId != "0003" || page.NextKeyId != "" {
		t.Fatalf("ListKeys page 2 = %v, %v", page, err)
	}
	del, err := n.meta.DeleteKey(ctx(t), &metadatav1.DeleteKeyRequest{KeyId: "0002"})
	if err != nil || del.Key.KeyId != "0002" {
		t.Fatalf("DeleteKey = %v, %v", del, err)
	}
	_, err = n.meta.GetKey(ctx(t), &metadatav1.GetKeyRequest{KeyId: "0002"})
	wantKind(t, err, errs.KeyNotFound)
	_, err = n.meta.DeleteKey(ctx(t), &metadatav1.DeleteKeyRequest{KeyId: "0002"})
	wantKind(t, err, errs.KeyNotFound)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
