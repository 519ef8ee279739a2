package b2

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/objects"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Listing limits (spec/b2-native.md §5.3, §5.4, §9).
const (
	defaultFileCount = 100
	maxFileCount     = 10000
	// metaPage is metadata's largest listing page.
	metaPage = 1000
)

// bucketOfFileID is the bucket id embedded in a B2 fileId
// ("4_z<24 hex>_f…"), or "" when id does not have that shape.
func bucketOfFileID(id string) string {
	const pre = "4_z"
	if len(id) > len(pre)+24 && len(id) <= 200 && strings.HasPrefix(id, pre) && id[len(pre)+24] == '_' {
		b := id[len(pre) : len(pre)+24]
		if strings.Trim(b, "0123456789abcdef") == "" {
			return b
		}
	}
	return ""
}

// badFileID is the error for a fileId that is not one of ours.
func badFileID(name string) *errs.Error {
	return errs.Errorf(errs.InvalidArgument, "b2.fileId", "invalid %s", name)
}

// before turns B2's inclusive start name into metadata's exclusive
// start_after: a string below s that no valid file name lies between. It
// replaces the last rune of s by its predecessor followed by U+10FFFF
// repeated past the longest file name, which every name extending that
// predecessor sorts below (byte order of UTF-8 is code point order). The
// result is valid UTF-8, as it must be to cross gRPC; s must be too.
func before(s string) string {
	if s == "" {
		return ""
	}
	r, size := utf8.DecodeLastRuneInString(s)
	p := s[:len(s)-size]
	if r <= 0 {
		return p
	}
	r--
	if r >= 0xD800 && r <= 0xDFFF {
		r = 0xD7FF // surrogates are not runes; skip below them
	}
	return p + string(r) + strings.Repeat(string(utf8.MaxRune), maxNameRunes)
}

// maxNameRunes bounds the U+10FFFF run before() appends: 4-byte runes
// beyond the 1024-byte limit of a file name.
const maxNameRunes = 1024/4 + 1

// entry is a listing row: a version, or a folder (common prefix).
type entry struct {
	version *metadatav1.ObjectVersion
	folder  string
}

func (e entry) name() string {
	if e.version != nil {
		return e.version.GetKey()
	}
	return e.folder
}

// merge interleaves versions (in key order) and common prefixes by name.
func merge(versions []*metadatav1.ObjectVersion, prefixes []string) []entry {
	out := make([]entry, 0, len(versions)+len(prefixes))
	i, j := 0, 0
	for i < len(versions) || j < len(prefixes) {
		if j >= len(prefixes) || i < len(versions) && versions[i].GetKey() < prefixes[j] {
			out = append(out, entry{version: versions[i]})
			i++
		} else {
			out = append(out, entry{folder: prefixes[j]})
			j++
		}
	}
	return out
}

// render turns listing rows into file objects.
func (h *Handler) render(c *call, bucketID string, rows []entry) []fileJSON {
	files := make([]fileJSON, 0, len(rows))
	for _, e := range rows {
		if e.version != nil {
			files = append(files, fileOf(c.principal, c.route.Version, c.accountID(), e.version))
		} else {
			f := folderOf(c.route.Version, bucketID, e.folder)
			f.AccountID = c.accountID()
			files = append(files, f)
		}
	}
	return files
}

type listFileNamesRequest struct {
	BucketID      string `json:"bucketId"`
	StartFileName string `json:"startFileName"`
	MaxFileCount  *num   `json:"maxFileCount"`
	Prefix        string `json:"prefix"`
	Delimiter     string `json:"delimiter"`
	count         int
}

func (q *listFileNamesRequest) check() error {
	if q.BucketID == "" {
		return required("bucketId")
	}
	n, err := countParam("maxFileCount", q.MaxFileCount, defaultFileCount, maxFileCount)
	if err != nil {
		return err
	}
	if len(q.Prefix) > 1024 || len(q.StartFileName) > 1024 || len(q.Delimiter) > 1024 {
		return bad("prefix, startFileName and delimiter must be at most 1024 bytes")
	}
	if !utf8.ValidString(q.Prefix) || !utf8.ValidString(q.StartFileName) || !utf8.ValidString(q.Delimiter) {
		return bad("prefix, startFileName and delimiter must be valid UTF-8")
	}
	q.count = int(n)
	return nil
}

