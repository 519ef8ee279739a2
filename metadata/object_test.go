package metadata

import (
	"regexp"
	"strings"
	"testing"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

var fileIDPattern = regexp.MustCompile(`^4_z[0-9a-f]{24}_f1[0-9a-f]{15}_d\d{8}_m\d{6}_c001_v0001001_t0001_u\d{13}$`)

func TestVersionsHideUndelete(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "bucket-one")

	v1 := put(t, n, b.BucketId, "docs/readme.txt", "e1", "blob-1")
	v2 := put(t, n, b.BucketId, "docs/readme.txt", "e2", "blob-2")
	for _, v := range []*metadatav1.ObjectVersion{v1, v2} {
		if !fileIDPattern.MatchString(v.VersionId) || !strings.Contains(v.VersionId, b.BucketId) ||
			v.Action != metadatav1.VersionAction_VERSION_ACTION_UPLOAD || v.CreateTimeUnixNanos == 0 || v.CreateIndex == 0 || !v.IsLatest {
			t.Fatalf("committed version %v", v)
		}
	}
	if v2.CreateIndex <= v1.CreateIndex {
		t.Fatal("versions not ordered by raft index")
	}

	get := func(req *metadatav1.GetObjectRequest) (*metadatav1.ObjectVersion, error) {
		resp, err := n.meta.GetObject(ctx(t), req)
		return resp.GetVersion(), err
	}
	if got, err := get(&metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "docs/readme.txt"}); err != nil || got.VersionId != v2.VersionId || !got.IsLatest {
		t.Fatalf("current = %v, %v", got, err)
	}
	if got, err := get(&metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "docs/readme.txt", VersionId: v1.VersionId}); err != nil || got.Etag != "e1" || got.IsLatest {
		t.Fatalf("by version = %v, %v", got, err)
	}
	// A version id alone names its bucket (B2 b2_get_file_info).
	if got, err := get(&metadatav1.GetObjectRequest{VersionId: v1.VersionId, StaleOk: true}); err != nil || got.Key != "docs/readme.txt" {
		t.Fatalf("by bare version id = %v, %v", got, err)
	}
	_, err := get(&metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "other", VersionId: v1.VersionId})
	wantKind(t, err, errs.VersionNotFound)
	_, err = get(&metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "missing"})
	wantKind(t, err, errs.ObjectNotFound)
	_, err = get(&metadatav1.GetObjectRequest{BucketId: "000000000000000000000000", Key: "missing"})
	wantKind(t, err, errs.BucketNotFound)

	// Hide: the key disappears, the marker is reported on GET.
	hide, err := n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: "docs/readme.txt", FailIfHidden: true})
	if err != nil || hide.Marker.Action != metadatav1.VersionAction_VERSION_ACTION_HIDE || !fileIDPattern.MatchString(hide.Marker.VersionId) {
		t.Fatalf("HideObject = %v, %v", hide, err)
	}
	_, err = get(&metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "docs/readme.txt"})
	wantKind(t, err, errs.ObjectNotFound)
	if e := errs.As(err); e.Details["delete_marker"] != "true" || e.Details["version_id"] != hide.Marker.VersionId {
		t.Fatalf("hidden GET details %v", e.Details)
	}
	if got, err := get(&metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "docs/readme.txt", VersionId: hide.Marker.VersionId}); err != nil || !got.IsLatest || got.Action != metadatav1.VersionAction_VERSION_ACTION_HIDE {
		t.Fatalf("marker by id = %v, %v", got, err)
	}
	_, err = n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: "docs/readme.txt", FailIfHidden: true})
	wantKind(t, err, errs.AlreadyHidden)
	_, err = n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: "never-written"})
	wantKind(t, err, errs.ObjectNotFound)
	list, err := n.meta.ListObjects(ctx(t), &metadatav1.ListObjectsRequest{BucketId: b.BucketId, PageSize: 10})
	if err != nil || len(list.Objects) != 0 {
		t.Fatalf("hidden key listed: %v, %v", list, err)
	}

	// Versions: newest first, the marker included and latest.
	vs, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs.Versions {
		ids = append(ids, v.VersionId)
	}
	if !equal(ids, []string{hide.Marker.VersionId, v2.VersionId, v1.VersionId}) || !vs.Versions[0].IsLatest || vs.Versions[1].IsLatest {
		t.Fatalf("versions %v", vs.Versions)
	}

	// Undelete: removing the marker makes v2 current again.
	removed, err := n.meta.DeleteObjectVersion(ctx(t), &metadatav1.DeleteObjectVersionRequest{BucketId: b.BucketId, Key: "docs/readme.txt", VersionId: hide.Marker.VersionId})
	if err != nil || removed.Version.VersionId != hide.Marker.VersionId {
		t.Fatalf("DeleteObjectVersion = %v, %v", removed, err)
	}
	if got, err := get(&metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "docs/readme.txt"}); err != nil || got.VersionId != v2.VersionId {
		t.Fatalf("after undelete current = %v, %v", got, err)
	}
	// Removing the current upload returns it (with its blobs) and v1 takes over.
	removed, err = n.meta.DeleteObjectVersion(ctx(t), &metadatav1.DeleteObjectVersionRequest{BucketId: b.BucketId, Key: "docs/readme.txt", VersionId: v2.VersionId})
	if err != nil || removed.Version.Segments[0].Placement.BlobId != "blob-2" {
		t.Fatalf("DeleteObjectVersion = %v, %v", removed, err)
	}
	if got, err := get(&metadatav1.GetObjectRequest{BucketId: b.BucketId, Key: "docs/readme.txt"}); err != nil || got.VersionId != v1.VersionId {
		t.Fatalf("after delete current = %v, %v", got, err)
	}
	_, err = n.meta.DeleteObjectVersion(ctx(t), &metadatav1.DeleteObjectVersionRequest{BucketId: b.BucketId, Key: "docs/readme.txt", VersionId: v2.VersionId})
	wantKind(t, err, errs.VersionNotFound)

	refs, err := n.meta.CheckBlobReferences(ctx(t), &metadatav1.CheckBlobReferencesRequest{BlobIds: []string{"blob-1", "blob-2", "blob-3"}})
	if err != nil || !equal(refs.Referenced, []string{"blob-1"}) {
		t.Fatalf("CheckBlobReferences = %v, %v", refs, err)
	}
}

