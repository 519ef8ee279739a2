package b2

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/coffer-project/coffer/services/errs"
)

// handlerFunc serves one classified, authenticated request.
type handlerFunc func(h *Handler, w http.ResponseWriter, r *http.Request, c *call) error

// callSpec declares a call as data: where it is served (API path, upload
// URL or download), the methods it accepts, the token it needs — checked
// once, before the handler runs (auth.go) — and its handler. A nil handler
// answers an explicit "not supported".
type callSpec struct {
	kind    Kind
	methods []string
	token   tokenNeed
	handler handlerFunc
}

// tokenNeed is the token a call must carry.
type tokenNeed int

const (
	// accountToken: an account authorization token in Authorization.
	accountToken tokenNeed = iota
	// noToken: the call authenticates itself (b2_authorize_account's
	// Basic credentials).
	noToken
	// uploadToken: the upload token of the URL's target, in Authorization.
	uploadToken
	// downloadToken: optional (public buckets); an account token or a
	// download authorization, in the header or the query.
	downloadToken
	// accountDownloadToken: optional; an account token only (download
	// authorizations are for downloads by name, §6.5).
	accountDownloadToken
)

var (
	jsonMethods     = []string{http.MethodPost, http.MethodGet}
	postOnly        = []string{http.MethodPost}
	downloadMethods = []string{http.MethodGet, http.MethodHead}
	byIDMethods     = []string{http.MethodGet, http.MethodHead, http.MethodPost}
)

func (s callSpec) allows(method string) bool { return slices.Contains(s.methods, method) }

// calls is the B2 call table (spec/b2-native.md §2–§6, §10). Every JSON
// call accepts POST with a JSON body and GET with query parameters.
var calls = map[string]callSpec{
	"b2_authorize_account": {KindAPI, jsonMethods, noToken, (*Handler).authorizeAccount},

	"b2_create_bucket": {KindAPI, jsonMethods, accountToken, (*Handler).createBucket},
	"b2_update_bucket": {KindAPI, jsonMethods, accountToken, (*Handler).updateBucket},
	"b2_list_buckets":  {KindAPI, jsonMethods, accountToken, (*Handler).listBuckets},
	"b2_delete_bucket": {KindAPI, jsonMethods, accountToken, (*Handler).deleteBucket},

	"b2_get_upload_url":      {KindAPI, jsonMethods, accountToken, (*Handler).getUploadURL},
	"b2_upload_file":         {KindUpload, postOnly, uploadToken, (*Handler).uploadFile},
	"b2_list_file_names":     {KindAPI, jsonMethods, accountToken, (*Handler).listFileNames},
	"b2_list_file_versions":  {KindAPI, jsonMethods, accountToken, (*Handler).listFileVersions},
	"b2_get_file_info":       {KindAPI, jsonMethods, accountToken, (*Handler).getFileInfo},
	"b2_hide_file":           {KindAPI, jsonMethods, accountToken, (*Handler).hideFile},
	"b2_delete_file_version": {KindAPI, jsonMethods, accountToken, (*Handler).deleteFileVersion},
	"b2_copy_file":           {KindAPI, jsonMethods, accountToken, (*Handler).copyFile},

	"b2_download_file_by_id":   {KindAPI, byIDMethods, accountDownloadToken, (*Handler).downloadByID},
	"b2_download_file_by_name": {KindDownload, downloadMethods, downloadToken, (*Handler).downloadByName},

	"b2_start_large_file":            {KindAPI, jsonMethods, accountToken, (*Handler).startLargeFile},
	"b2_get_upload_part_url":         {KindAPI, jsonMethods, accountToken, (*Handler).getUploadPartURL},
	"b2_upload_part":                 {KindUploadPart, postOnly, uploadToken, (*Handler).uploadPart},
	"b2_copy_part":                   {KindAPI, jsonMethods, accountToken, (*Handler).copyPart},
	"b2_list_parts":                  {KindAPI, jsonMethods, accountToken, (*Handler).listParts},
	"b2_finish_large_file":           {KindAPI, jsonMethods, accountToken, (*Handler).finishLargeFile},
	"b2_cancel_large_file":           {KindAPI, jsonMethods, accountToken, (*Handler).cancelLargeFile},
	"b2_list_unfinished_large_files": {KindAPI, jsonMethods, accountToken, (*Handler).listUnfinishedLargeFiles},

	"b2_create_key":                 {KindAPI, jsonMethods, accountToken, (*Handler).createKey},
	"b2_list_keys":                  {KindAPI, jsonMethods, accountToken, (*Handler).listKeys},
	"b2_delete_key":                 {KindAPI, jsonMethods, accountToken, (*Handler).deleteKey},
	"b2_get_download_authorization": {KindAPI, jsonMethods, accountToken, (*Handler).getDownloadAuthorization},

	"b2_update_file_retention":  {KindAPI, jsonMethods, accountToken, (*Handler).updateFileRetention},
	"b2_update_file_legal_hold": {KindAPI, jsonMethods, accountToken, (*Handler).updateFileLegalHold},

	// Event notifications are optional (spec/b2-native.md §5.19).
	"b2_get_bucket_notification_rules": {KindAPI, jsonMethods, accountToken, nil},
	"b2_set_bucket_notification_rules": {KindAPI, jsonMethods, accountToken, nil},
}

// testMode implements X-Bz-Test-Mode (spec: clients test their retry logic
// with it). Failures are deterministic — every third request carrying the
// header fails — so tests can rely on both failures and progress.
type testMode struct {
	uploads, tokens atomic.Uint64
}

// Test modes.
const (
	testFailSomeUploads = "fail_some_uploads"
	testExpireTokens    = "expire_some_account_authorization_tokens"
	testCapExceeded     = "force_cap_exceeded"
)

// apply fails the request as its X-Bz-Test-Mode header asks, if test mode
// is enabled; otherwise the header is ignored.
func (t *testMode) apply(enabled bool, r *http.Request, c *call) error {
	if !enabled {
		return nil
	}
	const op = "b2.testMode"
	for _, v := range r.Header.Values("X-Bz-Test-Mode") {
		for _, mode := range strings.Split(v, ",") {
			upload := c.route.Kind == KindUpload || c.route.Kind == KindUploadPart
			switch strings.TrimSpace(mode) {
			case testFailSomeUploads:
				if upload && t.uploads.Add(1)%3 == 0 {
					return errs.Errorf(errs.Unavailable, op, "test mode: this upload fails")
				}
			case testExpireTokens:
				if c.route.Kind == KindAPI && c.route.Call != "b2_authorize_account" && t.tokens.Add(1)%3 == 0 {
					return errs.Errorf(errs.Expired, op, "test mode: the authorization token has expired")
				}
			case testCapExceeded:
				switch {
				case c.route.Call == "b2_authorize_account":
				case upload:
					return withCode(errs.Errorf(errs.ResourceExhausted, op, "test mode: storage cap exceeded"), 403, "storage_cap_exceeded")
				case c.route.Call == "b2_download_file_by_name" || c.route.Call == "b2_download_file_by_id":
					return withCode(errs.Errorf(errs.ResourceExhausted, op, "test mode: download cap exceeded"), 403, "download_cap_exceeded")
				default:
					return withCode(errs.Errorf(errs.ResourceExhausted, op, "test mode: transaction cap exceeded"), 403, "transaction_cap_exceeded")
				}
			}
		}
	}
	return nil
}
