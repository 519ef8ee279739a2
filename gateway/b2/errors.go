package b2

import (
	"encoding/json"
	"net/http"

	"github.com/coffer-project/coffer/services/errs"
)

// apiError is a B2 error: the HTTP status, the machine code and the default
// message (spec/b2-native.md §8).
type apiError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// kindErrors is the default B2 error of each Kind. A Kind missing here is
// an internal_error (errors_test.go checks that every Kind is listed).
var kindErrors = map[errs.Kind]apiError{
	errs.Other:                {500, "internal_error", "internal error"},
	errs.Internal:             {500, "internal_error", "internal error"},
	errs.DataLoss:             {500, "internal_error", "internal error"},
	errs.InvalidArgument:      {400, "bad_request", "bad request"},
	errs.InvalidRequest:       {400, "bad_request", "bad request"},
	errs.BucketNotFound:       {400, "bad_bucket_id", "Invalid bucketId"},
	errs.ObjectNotFound:       {404, "not_found", "file not present"},
	errs.VersionNotFound:      {404, "not_found", "file not present"},
	errs.UploadNotFound:       {400, "bad_request", "no such unfinished large file"},
	errs.KeyNotFound:          {400, "bad_request", "application key does not exist"},
	errs.BucketAlreadyExists:  {400, "duplicate_bucket_name", "Bucket name is already in use."},
	errs.BucketNotEmpty:       {400, "bad_request", "Cannot delete non-empty bucket"},
	errs.PreconditionFailed:   {409, "conflict", "a precondition did not hold"},
	errs.Conflict:             {409, "conflict", "a concurrent change won; retry"},
	errs.NotModified:          {304, "not_modified", "not modified"},
	errs.BadDigest:            {400, "bad_request", "Sha1 did not match data received"},
	errs.InvalidDigest:        {400, "bad_request", "the digest is not well-formed"},
	errs.EntityTooLarge:       {400, "bad_request", "the content is too large"},
	errs.EntityTooSmall:       {400, "bad_request", "a part is smaller than the minimum part size"},
	errs.IncompleteBody:       {400, "bad_request", "fewer bytes than Content-Length announced"},
	errs.MissingContentLength: {400, "bad_request", "Content-Length is required"},
	errs.PayloadHashMismatch:  {400, "bad_request", "the payload hash does not match"},
	errs.InvalidRange:         {416, "range_not_satisfiable", "The range is not satisfiable"},
	errs.Unauthenticated:      {401, "bad_auth_token", "Invalid authorization token"},
	errs.MalformedAuth:        {401, "bad_auth_token", "Invalid authorization token"},
	errs.UnknownAccessKey:     {401, "unauthorized", "invalid application key id or application key"},
	errs.SignatureMismatch:    {401, "unauthorized", "unauthorized"},
	errs.RequestTimeTooSkewed: {401, "unauthorized", "unauthorized"},
	errs.Expired:              {401, "expired_auth_token", "Authorization token has expired"},
	errs.PermissionDenied:     {401, "unauthorized", "unauthorized"},
	errs.ObjectLocked:         {403, "access_denied", "the file is protected by retention or a legal hold"},
	errs.CORSForbidden:        {403, "cors_not_allowed", "this CORS request is not allowed"},
	errs.NotLeader:            {503, "service_unavailable", "service unavailable; retry"},
	errs.Unavailable:          {503, "service_unavailable", "service unavailable; retry"},
	errs.DeadlineExceeded:     {503, "service_unavailable", "service unavailable; retry"},
	errs.ResourceExhausted:    {503, "service_unavailable", "too busy; retry"},
	errs.Canceled:             {408, "request_timeout", "the request was cancelled"},
	// B2 has no 501; clients treat unknown 5xx as retryable, so an
	// unsupported feature is a plain, explicit 400.
	errs.Unimplemented:       {400, "bad_request", "not supported"},
	errs.InvalidBucketName:   {400, "bad_request", "Invalid bucket name"},
	errs.InvalidKeyName:      {400, "bad_request", "Invalid file name"},
	errs.KeyTooLong:          {400, "bad_request", "File names must not exceed 1024 bytes"},
	errs.MetadataTooLarge:    {400, "bad_request", "file info is too large"},
	errs.MalformedBody:       {400, "bad_json", "the body is not valid JSON"},
	errs.AlreadyHidden:       {400, "already_hidden", "file already hidden"},
	errs.InvalidPart:         {400, "bad_request", "a part is missing or does not match"},
	errs.InvalidPartOrder:    {400, "bad_request", "parts are not in ascending order"},
	errs.MethodNotAllowed:    {405, "method_not_allowed", "method not allowed"},
	errs.NoSuchConfiguration: {400, "bad_request", "not configured"},
	errs.InvalidStorageClass: {400, "bad_request", "invalid storage class"},
	errs.TooManyBuckets:      {400, "too_many_buckets", "too many buckets"},
	errs.InvalidBucketState:  {400, "bad_request", "the bucket's state forbids this"},
}

// callKind keys the per-call exceptions.
type callKind struct {
	call string
	kind errs.Kind
}

