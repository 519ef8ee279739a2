package authd_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// restrictedKeys are the key shapes B2 has: capabilities, one bucket
// (v1-v3), several buckets (v4), a name prefix with or without a bucket,
// and an expiry.
var restrictedKeys = []*authv1.CreateKeyRequest{
	{Name: "everything", Capabilities: policy.AllCapabilities()},
	{Name: "one-bucket", Capabilities: []string{policy.ListBuckets, policy.ListFiles, policy.ReadFiles, policy.WriteFiles, policy.DeleteFiles}, BucketIds: []string{"b1"}},
	{Name: "two-buckets", Capabilities: []string{policy.ReadFiles, policy.ListAllBucketNames}, BucketIds: []string{"b1", "b2"}},
	{Name: "prefix-in-bucket", Capabilities: []string{policy.ListFiles, policy.ReadFiles, policy.WriteFiles, policy.ShareFiles}, BucketIds: []string{"b1"}, NamePrefix: "photos/"},
	{Name: "prefix-anywhere", Capabilities: []string{policy.ReadFiles, policy.ListFiles}, NamePrefix: "logs/"},
	{Name: "read-only", Capabilities: []string{policy.ReadFiles, policy.ListBuckets}},
	{Name: "expiring", Capabilities: []string{policy.ReadFiles, policy.WriteFiles}, ValidDurationSeconds: 60},
}

// sameAccesses are what requests want, across capability, bucket and name.
var sameAccesses = []*authv1.Access{
	{Capability: policy.ReadFiles, BucketId: "b1", Name: "photos/cat.jpg"},
	{Capability: policy.ReadFiles, BucketId: "b2", Name: "photos/cat.jpg"},
	{Capability: policy.ReadFiles, BucketId: "b3", Name: "logs/x"},
	{Capability: policy.ReadFiles, BucketId: "b1", Name: "photos"},
	{Capability: policy.WriteFiles, BucketId: "b1", Name: "photos/new.jpg"},
	{Capability: policy.WriteFiles, BucketId: "b1", Name: "docs/a"},
	{Capability: policy.DeleteFiles, BucketId: "b1", Name: "photos/cat.jpg"},
	{Capability: policy.ListFiles, BucketId: "b1", Name: "photos/"},
	{Capability: policy.ListFiles, BucketId: "b1", Name: ""},
	{Capability: policy.ListFiles, BucketId: "b5", Name: "logs/2026/"},
	{Capability: policy.ShareFiles, BucketId: "b1", Name: "photos/"},
	{Capability: policy.ListBuckets},
	{Capability: policy.ListAllBucketNames},
	{Capability: policy.WriteKeys},
	{Capability: policy.WriteBuckets, BucketId: "b1"},
	{Capability: policy.ReadFiles, BucketId: "b9", Name: "anything", BucketPublic: true},
	{Capability: policy.WriteFiles, BucketId: "b9", Name: "anything", BucketPublic: true},
}

// presigned returns a presigned GET signed by aws-sdk-go-v2 at the time.
func presigned(t *testing.T, rawURL, id, secret string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL+"?X-Amz-Expires=300", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req,
		"UNSIGNED-PAYLOAD", "s3", "us-east-1", at, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	out, _ := http.NewRequest(http.MethodGet, u, nil)
	return out
}

// TestSameDecisionS3AndB2: one table over real authd and metadata over
// gRPC. For every key shape and every access, the S3 path (VerifySigV4 with
// the access, header-signed and presigned) and the B2 path (AuthorizeAccount,
// then VerifyToken with the access) reach the same decision as
// policy.Decide on the key's principal — before and after the key expires.
// The master key is refused on S3 and allowed on B2.
func TestSameDecisionS3AndB2(t *testing.T) {
	f := newFixture(t)
	type key struct {
		name, id, secret, token string
		principal               *authv1.Principal
	}
	var keys []key
	for _, req := range restrictedKeys {
		id, secret := f.createKey(t, req)
		resp := f.authorize(t, id, secret)
		keys = append(keys, key{name: req.Name, id: id, secret: secret, token: resp.AuthorizationToken, principal: resp.Principal})
	}
	kindOf := func(err error) errs.Kind {
		if err == nil {
			return errs.Other
		}
		return errs.KindOf(err)
	}
	check := func(phase string) (allowed, denied int) {
		now := f.clock.Now()
		for _, k := range keys {
			for _, a := range sameAccesses {
				want := kindOf(policy.Decide(k.principal, a, now))
				s3Header := kindOf(err2(f.verify(t, signed(t, "GET", "http://h/bucket/obj", k.id, k.secret, now, nil), a)))
				s3Query := kindOf(err2(f.verify(t, presigned(t, "http://h/bucket/obj", k.id, k.secret, now), a)))
				b2 := kindOf(err2(f.verifyToken(t, k.token, a, kindAccount)))
				if s3Header != want || s3Query != want || b2 != want {
					t.Errorf("%s: key %s, access %v: S3 header %v, S3 presigned %v, B2 %v; policy.Decide says %v",
						phase, k.name, a, s3Header, s3Query, b2, want)
				}
				if want == errs.Other {
					allowed++
				} else {
					denied++
				}
			}
		}
		return allowed, denied
	}
	if allowed, denied := check("fresh"); allowed < 20 || denied < 20 {
		t.Fatalf("the table is lopsided: %d allowed, %d denied", allowed, denied)
	}
	// The expiring key expires; every other key is unaffected (the B2
	// tokens last 24 h), so the same table still holds.
	f.clock.Add(time.Minute)
	check("after expiry")
	for _, k := range keys {
		if k.name != "expiring" {
			continue
		}
		wantKind(t, err2(f.verify(t, signed(t, "GET", "http://h/bucket/obj", k.id, k.secret, f.clock.Now(), nil), nil)), errs.Expired)
		wantKind(t, err2(f.verifyToken(t, k.token, nil)), errs.Expired)
	}

	// The master key: refused on S3, every capability on B2.
	acct := keys[0].principal.AccountId
	wantKind(t, err2(f.verify(t, signed(t, "GET", "http://h/bucket/obj", "000"+acct+"0000000000", masterSecret, f.clock.Now(), nil), nil)), errs.UnknownAccessKey)
	tok := f.authorize(t, acct, masterSecret).AuthorizationToken
	for _, a := range sameAccesses {
		if _, err := f.verifyToken(t, tok, a); err != nil {
			t.Errorf("master key on B2, access %v: %v", a, err)
		}
	}
}
