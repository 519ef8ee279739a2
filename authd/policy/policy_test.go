package policy

import (
	"testing"
	"time"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	full := &authv1.Principal{KeyId: "k", Capabilities: AllCapabilities()}
	rw := &authv1.Principal{KeyId: "rw", Capabilities: []string{ListBuckets, ListFiles, ReadFiles, WriteFiles}}
	bucket := &authv1.Principal{KeyId: "b", Capabilities: []string{ListBuckets, ListFiles, ReadFiles, WriteFiles, DeleteFiles}, BucketIds: []string{"b1", "b2"}}
	prefixed := &authv1.Principal{KeyId: "p", Capabilities: []string{ListFiles, ReadFiles, WriteFiles, ReadBuckets}, BucketIds: []string{"b1"}, NamePrefix: "photos/"}
	prefixAny := &authv1.Principal{KeyId: "pa", Capabilities: []string{ListFiles, ReadFiles}, NamePrefix: "logs/"}
	expiring := &authv1.Principal{KeyId: "e", Capabilities: []string{ReadFiles}, ExpirationTimeUnixMillis: now.UnixMilli() + 1}
	expired := &authv1.Principal{KeyId: "x", Capabilities: []string{ReadFiles}, ExpirationTimeUnixMillis: now.UnixMilli()}
	anon := &authv1.Principal{Anonymous: true}

	acc := func(capability, bucketID, name string, public bool) *authv1.Access {
		return &authv1.Access{Capability: capability, BucketId: bucketID, BucketName: "bucket-" + bucketID, Name: name, BucketPublic: public}
	}
	cases := []struct {
		name string
		p    *authv1.Principal
		a    *authv1.Access
		want errs.Kind // Other: allowed
	}{
		{"full key writes", full, acc(WriteFiles, "b9", "x", false), errs.Other},
		{"full key creates keys", full, acc(WriteKeys, "", "", false), errs.Other},
		{"capability present", rw, acc(ReadFiles, "b1", "a", false), errs.Other},
		{"capability missing", rw, acc(DeleteFiles, "b1", "a", false), errs.PermissionDenied},
		{"capability case matters", rw, acc("READFILES", "b1", "a", false), errs.PermissionDenied},
		{"no capability named", rw, &authv1.Access{BucketId: "b1"}, errs.InvalidArgument},
		{"nil access", rw, nil, errs.InvalidArgument},
		{"nil principal", nil, acc(ReadFiles, "b1", "a", false), errs.Unauthenticated},

		{"bucket allowed", bucket, acc(WriteFiles, "b2", "a", false), errs.Other},
		{"other bucket", bucket, acc(WriteFiles, "b3", "a", false), errs.PermissionDenied},
		{"restricted list buckets", bucket, acc(ListBuckets, "", "", false), errs.Other},
		{"restricted without bucket", bucket, acc(WriteFiles, "", "a", false), errs.PermissionDenied},
		{"restricted missing capability", bucket, acc(ListAllBucketNames, "", "", false), errs.PermissionDenied},

		{"prefix object inside", prefixed, acc(ReadFiles, "b1", "photos/cat.jpg", false), errs.Other},
		{"prefix exact", prefixed, acc(WriteFiles, "b1", "photos/", false), errs.Other},
		{"prefix object outside", prefixed, acc(ReadFiles, "b1", "docs/a", false), errs.PermissionDenied},
		{"prefix near miss", prefixed, acc(ReadFiles, "b1", "photos", false), errs.PermissionDenied},
		{"prefix listing inside", prefixed, acc(ListFiles, "b1", "photos/2026/", false), errs.Other},
		{"prefix listing empty", prefixed, acc(ListFiles, "b1", "", false), errs.PermissionDenied},
		{"prefix listing wider", prefixed, acc(ListFiles, "b1", "pho", false), errs.PermissionDenied},
		{"prefix bucket op unaffected", prefixed, acc(ReadBuckets, "b1", "", false), errs.Other},
		{"prefix and wrong bucket", prefixed, acc(ReadFiles, "b2", "photos/a", false), errs.PermissionDenied},
		{"prefix on every bucket", prefixAny, acc(ReadFiles, "b7", "logs/x", false), errs.Other},
		{"prefix on every bucket outside", prefixAny, acc(ReadFiles, "b7", "x", false), errs.PermissionDenied},
		{"traversal is just a name", prefixAny, acc(ReadFiles, "b7", "../logs/x", false), errs.PermissionDenied},

		{"not yet expired", expiring, acc(ReadFiles, "b1", "a", false), errs.Other},
		{"expired", expired, acc(ReadFiles, "b1", "a", false), errs.Expired},
		{"expired on public bucket", expired, acc(ReadFiles, "b1", "a", true), errs.Expired},

		{"anonymous public read", anon, acc(ReadFiles, "b1", "a", true), errs.Other},
		{"anonymous private read", anon, acc(ReadFiles, "b1", "a", false), errs.PermissionDenied},
		{"anonymous public list", anon, acc(ListFiles, "b1", "", true), errs.PermissionDenied},
		{"anonymous public write", anon, acc(WriteFiles, "b1", "a", true), errs.PermissionDenied},
		{"anonymous public delete", anon, acc(DeleteFiles, "b1", "a", true), errs.PermissionDenied},
		{"anonymous list buckets", anon, acc(ListBuckets, "", "", false), errs.PermissionDenied},
		{"anonymous with capabilities is still anonymous", &authv1.Principal{Anonymous: true, Capabilities: AllCapabilities()}, acc(WriteFiles, "b1", "a", true), errs.PermissionDenied},
		{"public read needs no capability", &authv1.Principal{KeyId: "w", Capabilities: []string{WriteFiles}, BucketIds: []string{"b9"}}, acc(ReadFiles, "b1", "a", true), errs.Other},
		{"public bucket does not open writes", rw, acc(DeleteFiles, "b1", "a", true), errs.PermissionDenied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Decide(c.p, c.a, now)
			if c.want == errs.Other {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			if err == nil || errs.KindOf(err) != c.want {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	all := AllCapabilities()
	if len(all) != 30 {
		t.Fatalf("%d capabilities", len(all))
	}
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c] || !Known(c) {
			t.Fatalf("capability %q duplicated or unknown", c)
		}
		seen[c] = true
	}
	all[0] = "mutated"
	if AllCapabilities()[0] != ListKeys {
		t.Fatal("AllCapabilities shares its backing array")
	}
	if Known("readfiles") || Known("") {
		t.Fatal("unknown capability accepted")
	}
	if !FileCapability(ListFiles) || FileCapability(ListBuckets) || !AccountCapability(WriteKeys) || AccountCapability(ReadFiles) {
		t.Fatal("capability classes")
	}
}

// DecideAnyName answers for "some name" in the bucket: the key's prefix
// stands in for it, so a prefix-restricted key may mint an upload URL, and
// bucket and capability restrictions still apply.
func TestDecideAnyName(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	prefixed := &authv1.Principal{KeyId: "p", Capabilities: []string{WriteFiles, ReadBuckets}, BucketIds: []string{"b1"}, NamePrefix: "up/"}
	plain := &authv1.Principal{KeyId: "q", Capabilities: []string{WriteFiles}}
	expired := &authv1.Principal{KeyId: "x", Capabilities: []string{WriteFiles}, ExpirationTimeUnixMillis: now.UnixMilli()}
	for _, c := range []struct {
		name string
		p    *authv1.Principal
		a    *authv1.Access
		want errs.Kind
	}{
		{"prefix key, its bucket", prefixed, &authv1.Access{Capability: WriteFiles, BucketId: "b1"}, errs.Other},
		{"prefix key, a name given is ignored", prefixed, &authv1.Access{Capability: WriteFiles, BucketId: "b1", Name: "elsewhere"}, errs.Other},
		{"prefix key, other bucket", prefixed, &authv1.Access{Capability: WriteFiles, BucketId: "b2"}, errs.PermissionDenied},
		{"prefix key, missing capability", prefixed, &authv1.Access{Capability: ListFiles, BucketId: "b1"}, errs.PermissionDenied},
		{"bucket capability unchanged", prefixed, &authv1.Access{Capability: ReadBuckets, BucketId: "b1"}, errs.Other},
		{"unrestricted key", plain, &authv1.Access{Capability: WriteFiles, BucketId: "b9"}, errs.Other},
		{"expired key", expired, &authv1.Access{Capability: WriteFiles, BucketId: "b9"}, errs.Expired},
		{"no principal", nil, &authv1.Access{Capability: WriteFiles, BucketId: "b9"}, errs.Unauthenticated},
		{"no access", plain, nil, errs.InvalidArgument},
	} {
		err := DecideAnyName(c.p, c.a, now)
		if c.want == errs.Other && err != nil || c.want != errs.Other && errs.KindOf(err) != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
