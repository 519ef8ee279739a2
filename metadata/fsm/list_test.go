package fsm

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// listed flattens a ListObjects page into names in key order ("/"-suffixed
// names may be keys or prefixes, so prefixes are marked with a leading "P:").
func listed(resp *metadatav1.ListObjectsResponse) []string {
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

func TestListObjectsExamples(t *testing.T) {
	h := newHarness(t)
	h.must(cmdCreateBucket(bkt, "bucket-one"))
	var s seq
	for _, k := range []string{"a", "a-b", "a/1", "a/2", "a/b/c", "b", "b/x", "c/", "c/d", "é", "é/z"} {
		h.must(cmdCommit(bkt, k, s.next(), "e", nil))
	}
	h.must(cmdHide(bkt, "b", s.next(), false))
	h.must(cmdStart(bkt, "d", s.next()))
	cases := []struct {
		name                      string
		prefix, delim, startAfter string
		limit                     int32
		want                      []string
		truncated                 bool
	}{
		{"all", "", "", "", 100, []string{"a", "a-b", "a/1", "a/2", "a/b/c", "b/x", "c/", "c/d", "é", "é/z"}, false},
		{"root with delimiter", "", "/", "", 100, []string{"a", "a-b", "P:a/", "P:b/", "P:c/", "é", "P:é/"}, false},
		{"prefix with delimiter", "a/", "/", "", 100, []string{"a/1", "a/2", "P:a/b/"}, false},
		{"start after a common prefix skips it", "", "/", "a/", 100, []string{"P:b/", "P:c/", "é", "P:é/"}, false},
		{"start after a key inside a common prefix", "", "/", "a/1", 100, []string{"P:b/", "P:c/", "é", "P:é/"}, false},
		{"start after is exclusive", "", "", "a/2", 3, []string{"a/b/c", "b/x", "c/"}, true},
		{"page counts prefixes", "", "/", "", 3, []string{"a", "a-b", "P:a/"}, true},
		{"exact fit is not truncated", "a/", "/", "", 3, []string{"a/1", "a/2", "P:a/b/"}, false},
		{"page size 0", "", "", "", 0, nil, false},
		{"start after beyond everything", "", "", "ÿ", 10, nil, false},
		{"prefix that is a key", "c/", "/", "", 10, []string{"c/", "c/d"}, false},
		{"multi-byte delimiter", "", "/b", "", 10, []string{"a", "a-b", "a/1", "a/2", "P:a/b", "b/x", "c/", "c/d", "é", "é/z"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.view(func(r *Reader) error {
				resp, err := r.ListObjects(&metadatav1.ListObjectsRequest{BucketId: bkt, Prefix: tc.prefix, Delimiter: tc.delim, StartAfter: tc.startAfter, PageSize: tc.limit})
				if err != nil {
					t.Fatal(err)
				}
				if got := listed(resp); !slices.Equal(got, tc.want) || resp.Truncated != tc.truncated {
					t.Fatalf("got %q truncated=%v, want %q truncated=%v", got, resp.Truncated, tc.want, tc.truncated)
				}
				if n := len(tc.want); n > 0 && strings.TrimPrefix(tc.want[n-1], "P:") != resp.NextStartAfter {
					t.Fatalf("next_start_after %q", resp.NextStartAfter)
				}
				return nil
			})
		})
	}
}

// model is a naive in-memory copy of the state, to check listings against.
type model struct {
	versions map[string][]*metadatav1.ObjectVersion // newest first
}

func (m *model) keys() []string {
	var ks []string
	for k, vs := range m.versions {
		if len(vs) > 0 {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func (m *model) latest(key string) *metadatav1.ObjectVersion {
	for _, v := range m.versions[key] {
		if v.Action != metadatav1.VersionAction_VERSION_ACTION_START {
			return v
		}
	}
	return nil
}

func group(key, prefix, delim string) (string, bool) {
	if delim == "" {
		return "", false
	}
	if i := strings.Index(key[len(prefix):], delim); i >= 0 {
		return key[:len(prefix)+i+len(delim)], true
	}
	return "", false
}

// listObjects is the specification: current keys and distinct common
// prefixes, in order.
func (m *model) listObjects(prefix, delim string) []string {
	var out []string
	for _, k := range m.keys() {
		if !strings.HasPrefix(k, prefix) || m.latest(k).GetAction() != metadatav1.VersionAction_VERSION_ACTION_UPLOAD {
			continue
		}
		if cp, ok := group(k, prefix, delim); ok {
			if len(out) == 0 || out[len(out)-1] != "P:"+cp {
				out = append(out, "P:"+cp)
			}
			continue
		}
		out = append(out, k)
	}
	return out
}

// listVersions is the specification of ListObjectVersions: "key version
// latest" rows, or "P:prefix".
func (m *model) listVersions(prefix, delim string, unfinished bool) []string {
	var out []string
	for _, k := range m.keys() {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if cp, ok := group(k, prefix, delim); ok {
			if len(out) == 0 || out[len(out)-1] != "P:"+cp {
				out = append(out, "P:"+cp)
			}
			continue
		}
		latest := m.latest(k)
		for _, v := range m.versions[k] {
			if v.Action == metadatav1.VersionAction_VERSION_ACTION_START && !unfinished {
				continue
			}
			out = append(out, versionRow(v, v == latest))
		}
	}
	return out
}

func versionRow(v *metadatav1.ObjectVersion, latest bool) string {
	s := v.Key + " " + v.VersionId
	if latest {
		s += " latest"
	}
	return s
}

// TestListingMatchesModel applies random commits, hides, starts and deletes
// to keys built from a tiny alphabet (so prefixes and delimiters collide a
// lot), then checks that paging through every listing with every page size
// yields exactly the model's listing, without duplicates or gaps.
func TestListingMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "/", "é", "-"}
	for round := range 4 {
		h := newHarness(t)
		h.must(cmdCreateBucket(bkt, "bucket-one"))
		m := &model{versions: map[string][]*metadatav1.ObjectVersion{}}
		var s seq
		var ids []string
		var batch []*raft.Log
		seen := map[string]bool{}
		for range 120 + round*40 {
			var key strings.Builder
			for range 1 + rng.IntN(5) {
				key.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			k, id := key.String(), s.next()
			var cmd *fsmv1.Command
			switch p := rng.IntN(10); {
			case p < 6:
				cmd = cmdCommit(bkt, k, id, "e", nil)
			case p < 7:
				cmd = cmdStart(bkt, k, id)
			case p < 8 && seen[k]:
				cmd = cmdHide(bkt, k, id, false)
			case len(ids) > 0:
				cmd = cmdDeleteVersion(bkt, "", ids[rng.IntN(len(ids))])
			default:
				continue
			}
			batch = append(batch, h.entry(cmd))
			ids = append(ids, id)
			seen[k] = true
		}
		for i, out := range h.f.ApplyBatch(batch) {
			res := out.(*Result)
			if res.Err != nil {
				continue
			}
			v := res.Version
			v.IsLatest = false
			if decodeCommand(batch[i]).GetDeleteObjectVersion() != nil {
				vs := m.versions[v.Key]
				m.versions[v.Key] = slices.DeleteFunc(vs, func(x *metadatav1.ObjectVersion) bool { return x.VersionId == v.VersionId })
				continue
			}
			m.versions[v.Key] = append([]*metadatav1.ObjectVersion{v}, m.versions[v.Key]...)
		}
		for _, prefix := range []string{"", "a", "a/", "é"} {
			for _, delim := range []string{"", "/", "a/"} {
				checkObjectPaging(t, h, m.listObjects(prefix, delim), prefix, delim)
				for _, unfinished := range []bool{false, true} {
					for _, inclusive := range []bool{false, true} {
						checkVersionPaging(t, h, m.listVersions(prefix, delim, unfinished), prefix, delim, unfinished, inclusive)
					}
				}
			}
		}
	}
}

func checkObjectPaging(t *testing.T, h *harness, want []string, prefix, delim string) {
	t.Helper()
	for size := 1; size <= len(want)+1; size++ {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("prefix %q delim %q size %d: paging does not end", prefix, delim, size)
			}
			var resp *metadatav1.ListObjectsResponse
			h.view(func(r *Reader) (err error) {
				resp, err = r.ListObjects(&metadatav1.ListObjectsRequest{BucketId: bkt, Prefix: prefix, Delimiter: delim, StartAfter: after, PageSize: int32(size)})
				return err
			})
			page := listed(resp)
			if len(page) > size || (resp.Truncated && len(page) != size) {
				t.Fatalf("size %d: page of %d, truncated=%v", size, len(page), resp.Truncated)
			}
			got = append(got, page...)
			if !resp.Truncated {
				break
			}
			after = resp.NextStartAfter
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ListObjects prefix %q delim %q size %d:\n got %q\nwant %q", prefix, delim, size, got, want)
		}
	}
}

func checkVersionPaging(t *testing.T, h *harness, want []string, prefix, delim string, unfinished, inclusive bool) {
	t.Helper()
	for size := 1; size <= len(want)+1; size++ {
		var got []string
		var km, vm string
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("paging does not end")
			}
			var resp *metadatav1.ListObjectVersionsResponse
			h.view(func(r *Reader) (err error) {
				resp, err = r.ListObjectVersions(&metadatav1.ListObjectVersionsRequest{BucketId: bkt, Prefix: prefix, Delimiter: delim,
					KeyMarker: km, VersionIdMarker: vm, PageSize: int32(size), IncludeUnfinished: unfinished, Inclusive: inclusive})
				return err
			})
			var page []string
			for _, v := range resp.Versions {
				page = append(page, versionRow(v, v.IsLatest))
			}
			for _, p := range resp.CommonPrefixes {
				page = append(page, "P:"+p)
			}
			slices.SortStableFunc(page, func(a, b string) int {
				return strings.Compare(strings.Fields(strings.TrimPrefix(a, "P:"))[0], strings.Fields(strings.TrimPrefix(b, "P:"))[0])
			})
			if len(page) > size || (resp.Truncated && len(page) != size) {
				t.Fatalf("size %d: page of %d, truncated=%v", size, len(page), resp.Truncated)
			}
			got = append(got, page...)
			if !resp.Truncated {
				break
			}
			km, vm = resp.NextKeyMarker, resp.NextVersionIdMarker
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ListObjectVersions prefix %q delim %q unfinished %v inclusive %v size %d:\n got %q\nwant %q",
				prefix, delim, unfinished, inclusive, size, got, want)
		}
	}
}