func TestPreconditions(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "bucket-one")
	commit := func(key, etag string, p *metadatav1.Precondition) error {
		_, err := n.meta.CommitObject(ctx(t), &metadatav1.CommitObjectRequest{
			Version: &metadatav1.ObjectVersion{BucketId: b.BucketId, Key: key, Etag: etag}, Precondition: p,
		})
		return err
	}
	if err := commit("k", "e1", &metadatav1.Precondition{IfNoneMatchAny: true}); err != nil {
		t.Fatalf("If-None-Match on a new key: %v", err)
	}
	wantKind(t, commit("k", "e2", &metadatav1.Precondition{IfNoneMatchAny: true}), errs.PreconditionFailed)
	wantKind(t, commit("k", "e2", &metadatav1.Precondition{IfMatchEtag: `"e9"`}), errs.PreconditionFailed)
	wantKind(t, commit("absent", "e2", &metadatav1.Precondition{IfMatchEtag: "e1"}), errs.ObjectNotFound)
	if err := commit("k", "e2", &metadatav1.Precondition{IfMatchEtag: `"e1"`}); err != nil {
		t.Fatalf("If-Match that holds: %v", err)
	}
	if _, err := n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := commit("k", "e3", &metadatav1.Precondition{IfNoneMatchAny: true}); err != nil {
		t.Fatalf("If-None-Match on a hidden key: %v", err)
	}
	if err := commit("k", "e4", nil); err != nil { // unconditional commits always succeed
		t.Fatal(err)
	}
	wantKind(t, commit("k", "e5", &metadatav1.Precondition{IfNoneMatchAny: true}), errs.PreconditionFailed)
	// Refused commits left nothing behind: e1, e2, marker, e3, e4.
	vs, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, PageSize: 100})
	if err != nil || len(vs.Versions) != 5 {
		t.Fatalf("versions after refusals: %d, %v", len(vs.GetVersions()), err)
	}
}

