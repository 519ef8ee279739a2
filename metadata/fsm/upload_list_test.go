package fsm

import (
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// uploadNames lists uploads, then common prefixes.
func uploadNames(resp *metadatav1.ListUploadsResponse) []string {
	var out []string
	for _, u := range resp.Uploads {
		out = append(out, u.Key+":"+u.VersionId)
	}
	for _, p := range resp.CommonPrefixes {
		out = append(out, "P:"+p)
	}
	return out
}

func TestListUploads(t *testing.T) {
	h := newHarness(t)
	h.must(cmdCreateBucket(bkt, "bucket-one"))
	h.must(cmdCommit(bkt, "a", "va", "e", nil))
	h.must(cmdStart(bkt, "a", "u1"))
	h.must(cmdStart(bkt, "b/x", "u3"))
	h.must(cmdStart(bkt, "a", "u2"))
	h.must(cmdStart(bkt, "b/y", "u4"))
	h.must(cmdStart(bkt, "c", "u5"))
	h.must(cmdCommit(bkt, "z", "vz", "e", nil))
	all := []string{"a:u1", "a:u2", "b/x:u3", "b/y:u4", "c:u5"}
	list := func(req *metadatav1.ListUploadsRequest) *metadatav1.ListUploadsResponse {
		req.BucketId = bkt
		var resp *metadatav1.ListUploadsResponse
		h.view(func(r *Reader) (err error) {
			resp, err = r.ListUploads(req)
			if err != nil {
				t.Fatal(err)
			}
			return nil
		})
		return resp
	}
	cases := []struct {
		name       string
		req        *metadatav1.ListUploadsRequest
		want       []string
		truncated  bool
		nextK      string
		nextUpload string
	}{
		{"all, oldest first within a key", &metadatav1.ListUploadsRequest{PageSize: 10}, all, false, "", ""},
		{"delimiter", &metadatav1.ListUploadsRequest{Delimiter: "/", PageSize: 10}, []string{"a:u1", "a:u2", "c:u5", "P:b/"}, false, "", ""},
		{"prefix", &metadatav1.ListUploadsRequest{Prefix: "b/", PageSize: 10}, []string{"b/x:u3", "b/y:u4"}, false, "", ""},
		{"page", &metadatav1.ListUploadsRequest{PageSize: 2}, []string{"a:u1", "a:u2"}, true, "a", "u2"},
		{"after a key", &metadatav1.ListUploadsRequest{KeyMarker: "a", PageSize: 10}, all[2:], false, "", ""},
		{"after an upload", &metadatav1.ListUploadsRequest{KeyMarker: "a", UploadIdMarker: "u1", PageSize: 10}, all[1:], false, "", ""},
		{"inclusive at an upload", &metadatav1.ListUploadsRequest{KeyMarker: "b/x", UploadIdMarker: "u3", Inclusive: true, PageSize: 2}, []string{"b/x:u3", "b/y:u4"}, true, "c", "u5"},
		{"inclusive at a key", &metadatav1.ListUploadsRequest{KeyMarker: "a", Inclusive: true, PageSize: 10}, all, false, "", ""},
		{"marker of another key resumes at the key", &metadatav1.ListUploadsRequest{KeyMarker: "b/x", UploadIdMarker: "u1", PageSize: 10}, all[2:], false, "", ""},
		{"after a common prefix", &metadatav1.ListUploadsRequest{KeyMarker: "b/", Delimiter: "/", PageSize: 10}, []string{"c:u5"}, false, "", ""},
		{"page counts prefixes", &metadatav1.ListUploadsRequest{Delimiter: "/", PageSize: 3}, []string{"a:u1", "a:u2", "P:b/"}, true, "b/", ""},
	}
	for _, tc := range cases {
		resp := list(tc.req)
		if got := uploadNames(resp); fmt.Sprint(got) != fmt.Sprint(tc.want) || resp.Truncated != tc.truncated ||
			resp.NextKeyMarker != tc.nextK || resp.NextUploadIdMarker != tc.nextUpload {
			t.Errorf("%s: %v truncated=%v next=(%q,%q); want %v %v (%q,%q)", tc.name, got, resp.Truncated,
				resp.NextKeyMarker, resp.NextUploadIdMarker, tc.want, tc.truncated, tc.nextK, tc.nextUpload)
		}
	}
	// Page through one at a time, both ways.
	for _, inclusive := range []bool{false, true} {
		var got []string
		req := &metadatav1.ListUploadsRequest{PageSize: 1, Inclusive: inclusive}
		for i := 0; i < 10; i++ {
			resp := list(req)
			got = append(got, uploadNames(resp)...)
			if !resp.Truncated {
				break
			}
			req.KeyMarker, req.UploadIdMarker = resp.NextKeyMarker, resp.NextUploadIdMarker
		}
		if fmt.Sprint(got) != fmt.Sprint(all) {
			t.Errorf("paged (inclusive=%v): %v", inclusive, got)
		}
	}
	// A marker upload that is gone resumes at the first remaining of its key.
	h.must(cmdAbort(bkt, "u1"))
	if got := uploadNames(list(&metadatav1.ListUploadsRequest{KeyMarker: "a", UploadIdMarker: "u1", PageSize: 10})); fmt.Sprint(got) != fmt.Sprint(all[1:]) {
		t.Errorf("after a gone marker: %v", got)
	}
	// START versions appear in ListObjectVersions only when asked.
	h.view(func(r *Reader) error {
		resp, _ := r.ListObjectVersions(&metadatav1.ListObjectVersionsRequest{BucketId: bkt, Prefix: "a", PageSize: 10, IncludeUnfinished: true})
		if len(resp.Versions) != 2 || resp.Versions[0].VersionId != "u2" || resp.Versions[0].IsLatest || resp.Versions[1].VersionId != "va" || !resp.Versions[1].IsLatest {
			t.Errorf("versions of a: %v", resp.Versions)
		}
		resp, _ = r.ListObjectVersions(&metadatav1.ListObjectVersionsRequest{BucketId: bkt, Prefix: "a", PageSize: 10})
		if len(resp.Versions) != 1 {
			t.Errorf("versions of a without unfinished: %v", resp.Versions)
		}
		return nil
	})
	// The raw scans the lifecycle worker uses resume strictly after a position.
	h.view(func(r *Reader) error {
		var got []string
		var after []byte
		for {
			page, next, err := r.UploadsAfter(bkt, "", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page {
				got = append(got, u.VersionId)
			}
			if next == nil {
				break
			}
			after = next
		}
		if fmt.Sprint(got) != "[u2 u3 u4 u5]" {
			t.Errorf("UploadsAfter: %v", got)
		}
		page, next, _ := r.VersionsAfter(bkt, "b/", nil, 10)
		if len(page) != 2 || next != nil {
			t.Errorf("VersionsAfter b/: %v %q", page, next)
		}
		return nil
	})
}

// TestMigrateSchema1: a file written before uploads existed gets the new
// sub-buckets and an index of the START versions it holds.
func TestMigrateSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fsm.db")
	f, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, f: f}
	h.must(cmdCreateBucket(bkt, "bucket-one"))
	h.must(cmdStart(bkt, "k", "u1"))
	want := h.digest()
	// Make it look like schema 1.
	err = f.db.Update(func(tx *bolt.Tx) error {
		tree := tx.Bucket(bktObjects).Bucket([]byte(bkt))
		for _, sub := range [][]byte{bktUploads, bktParts} {
			if err := tree.DeleteBucket(sub); err != nil {
				return err
			}
		}
		return tx.Bucket(bktMeta).Put(keySchema, u64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := f.Digest(); !equalDigests(got, want) {
		t.Fatal("migrated state differs")
	}
	f.View(func(r *Reader) error {
		if up, err := r.Upload(bkt, "u1"); err != nil || up.Key != "k" {
			t.Fatalf("upload after migration: %v %v", up, err)
		}
		return nil
	})
}