// TestVersionPagingWhileDeleting: a client that deletes every version a page
// returned, then asks for the next page with the (now deleted) last version
// as marker, still walks the whole bucket.
func TestVersionPagingWhileDeleting(t *testing.T) {
	h := newHarness(t)
	h.must(cmdCreateBucket(bkt, "bucket-one"))
	var s seq
	total := 0
	for _, k := range []string{"a", "b", "c"} {
		for range 3 {
			h.must(cmdCommit(bkt, k, s.next(), "e", nil))
			total++
		}
	}
	var km, vm string
	seen := 0
	for pages := 0; pages < 20; pages++ {
		var resp *metadatav1.ListObjectVersionsResponse
		h.view(func(r *Reader) (err error) {
			resp, err = r.ListObjectVersions(&metadatav1.ListObjectVersionsRequest{BucketId: bkt, KeyMarker: km, VersionIdMarker: vm, PageSize: 2})
			return err
		})
		for _, v := range resp.Versions {
			h.must(cmdDeleteVersion(bkt, v.Key, v.VersionId))
			seen++
		}
		if !resp.Truncated {
			break
		}
		km, vm = resp.NextKeyMarker, resp.NextVersionIdMarker
	}
	if seen != total {
		t.Fatalf("deleted %d versions while paging, want %d", seen, total)
	}
}