// listFileNames is b2_list_file_names: the newest visible version of each
// name from startFileName (inclusive). nextFileName is the name of the
// first row not returned, so passing it back continues exactly there.
func (h *Handler) listFileNames(w http.ResponseWriter, r *http.Request, c *call) error {
	var q listFileNamesRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	count := q.count
	if err := h.decide(c, &authv1.Access{Capability: policy.ListFiles, BucketId: q.BucketID, Name: q.Prefix}); err != nil {
		return err
	}
	after := before(q.StartFileName)
	var rows []entry
	// One row more than asked, to name the next one.
	for len(rows) <= count {
		resp, err := h.meta.ListObjects(r.Context(), &metadatav1.ListObjectsRequest{
			BucketId: q.BucketID, Prefix: q.Prefix, Delimiter: q.Delimiter, StartAfter: after,
			PageSize: int32(min(count+1-len(rows), metaPage)),
		})
		if err != nil {
			return err
		}
		rows = append(rows, merge(resp.GetObjects(), resp.GetCommonPrefixes())...)
		if !resp.GetTruncated() {
			break
		}
		after = resp.GetNextStartAfter()
	}
	out := struct {
		Files        []fileJSON `json:"files"`
		NextFileName *string    `json:"nextFileName"`
	}{}
	if len(rows) > count {
		next := rows[count].name()
		out.NextFileName = &next
		rows = rows[:count]
	}
	out.Files = h.render(c, q.BucketID, rows)
	return writeJSON(w, out)
}

type listFileVersionsRequest struct {
	listFileNamesRequest
	StartFileID string `json:"startFileId"`
}

func (q *listFileVersionsRequest) check() error {
	if err := q.listFileNamesRequest.check(); err != nil {
		return err
	}
	if q.StartFileID != "" {
		if q.StartFileName == "" {
			return withCode(bad("startFileId requires startFileName"), 400, "bad_request")
		}
		if bucketOfFileID(q.StartFileID) != q.BucketID {
			return withCode(badFileID("startFileId"), 400, "invalid_file_id")
		}
	}
	return nil
}

// listFileVersions is b2_list_file_versions: every version (hide markers
// and unfinished large files included), by name and newest first, resuming
// at (startFileName, startFileId) inclusively.
func (h *Handler) listFileVersions(w http.ResponseWriter, r *http.Request, c *call) error {
	var q listFileVersionsRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	count := q.count
	if err := h.decide(c, &authv1.Access{Capability: policy.ListFiles, BucketId: q.BucketID, Name: q.Prefix}); err != nil {
		return err
	}
	out := struct {
		Files        []fileJSON `json:"files"`
		NextFileName *string    `json:"nextFileName"`
		NextFileID   *string    `json:"nextFileId"`
	}{}
	marker, versionMarker := q.StartFileName, q.StartFileID
	var rows []entry
	for len(rows) < count {
		resp, err := h.meta.ListObjectVersions(r.Context(), &metadatav1.ListObjectVersionsRequest{
			BucketId: q.BucketID, Prefix: q.Prefix, Delimiter: q.Delimiter,
			KeyMarker: marker, VersionIdMarker: versionMarker, Inclusive: true, IncludeUnfinished: true,
			PageSize: int32(min(count-len(rows), metaPage)),
		})
		if err != nil {
			if e := errs.As(err); e != nil && e.Kind == errs.InvalidArgument {
				// Everything else was checked here: metadata refuses a
				// startFileId that is not a version of startFileName.
				return withCode(e, 400, "invalid_file_id")
			}
			return err
		}
		rows = append(rows, merge(resp.GetVersions(), resp.GetCommonPrefixes())...)
		if !resp.GetTruncated() {
			break
		}
		marker, versionMarker = resp.GetNextKeyMarker(), resp.GetNextVersionIdMarker()
		if len(rows) >= count {
			out.NextFileName = &marker
			if versionMarker != "" {
				out.NextFileID = &versionMarker
			}
		}
	}
	out.Files = h.render(c, q.BucketID, rows)
	return writeJSON(w, out)
}

type getFileInfoRequest struct {
	FileID string `json:"fileId"`
}

func (q *getFileInfoRequest) check() error {
	if q.FileID == "" {
		return required("fileId")
	}
	if bucketOfFileID(q.FileID) == "" {
		return badFileID("fileId")
	}
	return nil
}