func TestRequestValidation(t *testing.T) {
	n := startNode(t, testConfig(t))
	b := mustBucket(t, n, "bucket-one")
	commit := func(key string) error {
		_, err := n.meta.CommitObject(ctx(t), &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{BucketId: b.BucketId, Key: key}})
		return err
	}
	wantKind(t, commit(""), errs.InvalidKeyName)
	wantKind(t, commit(strings.Repeat("k", 1025)), errs.KeyTooLong)
	wantKind(t, commit("tab\there"), errs.InvalidKeyName)
	wantKind(t, commit("del\x7f"), errs.InvalidKeyName)
	wantKind(t, commit("nul\x00"), errs.InvalidKeyName)
	if err := commit(strings.Repeat("é", 512)); err != nil { // 1024 bytes
		t.Fatalf("1024-byte key: %v", err)
	}
	_, err := n.meta.CommitObject(ctx(t), &metadatav1.CommitObjectRequest{Version: &metadatav1.ObjectVersion{BucketId: "000000000000000000000000", Key: "k"}})
	wantKind(t, err, errs.BucketNotFound)
	_, err = n.meta.CommitObject(ctx(t), &metadatav1.CommitObjectRequest{})
	wantKind(t, err, errs.InvalidArgument)
	_, err = n.meta.ListObjects(ctx(t), &metadatav1.ListObjectsRequest{BucketId: b.BucketId, PageSize: -1})
	wantKind(t, err, errs.InvalidArgument)
	_, err = n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, VersionIdMarker: "x", PageSize: 1})
	wantKind(t, err, errs.InvalidArgument)
	first, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, PageSize: 1})
	if err != nil || len(first.Versions) != 1 {
		t.Fatalf("versions: %v, %v", first, err)
	}
	_, err = n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: b.BucketId, KeyMarker: "other-key", VersionIdMarker: first.Versions[0].VersionId, PageSize: 1})
	wantKind(t, err, errs.InvalidArgument)
	// Page size 0 means the default (1000), the same for every list.
	resp, err := n.meta.ListObjects(ctx(t), &metadatav1.ListObjectsRequest{BucketId: b.BucketId, PageSize: 0})
	if err != nil || len(resp.Objects) != 1 || resp.Truncated {
		t.Fatalf("page size 0: %v, %v", resp, err)
	}
}

