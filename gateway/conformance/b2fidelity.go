package conformance

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// B2Fidelity runs the checks of B2 behaviours where Backblaze's own SDK
// (Debian's python3-b2sdk) and B2's documented rules saw coffer differ:
// hide markers' contentSha1, the lock settings in b2_upload_file's answer,
// b2Content* download overrides.
func B2Fidelity(t *testing.T, tg B2Target) {
	t.Run("B2SDKHideMarkers", func(t *testing.T) { testB2SDKHideMarkers(t, tg) })
	t.Run("B2SDKUploadLockSettings", func(t *testing.T) { testB2SDKUploadLockSettings(t, tg) })
	t.Run("DownloadOverrides", func(t *testing.T) { testB2DownloadOverrides(t, tg) })
}

// b2sdkPreamble makes `api`, a b2sdk B2Api authorized at the target, and
// `out(v)`, which prints v as the script's JSON result.
const b2sdkPreamble = `
import json, os, sys, time
from b2sdk.v2 import B2Api, InMemoryAccountInfo
api = B2Api(InMemoryAccountInfo())
api.authorize_account(os.environ["B2_REALM"], os.environ["B2_KEY_ID"], os.environ["B2_KEY"])
def out(v):
    json.dump(v, sys.stdout, default=str)
`

// B2SDK runs script with Debian's b2sdk against the target (the preamble
// above defines api and out) and decodes the JSON it prints into v.
func (tg B2Target) B2SDK(t testing.TB, script string, v any) {
	t.Helper()
	env := []string{"B2_REALM=" + tg.Endpoint, "B2_KEY_ID=" + tg.KeyID, "B2_KEY=" + tg.Key}
	got := python(t, "python3-b2sdk", "b2sdk", env, b2sdkPreamble+script)
	if v != nil {
		decodeJSON(t, got, v)
	}
}