// version reads a version by file id after authorizing capability on its
// bucket, then again on its name (a key with a name prefix must not learn
// about files outside it).
func (h *Handler) version(r *http.Request, c *call, fileID, capability string) (*metadatav1.ObjectVersion, error) {
	if fileID == "" {
		return nil, required("fileId")
	}
	bucketID := bucketOfFileID(fileID)
	if bucketID == "" {
		return nil, badFileID("fileId")
	}
	if err := h.decideAnyName(c, &authv1.Access{Capability: capability, BucketId: bucketID}); err != nil {
		return nil, err
	}
	resp, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{BucketId: bucketID, VersionId: fileID})
	if err != nil {
		return nil, err
	}
	v := resp.GetVersion()
	if err := h.decide(c, &authv1.Access{Capability: capability, BucketId: bucketID, Name: v.GetKey()}); err != nil {
		return nil, err
	}
	return v, nil
}

func (h *Handler) getFileInfo(w http.ResponseWriter, r *http.Request, c *call) error {
	var q getFileInfoRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	v, err := h.version(r, c, q.FileID, policy.ReadFiles)
	if err != nil {
		return err
	}
	return writeJSON(w, fileOf(c.principal, c.route.Version, c.accountID(), v))
}

type hideFileRequest struct {
	BucketID string `json:"bucketId"`
	FileName string `json:"fileName"`
}

func (q *hideFileRequest) check() error {
	if q.BucketID == "" {
		return required("bucketId")
	}
	if q.FileName == "" {
		return required("fileName")
	}
	return objects.ValidateKey(q.FileName)
}

// hideFile is b2_hide_file: a hide marker becomes the newest version.
// Hiding is allowed even under retention or legal hold: it removes nothing.
func (h *Handler) hideFile(w http.ResponseWriter, r *http.Request, c *call) error {
	var q hideFileRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	if err := h.decide(c, &authv1.Access{Capability: policy.WriteFiles, BucketId: q.BucketID, Name: q.FileName}); err != nil {
		return err
	}
	marker, err := h.objects.Hide(r.Context(), &metadatav1.HideObjectRequest{
		BucketId: q.BucketID, Key: q.FileName, FailIfHidden: true, RequestId: c.id,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, fileOf(c.principal, c.route.Version, c.accountID(), marker))
}

type deleteFileVersionRequest struct {
	FileName         string `json:"fileName"`
	FileID           string `json:"fileId"`
	BypassGovernance bool   `json:"bypassGovernance"`
}

func (q *deleteFileVersionRequest) check() error {
	if q.FileName == "" {
		return required("fileName")
	}
	if q.FileID == "" {
		return required("fileId")
	}
	if bucketOfFileID(q.FileID) == "" {
		// Not one of ours: no such file, as B2 says of any unknown id.
		return errs.Errorf(errs.VersionNotFound, "b2.deleteFileVersion", "File not present: %s %s", truncate(q.FileName, 256), truncate(q.FileID, 200))
	}
	return nil
}

// deleteFileVersion is b2_delete_file_version: any version — upload, hide
// marker, or unfinished large file (cancelled with its parts) — is removed
// for good, unless retention or a legal hold protects it.
func (h *Handler) deleteFileVersion(w http.ResponseWriter, r *http.Request, c *call) error {
	var q deleteFileVersionRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	bucketID := bucketOfFileID(q.FileID)
	access := &authv1.Access{Capability: policy.DeleteFiles, BucketId: bucketID, Name: q.FileName}
	if err := h.decide(c, access); err != nil {
		return err
	}
	if q.BypassGovernance {
		access.Capability = policy.BypassGovernance
		if err := h.decide(c, access); err != nil {
			return err
		}
	}
	got, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{BucketId: bucketID, Key: q.FileName, VersionId: q.FileID})
	if err != nil {
		return err
	}
	if got.GetVersion().GetAction() == metadatav1.VersionAction_VERSION_ACTION_START {
		if err := h.abortUpload(r, got.GetVersion()); err != nil {
			return err
		}
	} else {
		if _, err := h.objects.DeleteVersion(r.Context(), &metadatav1.DeleteObjectVersionRequest{
			BucketId: bucketID, Key: q.FileName, VersionId: q.FileID, BypassGovernance: q.BypassGovernance, RequestId: c.id,
		}); err != nil {
			return err
		}
	}
	return writeJSON(w, struct {
		FileID   string `json:"fileId"`
		FileName string `json:"fileName"`
	}{q.FileID, q.FileName})
}