func TestClusterStatus(t *testing.T) {
	n := startNode(t, testConfig(t))
	st, err := n.cluster.GetClusterStatus(ctx(t), &metadatav1.GetClusterStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.NodeId != "meta1" || st.State != "Leader" || st.LeaderId != "meta1" || st.LeaderAddress != n.srv.RaftAddr() ||
		len(st.Members) != 1 || !st.Members[0].Voter || st.Term == 0 || st.CommitIndex == 0 {
		t.Fatalf("status %v", st)
	}
	if err := n.srv.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	_, err = n.cluster.AddVoter(ctx(t), &metadatav1.AddVoterRequest{NodeId: "meta2"})
	wantKind(t, err, errs.InvalidArgument)
	_, err = n.cluster.RemoveServer(ctx(t), &metadatav1.RemoveServerRequest{NodeId: "meta1"})
	wantKind(t, err, errs.InvalidRequest) // the last voter
	_, err = n.meta.StartUpload(ctx(t), &metadatav1.StartUploadRequest{})
	wantKind(t, err, errs.InvalidArgument)
}

// TestValidateKey covers what cannot cross gRPC (proto3 strings must be UTF-8).
func TestValidateKey(t *testing.T) {
	for key, want := range map[string]errs.Kind{
		"ok/key": errs.Other, "bad\xffutf8": errs.InvalidKeyName, "": errs.InvalidKeyName,
		"a\x1fb": errs.InvalidKeyName, strings.Repeat("x", 1024): errs.Other, strings.Repeat("x", 1025): errs.KeyTooLong,
	} {
		if got := errs.KindOf(validateKey("op", "b", key)); got != want {
			t.Errorf("validateKey(%.20q) kind %v, want %v", key, got, want)
		}
	}
	if bucketOfVersion("4_z0123456789abcdef012345678_f1000000000000001_d20250101_m120000_c001_v0001001_t0001_u01735732800000") != "" {
		t.Error("25-hex bucket accepted")
	}
	id := newVersionID("0123456789abcdef01234567", time.Unix(1735732800, 0))
	if !fileIDPattern.MatchString(id) || bucketOfVersion(id) != "0123456789abcdef01234567" ||
		!strings.Contains(id, "_d20250101_m120000_") || !strings.HasSuffix(id, "_u1735732800000") {
		t.Errorf("version id %s", id)
	}
}

// TestNotStarted: before Start every handler answers Unavailable.
func TestNotStarted(t *testing.T) {
	srv, err := New(testConfig(t), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = srv.GetBucket(ctx(t), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: "bucket-one"}})
	wantKind(t, err, errs.Unavailable)
	_, err = srv.CreateBucket(ctx(t), &metadatav1.CreateBucketRequest{Bucket: &metadatav1.Bucket{Name: "bucket-one"}})
	wantKind(t, err, errs.Unavailable)
	if srv.Ready() == nil {
		t.Fatal("ready before Start")
	}
	if err := srv.Stop(ctx(t)); err != nil {
		t.Fatal(err)
	}
	bad := testConfig(t)
	bad.DataDir = ""
	if _, err := New(bad, Deps{}); err == nil {
		t.Fatal("New without a data dir")
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mut := range map[string]func(*Config){
		"no node id":               func(c *Config) { c.NodeID = "" },
		"unspecified raft address": func(c *Config) { c.RaftAddr = "0.0.0.0:9102" },
		"no host":                  func(c *Config) { c.RaftAddr = ":9102" },
		"bad raft address":         func(c *Config) { c.RaftAddr = "nohostport" },
		"election < heartbeat":     func(c *Config) { c.ElectionTimeout = c.HeartbeatTimeout / 2 },
		"negative max buckets":     func(c *Config) { c.MaxBuckets = -1 },
		"peers without this node":  func(c *Config) { c.Peers = "m2=127.0.0.1:2/127.0.0.1:3" },
		"peers and join":           func(c *Config) { c.Peers, c.Join = "meta1=127.0.0.1:2", "127.0.0.1:3" },
		"malformed peer":           func(c *Config) { c.Peers = "meta1" },
		"peer listed twice":        func(c *Config) { c.Peers = "meta1=127.0.0.1:2,meta1=127.0.0.1:3" },
		"peer address":             func(c *Config) { c.Peers = "meta1=nohost/127.0.0.1:3" },
		"negative leader wait":     func(c *Config) { c.LeaderWait = -time.Second },
	} {
		c := testConfig(t)
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
	c := testConfig(t)
	c.RaftAddr, c.RaftAdvertise = "0.0.0.0:9102", "meta1.internal:9102"
	if err := c.Validate(); err != nil {
		t.Errorf("advertised wildcard: %v", err)
	}
	peers, err := ParsePeers(" meta1=127.0.0.1:9102/127.0.0.1:9100, meta2=10.0.0.2:9102 ,")
	if err != nil || len(peers) != 2 || peers[0] != (Peer{"meta1", "127.0.0.1:9102", "127.0.0.1:9100"}) || peers[1] != (Peer{"meta2", "10.0.0.2:9102", ""}) {
		t.Errorf("ParsePeers = %v, %v", peers, err)
	}
	// A multi-node member must be reachable: a wildcard gRPC listener needs grpc-advertise.
	c = testConfig(t)
	c.Peers = "meta1=127.0.0.1:9102"
	if _, err := New(c, Deps{GRPCAddr: "0.0.0.0:9100"}); err == nil {
		t.Error("New accepted a peer list without a dialable gRPC address")
	}
}
