package r2

import (
	"net/http"

	"github.com/coffer-project/coffer/services/errs"
)

// apiError is an R2 error: HTTP status, Cloudflare error code, message.
type apiError struct {
	Status  int
	Code    int
	Message string
}

// kindErrors maps domain errors to R2's codes (spec/r2.md §3). A Kind not
// listed is an internal error.
var kindErrors = map[errs.Kind]apiError{
	errs.InvalidBucketName:    {400, 10005, "The specified bucket name is not valid."},
	errs.TooManyBuckets:       {400, 10009, "You have reached the maximum number of buckets allowed."},
	errs.InvalidArgument:      {400, 10040, "The request is not valid."},
	errs.InvalidRequest:       {400, 10040, "The request is not valid."},
	errs.MalformedBody:        {400, 10040, "The request body is not valid JSON for this route."},
	errs.Unauthenticated:      {401, 10002, "Authentication error."},
	errs.UnknownAccessKey:     {401, 10002, "Authentication error."},
	errs.SignatureMismatch:    {401, 10002, "Authentication error."},
	errs.MalformedAuth:        {401, 10002, "Authentication error."},
	errs.Expired:              {401, 10002, "Authentication error."},
	errs.PermissionDenied:     {403, 10003, "Access denied."},
	errs.BucketNotFound:       {404, 10006, "The specified bucket does not exist."},
	errs.NoSuchConfiguration:  {404, 10059, "The CORS configuration does not exist."},
	errs.BucketNotEmpty:       {409, 10008, "The bucket you tried to delete is not empty."},
	errs.BucketAlreadyExists:  {409, 10073, "The bucket you tried to create already exists."},
	errs.ResourceExhausted:    {429, 10058, "Too many requests."},
	errs.Unimplemented:        {501, 10000, "Not implemented."},
	errs.Unavailable:          {503, 10043, "Service unavailable, please retry."},
	errs.NotLeader:            {503, 10043, "Service unavailable, please retry."},
	errs.DeadlineExceeded:     {503, 10043, "Service unavailable, please retry."},
	errs.Internal:             {500, 10001, "Internal error."},
	errs.Other:                {500, 10001, "Internal error."},
	errs.DataLoss:             {500, 10001, "Internal error."},
	errs.Canceled:             {499, 10001, "The request was canceled."},
	errs.InvalidKeyName:       {400, 10040, "The request is not valid."},
	errs.MissingContentLength: {411, 10040, "Content-Length is required."},
}

// routeNotFound is Cloudflare's answer for a path it does not serve.
var routeNotFound = apiError{http.StatusNotFound, 7003, "Could not route to the requested URI."}

func toAPIError(err error) apiError {
	kind := errs.KindOf(err)
	ae, ok := kindErrors[kind]
	if !ok {
		ae = kindErrors[errs.Internal]
	}
	if msg := errs.Message(err); msg != "" && kind != errs.Internal && kind != errs.Other && kind != errs.DataLoss {
		ae.Message = msg
	}
	return ae
}