// testB2SDKHideMarkers: what `b2 sync --keep-days` and `--delete` do with
// b2sdk — hide a file, list versions with the hide marker in them, sync a
// local folder over a bucket holding hide markers — works (b2sdk reads
// contentSha1 as a string: a null crashed every one of these).
func testB2SDKHideMarkers(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 2)
	bucket := c.CreateBucket("fid-b2sdk-hide", "allPrivate", nil)
	name := bucket["bucketName"].(string)
	dir := t.TempDir()
	var got struct {
		Hidden      string
		HiddenSHA1  string
		Listed      []string
		AfterKeep   []string
		AfterDelete []string
	}
	tg.B2SDK(t, `
from b2sdk.v2 import Synchronizer, SyncReport, parse_folder, KeepOrDeleteMode
import io
name, local = `+pythonString(name)+`, `+pythonString(dir)+`
b = api.get_bucket_by_name(name)
for n in ("a.txt", "b.txt", "c.txt"):
    b.upload_bytes(n.encode() * 10, n)
hidden = b.hide_file("a.txt")
listed = sorted("%s:%s" % (fv.file_name, fv.action) for fv in b.list_file_versions("a.txt"))
def rows():
    return sorted("%s:%s" % (fv.file_name, fv.action) for fv, _ in b.ls(latest_only=False, recursive=True))
def sync(mode, keep_days=None):
    s = Synchronizer(max_workers=2, keep_days_or_delete=mode, keep_days=keep_days)
    with SyncReport(io.StringIO(), True) as reporter:
        s.sync_folders(source_folder=parse_folder(local, api), dest_folder=parse_folder("b2://" + name, api),
                       now_millis=int(round(time.time() * 1000)), reporter=reporter)
# The local folder holds only b.txt: c.txt gets hidden (kept 1 day), then deleted.
with open(os.path.join(local, "b.txt"), "wb") as f:
    f.write(b"b.txt" * 10)
sync(KeepOrDeleteMode.KEEP_BEFORE_DELETE, keep_days=1)
after_keep = rows()
sync(KeepOrDeleteMode.DELETE)
out({"Hidden": hidden.action, "HiddenSHA1": str(hidden.content_sha1), "Listed": listed,
     "AfterKeep": after_keep, "AfterDelete": rows()})
`, &got)
	if got.Hidden != "hide" || got.HiddenSHA1 != "none" {
		t.Fatalf("hide_file: %+v", got)
	}
	if strings.Join(got.Listed, ",") != "a.txt:hide,a.txt:upload" {
		t.Fatalf("list_file_versions with a hide marker: %v", got.Listed)
	}
	if !containsAll(got.AfterKeep, "c.txt:hide", "c.txt:upload", "b.txt:upload") {
		t.Fatalf("after sync --keep-days: %v", got.AfterKeep)
	}
	for _, r := range got.AfterDelete {
		if strings.HasPrefix(r, "a.txt") || strings.HasPrefix(r, "c.txt") {
			t.Fatalf("after sync --delete: %v", got.AfterDelete)
		}
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// testB2SDKUploadLockSettings: b2_upload_file answers the new file's
// retention and legal hold readable for a key that may read them (b2sdk's
// FileVersion shows them; they were "unauthorized" before).
func testB2SDKUploadLockSettings(t *testing.T, tg B2Target) {
	var got struct{ Mode, Until, Hold, InfoMode, InfoHold, BucketID string }
	tg.B2SDK(t, `
from b2sdk.v2 import FileRetentionSetting, RetentionMode, LegalHold
name = `+pythonString(BucketName("fid-b2sdk-lock"))+`
b = api.create_bucket(name, "allPrivate", is_file_lock_enabled=True)
until = int(time.time() * 1000) + 3600 * 1000
fv = b.upload_bytes(b"locked", "locked.txt", file_retention=FileRetentionSetting(RetentionMode.GOVERNANCE, until), legal_hold=LegalHold.ON)
info = b.get_file_info_by_id(fv.id_)
api.update_file_legal_hold(fv.id_, fv.file_name, LegalHold.OFF)
out({"Mode": str(fv.file_retention.mode), "Until": str(fv.file_retention.retain_until == until), "Hold": str(fv.legal_hold),
     "InfoMode": str(info.file_retention.mode), "InfoHold": str(info.legal_hold), "BucketID": b.id_})
`, &got)
	if got.BucketID != "" {
		// Governed: the raw client deletes with bypassGovernance.
		c := NewB2(t, tg, 2)
		t.Cleanup(func() { c.EmptyAndDeleteBucket(got.BucketID) })
	}
	if got.Mode != "RetentionMode.GOVERNANCE" || got.Until != "True" || got.Hold != "LegalHold.ON" ||
		got.InfoMode != got.Mode || got.InfoHold != got.Hold {
		t.Fatalf("b2_upload_file's lock settings as b2sdk reads them: %+v", got)
	}
}

// testB2DownloadOverrides (issue 14): b2Content* parameters need a token —
// anonymous ones on a public bucket would let anyone serve an upload as
// inline HTML from the store's origin — and a download authorization
// minted with some binds them.
func testB2DownloadOverrides(t *testing.T, tg B2Target) {
	c := NewB2(t, tg, 3)
	pub := c.CreateBucket("fid-overrides", "allPublic", nil)
	name, id := pub["bucketName"].(string), pub["bucketId"].(string)
	c.Upload(id, "page.txt", []byte("<script>alert(1)</script>"), nil)
	get := func(token string, params url.Values) *B2Response {
		t.Helper()
		u := c.DownloadURL + "/file/" + name + "/page.txt"
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		return c.Do(req)
	}
	html := url.Values{"b2ContentType": {"text/html"}, "b2ContentDisposition": {"inline"}}
	// Anonymous: the file itself is public, its headers are not to be chosen.
	if r := get("", nil); r.Status != 200 || r.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("anonymous download: %d %v", r.Status, r.Header)
	}
	for _, p := range []string{"b2ContentType", "b2ContentDisposition", "b2ContentLanguage", "b2Expires", "b2CacheControl", "b2ContentEncoding"} {
		r := get("", url.Values{p: {"x"}})
		WantB2Error(t, r, 401, "unauthorized")
	}
	// An account token may choose them.
	if r := get(c.Token, html); r.Status != 200 || r.Header.Get("Content-Type") != "text/html" || r.Header.Get("Content-Disposition") != "inline" {
		t.Fatalf("overrides with an account token: %d %v", r.Status, r.Header)
	}
	// A download authorization binds what it was minted with.
	auth := c.Must("b2_get_download_authorization", map[string]any{"bucketId": id, "fileNamePrefix": "", "validDurationInSeconds": 60,
		"b2ContentDisposition": "attachment", "b2CacheControl": "no-store"})
	tok := auth["authorizationToken"].(string)
	r := get(tok, nil)
	if r.Status != 200 || r.Header.Get("Content-Disposition") != "attachment" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("bound token, no parameters: %d %v", r.Status, r.Header)
	}
	if r := get(tok, url.Values{"b2ContentDisposition": {"attachment"}, "b2ContentLanguage": {"de"}}); r.Status != 200 ||
		r.Header.Get("Content-Disposition") != "attachment" || r.Header.Get("Content-Language") != "de" {
		t.Fatalf("bound token, the same value: %d %v", r.Status, r.Header)
	}
	WantB2Error(t, get(tok, url.Values{"b2ContentDisposition": {"inline"}}), 401, "unauthorized")
	WantB2Error(t, get(tok, url.Values{"b2CacheControl": {"max-age=3600"}}), 401, "unauthorized")
	// The same through the Authorization query parameter (what browsers use).
	WantB2Error(t, get("", url.Values{"Authorization": {tok}, "b2ContentDisposition": {"inline"}}), 401, "unauthorized")
	if r := get("", url.Values{"Authorization": {tok}}); r.Status != 200 || r.Header.Get("Content-Disposition") != "attachment" {
		t.Fatalf("bound token in the query: %d %v", r.Status, r.Header)
	}
	// Oversized overrides are refused when the token is minted.
	WantB2Error(t, c.Call("b2_get_download_authorization", map[string]any{"bucketId": id, "fileNamePrefix": "", "validDurationInSeconds": 60,
		"b2ContentDisposition": fmt.Sprintf("attachment; filename=%q", strings.Repeat("x", 3000))}), 400, "bad_request")
}
