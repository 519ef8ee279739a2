package s3

import (
	"encoding/xml"
	"net/http"
	"sort"

	"github.com/coffer-project/coffer/services/errs"
)

// apiError is an S3 error code with its HTTP status and default message.
type apiError struct {
	Code    string
	Status  int
	Message string
}

// kindErrors is the one mapping from domain errors to S3 errors. A Kind
// missing here is an InternalError. Where one Kind means several S3 codes,
// refine() picks by the error's details.
var kindErrors = map[errs.Kind]apiError{
	errs.Other:                {"InternalError", 500, "We encountered an internal error. Please try again."},
	errs.Internal:             {"InternalError", 500, "We encountered an internal error. Please try again."},
	errs.DataLoss:             {"InternalError", 500, "We encountered an internal error. Please try again."},
	errs.InvalidArgument:      {"InvalidArgument", 400, "Invalid Argument"},
	errs.BucketNotFound:       {"NoSuchBucket", 404, "The specified bucket does not exist"},
	errs.ObjectNotFound:       {"NoSuchKey", 404, "The specified key does not exist."},
	errs.VersionNotFound:      {"NoSuchVersion", 404, "The specified version does not exist."},
	errs.UploadNotFound:       {"NoSuchUpload", 404, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	errs.KeyNotFound:          {"InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."},
	errs.UnknownAccessKey:     {"InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."},
	errs.BucketAlreadyExists:  {"BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it."},
	errs.BucketNotEmpty:       {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty"},
	errs.PreconditionFailed:   {"PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"},
	errs.NotModified:          {"NotModified", 304, "Not Modified"},
	errs.BadDigest:            {"BadDigest", 400, "The Content-MD5 you specified did not match what we received."},
	errs.InvalidDigest:        {"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
	errs.EntityTooLarge:       {"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."},
	errs.EntityTooSmall:       {"EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."},
	errs.IncompleteBody:       {"IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	errs.InvalidRange:         {"InvalidRange", 416, "The requested range is not satisfiable"},
	errs.Unauthenticated:      {"AccessDenied", 403, "Access Denied"},
	errs.SignatureMismatch:    {"SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	errs.MalformedAuth:        {"AuthorizationHeaderMalformed", 400, "The authorization header is malformed."},
	errs.RequestTimeTooSkewed: {"RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large."},
	errs.Expired:              {"AccessDenied", 403, "Request has expired"},
	errs.PermissionDenied:     {"AccessDenied", 403, "Access Denied"},
	errs.ObjectLocked:         {"AccessDenied", 403, "Access Denied because object protected by object lock."},
	errs.CORSForbidden:        {"AccessForbidden", 403, "CORSResponse: This CORS request is not allowed."},
	errs.NotLeader:            {"ServiceUnavailable", 503, "Please retry your request."},
	errs.Unavailable:          {"ServiceUnavailable", 503, "Please retry your request."},
	errs.DeadlineExceeded:     {"ServiceUnavailable", 503, "Please retry your request."},
	errs.ResourceExhausted:    {"SlowDown", 503, "Please reduce your request rate."},
	errs.Canceled:             {"RequestTimeout", 400, "Your socket connection to the server was not read from or written to within the timeout period."},
	errs.Unimplemented:        {"NotImplemented", 501, "A header or query you provided implies functionality that is not implemented."},
	errs.InvalidBucketName:    {"InvalidBucketName", 400, "The specified bucket is not valid."},
	errs.InvalidKeyName:       {"InvalidArgument", 400, "Object key is not valid."},
	errs.KeyTooLong:           {"KeyTooLongError", 400, "Your key is too long"},
	errs.MetadataTooLarge:     {"MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size"},
	errs.MalformedBody:        {"MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema"},
	errs.MissingContentLength: {"MissingContentLength", 411, "You must provide the Content-Length HTTP header."},
	errs.PayloadHashMismatch:  {"XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."},
	errs.Conflict:             {"ConditionalRequestConflict", 409, "A conflicting operation occurred. Please retry."},
	errs.AlreadyHidden:        {"InvalidRequest", 400, "The object is already hidden."},
	errs.InvalidPart:          {"InvalidPart", 400, "One or more of the specified parts could not be found."},
	errs.InvalidPartOrder:     {"InvalidPartOrder", 400, "The list of parts was not in ascending order."},
	errs.MethodNotAllowed:     {"MethodNotAllowed", 405, "The specified method is not allowed against this resource."},
	errs.NoSuchConfiguration:  {"NoSuchConfiguration", 404, "The specified configuration does not exist."},
	errs.InvalidRequest:       {"InvalidRequest", 400, "Invalid Request"},
	errs.InvalidStorageClass:  {"InvalidStorageClass", 400, "The storage class you specified is not valid"},
	errs.TooManyBuckets:       {"TooManyBuckets", 400, "You have attempted to create more buckets than allowed"},
	errs.InvalidBucketState:   {"InvalidBucketState", 409, "The request is not valid with the current state of the bucket."},
}

// configCodes name S3's "no such <sub-resource>" codes, chosen by the
// "config" detail of a NoSuchConfiguration error.
var configCodes = map[string]apiError{
	"cors":       {"NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"},
	"lifecycle":  {"NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist"},
	"encryption": {"ServerSideEncryptionConfigurationNotFoundError", 404, "The server side encryption configuration was not found"},
	"lock":       {"ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket"},
	// A version without retention (or legal hold) asked for it.
	"object_lock": {"NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration"},
}

// namedCodes are S3 codes no Kind maps to, chosen by an error's "s3_code"
// detail (the tag refusals of objects.ValidateTags, the POST policy's).
var namedCodes = map[string]apiError{
	"InvalidTag":                   {"InvalidTag", 400, "The TagKey you have provided is invalid"},
	"BadRequest":                   {"BadRequest", 400, "Bad Request"},
	"InvalidPolicyDocument":        {"InvalidPolicyDocument", 400, "The content of the form does not meet the conditions specified in the policy document."},
	"MalformedPOSTRequest":         {"MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data."},
	"MaxPostPreDataLengthExceeded": {"MaxPostPreDataLengthExceeded", 400, "Your POST request fields preceeding the upload file was too large."},
}

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
	"tag_key":                        "TagKey",
	"tag_value":                      "TagValue",
	"argument_name":                  "ArgumentName",
	"argument_value":                 "ArgumentValue",
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
		ae = apiError{"BadRequest", 400, "Insufficient information."}
	case kind == errs.MalformedAuth && e.Details["query"] == "true":
		ae = apiError{"AuthorizationQueryParametersError", 400, "Error parsing the X-Amz-Credential parameter."}
	case kind == errs.ObjectNotFound && e.Details["delete_marker"] == "true" && e.Details["by_version"] == "true":
		ae = kindErrors[errs.MethodNotAllowed]
	case e.Details["s3_code"] != "":
		if c, ok := namedCodes[e.Details["s3_code"]]; ok {
			ae = c
		}
	}
	// Client-safe messages replace the default, except for internal
	// failures, whose text is for our logs only.
	if e.Msg != "" && kind != errs.Internal && kind != errs.Other && kind != errs.DataLoss {
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