// callErrors are the per-call codes B2 clients depend on: the same failure
// is reported differently by different calls (spec/b2-native.md §4–§6, §8;
// b2sdk's interpret_b2_error).
var callErrors = map[callKind]apiError{
	// Basic credentials are "unauthorized"; a token is never involved.
	{"b2_authorize_account", errs.Unauthenticated}: {401, "unauthorized", "invalid application key id or application key"},
	{"b2_authorize_account", errs.Expired}:         {401, "unauthorized", "the application key has expired"},
	{"b2_authorize_account", errs.MalformedAuth}:   {401, "unauthorized", "invalid Basic authorization"},
	// Listings say invalid_bucket_id; start/finish/delete say bad_bucket_id.
	{"b2_list_file_names", errs.BucketNotFound}:             {400, "invalid_bucket_id", "Invalid bucketId"},
	{"b2_list_file_versions", errs.BucketNotFound}:          {400, "invalid_bucket_id", "Invalid bucketId"},
	{"b2_list_unfinished_large_files", errs.BucketNotFound}: {400, "invalid_bucket_id", "Invalid bucketId"},
	// "Not found" per call (gateway/DESIGN.md).
	{"b2_hide_file", errs.ObjectNotFound}:               {400, "no_such_file", "no such file"},
	{"b2_delete_file_version", errs.ObjectNotFound}:     {400, "file_not_present", "File not present"},
	{"b2_delete_file_version", errs.VersionNotFound}:    {400, "file_not_present", "File not present"},
	{"b2_delete_file_version", errs.UploadNotFound}:     {400, "file_not_present", "File not present"},
	{"b2_update_file_retention", errs.VersionNotFound}:  {400, "file_not_present", "File not present"},
	{"b2_update_file_retention", errs.ObjectNotFound}:   {400, "file_not_present", "File not present"},
	{"b2_update_file_legal_hold", errs.VersionNotFound}: {400, "file_not_present", "File not present"},
	{"b2_update_file_legal_hold", errs.ObjectNotFound}:  {400, "file_not_present", "File not present"},
	{"b2_download_file_by_name", errs.BucketNotFound}:   {404, "not_found", "bucket does not exist"},
	{"b2_download_file_by_id", errs.BucketNotFound}:     {404, "not_found", "file not present"},
	{"b2_get_file_info", errs.BucketNotFound}:           {404, "not_found", "file not present"},
	{"b2_copy_file", errs.ObjectNotFound}:               {404, "not_found", "source file not present"},
	{"b2_copy_file", errs.VersionNotFound}:              {404, "not_found", "source file not present"},
	{"b2_copy_part", errs.VersionNotFound}:              {404, "not_found", "source file not present"},
	// Large files.
	{"b2_finish_large_file", errs.InvalidPart}:      {400, "part_sha1_mismatch", "a part's SHA-1 does not match"},
	{"b2_finish_large_file", errs.InvalidPartOrder}: {400, "bad_request", "parts are not in order"},
	// Bucket settings.
	{"b2_update_bucket", errs.InvalidBucketState}: {400, "file_lock_conflict", "file lock cannot be disabled once enabled"},
	{"b2_update_bucket", errs.PreconditionFailed}: {409, "conflict", "ifRevisionIs does not match"},
	{"b2_delete_bucket", errs.BucketNotFound}:     {400, "bad_bucket_id", "Invalid bucketId"},
}

// codeDetail names an error detail that overrides the code outright, for
// the few codes that no Kind expresses (missing_part, out_of_range,
// auth_token_limit, cap_exceeded...). Handlers set it with withCode.
const codeDetail = "b2_code"

// withCode marks err to be rendered with code and status.
func withCode(e *errs.Error, status int, code string) *errs.Error {
	return e.WithDetail(codeDetail, code).WithDetail("b2_status", itoa(status))
}

// toAPIError maps a domain error to the B2 error call answers with.
func toAPIError(call string, err error) apiError {
	kind := errs.KindOf(err)
	ae, ok := callErrors[callKind{call, kind}]
	if !ok {
		if ae, ok = kindErrors[kind]; !ok {
			ae = kindErrors[errs.Internal]
		}
	}
	e := errs.As(err)
	if e == nil {
		return ae
	}
	if code := e.Details[codeDetail]; code != "" {
		ae.Code = code
		if s := atoi(e.Details["b2_status"]); s >= 400 && s < 600 {
			ae.Status = s
		}
	}
	// Client-safe messages replace the default, except for internal
	// failures, whose text is for our logs only.
	if e.Msg != "" && ae.Status < 500 {
		ae.Message = e.Msg
	}
	return ae
}

// writeError renders err as B2's JSON error. HEAD responses carry no body.
// Retryable statuses carry Retry-After, which clients honour.
func writeError(w http.ResponseWriter, r *http.Request, call string, err error) {
	ae := toAPIError(call, err)
	if ae.Code == "auth_token_limit" {
		// b2sdk and blazer recognise this one by its message, which
		// names the client's own upload token (never logged: the
		// message is built here, after logging).
		ae.Message = "more than one upload using auth token " + r.Header.Get("Authorization")
	}
	hd := w.Header()
	switch ae.Status {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		hd.Set("Retry-After", "1")
	case http.StatusRequestedRangeNotSatisfiable:
		if e := errs.As(err); e != nil && e.Details["actual_object_size"] != "" {
			hd.Set("Content-Range", "bytes */"+e.Details["actual_object_size"])
		}
	}
	hd.Set("Cache-Control", "max-age=0, no-cache, no-store")
	if r.Method == http.MethodHead {
		w.WriteHeader(ae.Status)
		return
	}
	hd.Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(ae)
}
