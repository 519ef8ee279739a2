package s3

import (
	"encoding/xml"
	"net/http"
	"sort"

	"github.com/coffer-project/coffer/services/errs"
)

// apiError is an S3 error code with its HTTP status and default message.
// A fixed message is S3's one text for that code: clients and peer suites
// compare it verbatim, so a domain error's own message never replaces it
// (it goes to the log, and its facts into extra elements). Codes whose
// text S3 varies by case (InvalidArgument, InvalidRequest, AccessDenied,
// BadDigest...) take the error's client-safe message.
type apiError struct {
	Code    string
	Status  int
	Message string
	Fixed   bool
}

// The messages are S3's documented ones (the ErrorResponses list, as
// AWS's API model carries it), except where that list paraphrases what S3
// actually sends and every peer agrees on the wire text (InvalidAccessKeyId,
// SignatureDoesNotMatch, BucketAlreadyOwnedByYou).
const (
	msgInternal    = "We encountered an internal error. Please try again."
	msgUnavailable = "Reduce your request rate."
)

// kindErrors is the one mapping from domain errors to S3 errors. A Kind
// missing here is an InternalError. Where one Kind means several S3 codes,
// toAPIError refines it by the error's details.
var kindErrors = map[errs.Kind]apiError{
	errs.Other:                {"InternalError", 500, msgInternal, true},
	errs.Internal:             {"InternalError", 500, msgInternal, true},
	errs.DataLoss:             {"InternalError", 500, msgInternal, true},
	errs.InvalidArgument:      {"InvalidArgument", 400, "Invalid Argument", false},
	errs.BucketNotFound:       {"NoSuchBucket", 404, "The specified bucket does not exist.", true},
	errs.ObjectNotFound:       {"NoSuchKey", 404, "The specified key does not exist.", true},
	errs.VersionNotFound:      {"NoSuchVersion", 404, "The specified version does not exist.", true},
	errs.UploadNotFound:       {"NoSuchUpload", 404, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.", true},
	errs.KeyNotFound:          {"InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.", true},
	errs.UnknownAccessKey:     {"InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.", true},
	errs.BucketAlreadyExists:  {"BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it.", true},
	errs.BucketNotEmpty:       {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty. You must delete all versions in the bucket.", true},
	errs.PreconditionFailed:   {"PreconditionFailed", 412, "At least one of the preconditions you specified did not hold.", true},
	errs.NotModified:          {"NotModified", 304, "Not Modified", true},
	errs.BadDigest:            {"BadDigest", 400, "The Content-MD5 you specified did not match what we received.", false},
	errs.InvalidDigest:        {"InvalidDigest", 400, "The Content-MD5 you specified is not valid.", true},
	errs.EntityTooLarge:       {"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size.", true},
	errs.EntityTooSmall:       {"EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.", true},
	errs.IncompleteBody:       {"IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header", true},
	errs.InvalidRange:         {"InvalidRange", 416, "The requested range cannot be satisfied.", true},
	errs.Unauthenticated:      {"AccessDenied", 403, "Access Denied", false},
	errs.SignatureMismatch:    {"SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method.", true},
	errs.MalformedAuth:        {"AuthorizationHeaderMalformed", 400, "The authorization header you provided is invalid.", false},
	errs.RequestTimeTooSkewed: {"RequestTimeTooSkewed", 403, "The difference between the request time and the server's time is too large.", true},
	errs.Expired:              {"AccessDenied", 403, "Request has expired", false},
	errs.PermissionDenied:     {"AccessDenied", 403, "Access Denied", false},
	errs.ObjectLocked:         {"AccessDenied", 403, "Access Denied because object protected by object lock.", false},
	errs.CORSForbidden:        {"AccessForbidden", 403, "CORSResponse: This CORS request is not allowed.", false},
	errs.NotLeader:            {"ServiceUnavailable", 503, msgUnavailable, true},
	errs.Unavailable:          {"ServiceUnavailable", 503, msgUnavailable, true},
	errs.DeadlineExceeded:     {"ServiceUnavailable", 503, msgUnavailable, true},
	errs.ResourceExhausted:    {"SlowDown", 503, msgUnavailable, true},
	errs.Canceled:             {"RequestTimeout", 400, "Your socket connection to the server was not read from or written to within the timeout period.", true},
	errs.Unimplemented:        {"NotImplemented", 501, "A header you provided implies functionality that is not implemented.", false},
	errs.InvalidBucketName:    {"InvalidBucketName", 400, "The specified bucket is not valid.", true},
	errs.InvalidKeyName:       {"InvalidArgument", 400, "Object key is not valid.", false},
	errs.KeyTooLong:           {"KeyTooLongError", 400, "Your key is too long.", true},
	errs.MetadataTooLarge:     {"MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.", true},
	errs.MalformedBody:        {"MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema.", true},
	errs.MissingContentLength: {"MissingContentLength", 411, "You must provide the Content-Length HTTP header.", true},
	errs.PayloadHashMismatch:  {"XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.", true},
	errs.Conflict:             {"ConditionalRequestConflict", 409, "A conflicting operation occurred. Please retry.", false},
	errs.AlreadyHidden:        {"InvalidRequest", 400, "The object is already hidden.", false},
	errs.InvalidPart:          {"InvalidPart", 400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.", true},
	errs.InvalidPartOrder:     {"InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts list must be specified in order by part number.", true},
	errs.MethodNotAllowed:     {"MethodNotAllowed", 405, "The specified method is not allowed against this resource.", true},
	errs.NoSuchConfiguration:  {"NoSuchConfiguration", 404, "The specified configuration does not exist.", true},
	errs.InvalidRequest:       {"InvalidRequest", 400, "Invalid Request", false},
	errs.InvalidStorageClass:  {"InvalidStorageClass", 400, "The storage class you specified is not valid.", true},
	errs.TooManyBuckets:       {"TooManyBuckets", 400, "You have attempted to create more buckets than allowed.", true},
	errs.InvalidBucketState:   {"InvalidBucketState", 409, "The request is not valid with the current state of the bucket.", false},
}

// refinements are S3 codes a Kind takes when the error carries a detail
// naming the case (the detail's value is "true").
var refinements = map[errs.Kind]map[string]apiError{
	// GET ?partNumber= beyond the object's part count.
	errs.InvalidRange: {"part_number": {"InvalidPartNumber", 400, "The requested partnumber is not satisfiable", true}},
	// An Object Lock default retention of zero or fewer days/years.
	errs.InvalidArgument: {"retention_period": {"InvalidRetentionPeriod", 400, "Default retention period must be a positive integer value.", true}},
}

// configCodes name S3's "no such <sub-resource>" codes, chosen by the
// "config" detail of a NoSuchConfiguration error.
var configCodes = map[string]apiError{
	"cors":       {"NoSuchCORSConfiguration", 404, "The CORS configuration does not exist", true},
	"lifecycle":  {"NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist.", true},
	"encryption": {"ServerSideEncryptionConfigurationNotFoundError", 404, "The server side encryption configuration was not found", true},
	"lock":       {"ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket", true},
	// A version without retention (or legal hold) asked for it.
	"object_lock": {"NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration", true},
}

// namedCodes are S3 codes no Kind maps to, chosen by an error's "s3_code"
// detail (the tag refusals of objects.ValidateTags, the POST policy's).
var namedCodes = map[string]apiError{
	"InvalidTag":                   {"InvalidTag", 400, "The TagKey you have provided is invalid", false},
	"BadRequest":                   {"BadRequest", 400, "Bad Request", false},
	"InvalidPolicyDocument":        {"InvalidPolicyDocument", 400, "The content of the form does not meet the conditions specified in the policy document.", false},
	"MalformedPOSTRequest":         {"MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data.", false},
	"MaxPostPreDataLengthExceeded": {"MaxPostPreDataLengthExceeded", 400, "Your POST request fields preceeding the upload file was too large.", false},
}

// s3Text is the detail that marks an error's message as S3's own text for
// the case, to be sent even where the code's text is otherwise fixed.
const s3Text = "s3_text"

// detailElements renders error details as the extra XML elements S3 sends.
var detailElements = map[string]string{
	"request_time":                   "RequestTime",
	"server_time":                    "ServerTime",
	"max_allowed_skew_ms":            "MaxAllowedSkewMilliseconds",
	"string_to_sign":                 "StringToSign",
	"canonical_request":              "CanonicalRequest",
	"access_key_id":                  "AWSAccessKeyId",
	"client_computed_content_sha256": "ClientComputedContentSHA256",
	"s3_computed_content_sha256":     "S3ComputedContentSHA256",
	"actual_object_size":             "ActualObjectSize",
	"range_requested":                "RangeRequested",
	"expected_digest":                "ExpectedDigest",
	"calculated_digest":              "CalculatedDigest",
	"max_size_allowed":               "MaxSizeAllowed",
	"region":                         "Region",
	"expires":                        "Expires",
	"x_amz_expires":                  "X-Amz-Expires",
	"version_id":                     "VersionId",
	"method":                         "Method",
	"resource_type":                  "ResourceType",
	"size":                           "Size",
	"argument_name":                  "ArgumentName",
	"argument_value":                 "ArgumentValue",
	"tag_key":                        "TagKey",
	"tag_value":                      "TagValue",
	"condition":                      "Condition",
	"proposed_size":                  "ProposedSize",
	"min_size_allowed":               "MinSizeAllowed",
}

// toAPIError maps a domain error to its S3 error.
func toAPIError(err error) (apiError, *errs.Error) {
	e := errs.As(err)
	if e == nil {
		e = errs.E(errs.KindOf(err), "", err)
	}
	kind := errs.KindOf(err)
	ae, ok := kindErrors[kind]
	if !ok {
		ae = kindErrors[errs.Internal]
	}
	switch {
	case kind == errs.NoSuchConfiguration:
		if c, ok := configCodes[e.Details["config"]]; ok {
			ae = c
		}
	case kind == errs.InvalidRequest && e.Details["preflight"] == "true":
		ae = apiError{"BadRequest", 400, "Insufficient information.", false}
	case kind == errs.MalformedAuth && e.Details["query"] == "true":
		ae = apiError{"AuthorizationQueryParametersError", 400, "Error parsing the X-Amz-Credential parameter.", false}
	case kind == errs.ObjectNotFound && e.Details["delete_marker"] == "true" && e.Details["by_version"] == "true":
		ae = kindErrors[errs.MethodNotAllowed]
	case e.Details["s3_code"] != "":
		if c, ok := namedCodes[e.Details["s3_code"]]; ok {
			ae = c
		}
	}
	for detail, refined := range refinements[kind] {
		if e.Details[detail] == "true" {
			ae = refined
		}
	}
	// Client-safe messages replace the default where S3's own text varies;
	// fixed texts (and internal failures, whose text is for our logs only)
	// stay as they are, unless the S3 front-end marked its message as S3's
	// own text for that case (a POST's "Your proposed upload exceeds the
	// maximum allowed size").
	if e.Msg != "" && (!ae.Fixed || e.Details[s3Text] == "true") {
		ae.Message = e.Msg
	}
	return ae, e
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Key       string   `xml:"Key,omitempty"`
	Bucket    string   `xml:"BucketName,omitempty"`
	Resource  string   `xml:"Resource,omitempty"`
	Extra     []xmlKV
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

type xmlKV struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// writeError renders err in S3's XML shape. HEAD responses carry no body.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, req Request, err error) {
	ae, e := toAPIError(err)
	if e.Details["delete_marker"] == "true" {
		w.Header().Set("x-amz-delete-marker", "true")
		if v := e.Details["version_id"]; v != "" {
			w.Header().Set("x-amz-version-id", v)
		}
		if v := e.Details["last_modified"]; v != "" {
			w.Header().Set("Last-Modified", v)
		}
	}
	if ae.Status == http.StatusRequestedRangeNotSatisfiable {
		if size := e.Details["actual_object_size"]; size != "" {
			w.Header().Set("Content-Range", "bytes */"+size)
		}
	}
	if ae.Status == http.StatusNotModified || r.Method == http.MethodHead {
		w.WriteHeader(ae.Status)
		return
	}
	body := xmlError{
		Code: ae.Code, Message: ae.Message, Key: req.Key, Bucket: req.Bucket,
		Resource: r.URL.EscapedPath(), RequestID: requestID, HostID: requestID,
	}
	if ae.Status >= 500 {
		body.Key, body.Bucket = "", ""
	} else {
		names := make([]string, 0, len(e.Details))
		for n := range e.Details {
			if _, ok := detailElements[n]; ok {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			body.Extra = append(body.Extra, xmlKV{XMLName: xml.Name{Local: detailElements[n]}, Value: e.Details[n]})
		}
	}
	writeXML(w, ae.Status, body)
}

// writeXML writes an XML document with the standard declaration.
func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
