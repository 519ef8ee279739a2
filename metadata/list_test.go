package metadata

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// entries flattens a ListObjects page in key order; common prefixes are
// marked "P:".
func entries(resp *metadatav1.ListObjectsResponse) []string {
	var out []string
	for _, o := range resp.Objects {
		out = append(out, o.Key)
	}
	for _, p := range resp.CommonPrefixes {
		out = append(out, "P:"+p)
	}
	slices.SortFunc(out, func(a, b string) int {
		return strings.Compare(strings.TrimPrefix(a, "P:"), strings.TrimPrefix(b, "P:"))
	})
	return out
}

// expectedListing is S3's ListObjects over the visible keys, computed the
// naive way.
func expectedListing(visible []string, prefix, delim string) []string {
	var out []string
	for _, k := range visible { // sorted
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if i := strings.Index(k[len(prefix):], delim); delim != "" && i >= 0 {
			cp := "P:" + k[:len(prefix)+i+len(delim)]
			if len(out) == 0 || out[len(out)-1] != cp {
				out = append(out, cp)
			}
			continue
		}
		out = append(out, k)
	}
	return out
}

// TestListPagingProperty: for random key sets with "/" delimiters, paging
// through ListObjects (and ListObjectVersions) over gRPC with every page size
// from 1 to N yields exactly the full sorted listing: no duplicates, no
// gaps, every truncated page full, the last page not truncated.
func TestListPagingProperty(t *testing.T) {
	n := startNode(t, testConfig(t))
	rng := rand.New(rand.NewPCG(7, 11))
	segments := []string{"a", "b", "photos", "2024", "x y", "é", "a-"}
	for round := range 3 {
		b := mustBucket(t, n, "property-bucket-"+string(rune('a'+round)))
		keys := map[string]bool{} // key → visible
		for range 25 + 10*round {
			var parts []string
			for range 1 + rng.IntN(4) {
				parts = append(parts, segments[rng.IntN(len(segments))])
			}
			key := strings.Join(parts, "/")
			if rng.IntN(5) == 0 {
				key += "/" // a "folder" key
			}
			put(t, n, b.BucketId, key, "e")
			keys[key] = true
			if rng.IntN(6) == 0 {
				if _, err := n.meta.HideObject(ctx(t), &metadatav1.HideObjectRequest{BucketId: b.BucketId, Key: key}); err != nil {
					t.Fatal(err)
				}
				keys[key] = false
			}
		}
		var visible []string
		for k, ok := range keys {
			if ok {
				visible = append(visible, k)
			}
		}
		slices.Sort(visible)

		for _, q := range []struct{ prefix, delim string }{{"", ""}, {"", "/"}, {"a/", "/"}, {"photos/", "/"}, {"a", "/"}} {
			want := expectedListing(visible, q.prefix, q.delim)
			full, err := n.meta.ListObjects(ctx(t), &metadatav1.ListObjectsRequest{BucketId: b.BucketId, Prefix: q.prefix, Delimiter: q.delim, PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if got := entries(full); !slices.Equal(got, want) || full.Truncated {
				t.Fatalf("prefix %q delim %q: full listing\n got %q\nwant %q", q.prefix, q.delim, got, want)
			}
			for size := 1; size <= len(want); size++ {
				var got []string
				after := ""
				for page := 0; ; page++ {
					if page > len(want) {
						t.Fatalf("size %d: paging does not end", size)
					}
					resp, err := n.meta.ListObjects(ctx(t), &metadatav1.ListObjectsRequest{BucketId: b.BucketId, Prefix: q.prefix, Delimiter: q.delim, StartAfter: after, PageSize: int32(size)})
					if err != nil {
						t.Fatal(err)
					}
					es := entries(resp)
					if len(es) > size || (resp.Truncated && len(es) != size) || (!resp.Truncated && len(got)+len(es) != len(want)) {
						t.Fatalf("prefix %q delim %q size %d page %d: %d entries, truncated=%v", q.prefix, q.delim, size, page, len(es), resp.Truncated)
					}
					got = append(got, es...)
					if !resp.Truncated {
						break
					}
					after = resp.NextStartAfter
				}
				if !slices.Equal(got, want) {
					t.Fatalf("prefix %q delim %q size %d:\n got %q\nwant %q", q.prefix, q.delim, size, got, want)
				}
			}
			checkVersionPages(t, n, b.BucketId, q.prefix, q.delim)
		}
	}
}

// checkVersionPages pages ListObjectVersions with every page size, both with
// S3 (exclusive) and B2 (inclusive) markers, against the one-page listing.
func checkVersionPages(t *testing.T, n *node, bucketID, prefix, delim string) {
	t.Helper()
	row := func(resp *metadatav1.ListObjectVersionsResponse) []string {
		var out []string
		for _, v := range resp.Versions {
			out = append(out, v.Key+"\x00"+v.VersionId)
		}
		for _, p := range resp.CommonPrefixes {
			out = append(out, p)
		}
		slices.SortStableFunc(out, func(a, b string) int {
			return strings.Compare(strings.Split(a, "\x00")[0], strings.Split(b, "\x00")[0])
		})
		return out
	}
	full, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: bucketID, Prefix: prefix, Delimiter: delim, PageSize: 1000})
	if err != nil || full.Truncated {
		t.Fatalf("full versions listing: %v %v", full, err)
	}
	want := row(full)
	for _, inclusive := range []bool{false, true} {
		for size := 1; size <= len(want); size += 1 + size/4 {
			var got []string
			var km, vm string
			for page := 0; ; page++ {
				if page > len(want) {
					t.Fatal("version paging does not end")
				}
				resp, err := n.meta.ListObjectVersions(ctx(t), &metadatav1.ListObjectVersionsRequest{BucketId: bucketID, Prefix: prefix, Delimiter: delim,
					KeyMarker: km, VersionIdMarker: vm, PageSize: int32(size), Inclusive: inclusive})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, row(resp)...)
				if !resp.Truncated {
					break
				}
				km, vm = resp.NextKeyMarker, resp.NextVersionIdMarker
			}
			if !slices.Equal(got, want) {
				t.Fatalf("versions prefix %q delim %q inclusive %v size %d:\n got %q\nwant %q", prefix, delim, inclusive, size, got, want)
			}
		}
	}
}
