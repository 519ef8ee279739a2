package errs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Kind classifies an error. Values are stable and append-only.
type Kind uint16

// The kinds. Never renumber; add new kinds at the end.
const (
	Other                Kind = 0  // unclassified; treated as Internal at the edge
	Internal             Kind = 1  // a bug or an unexpected failure
	InvalidArgument      Kind = 2  // a malformed or out-of-range parameter
	BucketNotFound       Kind = 3  // no such bucket
	ObjectNotFound       Kind = 4  // no such key (or its newest version is a hide marker)
	VersionNotFound      Kind = 5  // no such version id
	UploadNotFound       Kind = 6  // no such unfinished upload
	KeyNotFound          Kind = 7  // no such application key
	BucketAlreadyExists  Kind = 8  // the bucket name is taken
	BucketNotEmpty       Kind = 9  // the bucket still holds versions or uploads
	PreconditionFailed   Kind = 10 // If-Match / If-None-Match / ifRevisionIs did not hold
	BadDigest            Kind = 11 // a client-supplied digest did not match the bytes
	EntityTooLarge       Kind = 12 // body or part larger than allowed
	EntityTooSmall       Kind = 13 // part smaller than allowed
	IncompleteBody       Kind = 14 // fewer bytes than announced
	InvalidRange         Kind = 15 // range not satisfiable
	Unauthenticated      Kind = 16 // no or unusable credentials
	UnknownAccessKey     Kind = 17 // the access key id does not exist
	SignatureMismatch    Kind = 18 // the request signature does not verify
	MalformedAuth        Kind = 19 // the Authorization header / query cannot be parsed
	RequestTimeTooSkewed Kind = 20 // the request time is too far from ours
	Expired              Kind = 21 // an expired token or presigned URL
	PermissionDenied     Kind = 22 // authenticated but not allowed
	CORSForbidden        Kind = 23 // a preflight that no CORS rule allows
	NotLeader            Kind = 24 // this metadata node is not the Raft leader
	Unavailable          Kind = 25 // a dependency is down; retry
	Unimplemented        Kind = 26 // the operation is not implemented
	DataLoss             Kind = 27 // stored bytes failed verification
	ResourceExhausted    Kind = 28 // disk full, too many requests
	Canceled             Kind = 29 // the caller went away
	DeadlineExceeded     Kind = 30 // ran out of time; outcome unknown
	InvalidBucketName    Kind = 31 // bucket name breaks the naming rules
	InvalidKeyName       Kind = 32 // object key breaks the naming rules
	KeyTooLong           Kind = 33 // object key longer than 1024 bytes
	MetadataTooLarge     Kind = 34 // user metadata over the limit
	MalformedBody        Kind = 35 // a request body (XML/JSON) that cannot be parsed
	MissingContentLength Kind = 36 // a body without a length
	PayloadHashMismatch  Kind = 37 // x-amz-content-sha256 did not match the body
	NotModified          Kind = 38 // conditional read: not modified (304)
	Conflict             Kind = 39 // a concurrent change won (revision, conditional write)
	AlreadyHidden        Kind = 40 // the newest version is already a hide marker
	ObjectLocked         Kind = 41 // retention or legal hold forbids the change
	InvalidPart          Kind = 42 // a listed part is missing or its ETag differs
	InvalidPartOrder     Kind = 43 // parts not in ascending order
	MethodNotAllowed     Kind = 44 // e.g. GET of a delete-marker version
	NoSuchConfiguration  Kind = 45 // a bucket sub-resource (CORS, lifecycle...) is not set
	InvalidRequest       Kind = 46 // a semantically invalid combination of parameters
	InvalidStorageClass  Kind = 47 // storage class other than STANDARD
	InvalidDigest        Kind = 48 // a digest header that is not well-formed
	TooManyBuckets       Kind = 49 // bucket count limit reached
	InvalidBucketState   Kind = 50 // the bucket's state forbids the operation
	maxKind              Kind = 51
)

var reasons = [maxKind]string{
	Other: "OTHER", Internal: "INTERNAL", InvalidArgument: "INVALID_ARGUMENT",
	BucketNotFound: "BUCKET_NOT_FOUND", ObjectNotFound: "OBJECT_NOT_FOUND",
	VersionNotFound: "VERSION_NOT_FOUND", UploadNotFound: "UPLOAD_NOT_FOUND",
	KeyNotFound: "KEY_NOT_FOUND", BucketAlreadyExists: "BUCKET_ALREADY_EXISTS",
	BucketNotEmpty: "BUCKET_NOT_EMPTY", PreconditionFailed: "PRECONDITION_FAILED",
	BadDigest: "BAD_DIGEST", EntityTooLarge: "ENTITY_TOO_LARGE", EntityTooSmall: "ENTITY_TOO_SMALL",
	IncompleteBody: "INCOMPLETE_BODY", InvalidRange: "INVALID_RANGE",
	Unauthenticated: "UNAUTHENTICATED", UnknownAccessKey: "UNKNOWN_ACCESS_KEY",
	SignatureMismatch: "SIGNATURE_MISMATCH", MalformedAuth: "MALFORMED_AUTH",
	RequestTimeTooSkewed: "REQUEST_TIME_TOO_SKEWED", Expired: "EXPIRED",
	PermissionDenied: "PERMISSION_DENIED", CORSForbidden: "CORS_FORBIDDEN",
	NotLeader: "NOT_LEADER", Unavailable: "UNAVAILABLE", Unimplemented: "UNIMPLEMENTED",
	DataLoss: "DATA_LOSS", ResourceExhausted: "RESOURCE_EXHAUSTED", Canceled: "CANCELED",
	DeadlineExceeded: "DEADLINE_EXCEEDED", InvalidBucketName: "INVALID_BUCKET_NAME",
	InvalidKeyName: "INVALID_KEY_NAME", KeyTooLong: "KEY_TOO_LONG",
	MetadataTooLarge: "METADATA_TOO_LARGE", MalformedBody: "MALFORMED_BODY",
	MissingContentLength: "MISSING_CONTENT_LENGTH", PayloadHashMismatch: "PAYLOAD_HASH_MISMATCH",
	NotModified: "NOT_MODIFIED", Conflict: "CONFLICT", AlreadyHidden: "ALREADY_HIDDEN",
	ObjectLocked: "OBJECT_LOCKED", InvalidPart: "INVALID_PART", InvalidPartOrder: "INVALID_PART_ORDER",
	MethodNotAllowed: "METHOD_NOT_ALLOWED", NoSuchConfiguration: "NO_SUCH_CONFIGURATION",
	InvalidRequest: "INVALID_REQUEST", InvalidStorageClass: "INVALID_STORAGE_CLASS",
	InvalidDigest: "INVALID_DIGEST", TooManyBuckets: "TOO_MANY_BUCKETS",
	InvalidBucketState: "INVALID_BUCKET_STATE",
}

// Reason returns the stable UPPER_SNAKE name used in gRPC ErrorInfo.
func (k Kind) Reason() string {
	if k < maxKind && reasons[k] != "" {
		return reasons[k]
	}
	return fmt.Sprintf("KIND_%d", uint16(k))
}

// String returns the reason in lower case, for logs.
func (k Kind) String() string { return strings.ToLower(k.Reason()) }

// KindFromReason is the inverse of Reason; unknown reasons are Other.
func KindFromReason(reason string) Kind {
	for k, r := range reasons {
		if r == reason {
			return Kind(k)
		}
	}
	return Other
}

// Error is a domain error. Msg is safe to show to clients; Err (the cause) is
// for logs only. Details carry dialect-relevant facts (for example the
// computed digest of a BadDigest) and cross gRPC in ErrorInfo metadata.
type Error struct {
	Op      string // the operation, e.g. "metadata.CreateBucket"
	Kind    Kind
	Bucket  string
	Key     string
	Msg     string
	Details map[string]string
	Err     error
}

// E builds an Error. err may be nil.
func E(kind Kind, op string, err error) *Error {
	return &Error{Op: op, Kind: kind, Err: err}
}

// Errorf builds an Error whose client-safe message is formatted.
func Errorf(kind Kind, op, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// WithBucket sets the bucket and returns e.
func (e *Error) WithBucket(bucket string) *Error { e.Bucket = bucket; return e }

// WithKey sets the object key and returns e.
func (e *Error) WithKey(key string) *Error { e.Key = key; return e }

// WithMsg sets the client-safe message and returns e.
func (e *Error) WithMsg(msg string) *Error { e.Msg = msg; return e }

// WithDetail adds one detail and returns e.
func (e *Error) WithDetail(name, value string) *Error {
	if e.Details == nil {
		e.Details = map[string]string{}
	}
	e.Details[name] = value
	return e
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	if e.Bucket != "" {
		fmt.Fprintf(&b, " bucket=%q", e.Bucket)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, " key=%q", e.Key)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if len(e.Details) > 0 {
		names := make([]string, 0, len(e.Details))
		for n := range e.Details {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, " %s=%q", n, e.Details[n])
		}
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error of the same Kind, so that
// errors.Is(err, errs.E(errs.BucketNotFound, "", nil)) works across layers.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Op == "" && t.Msg == ""
}

// KindOf returns the Kind of the first *Error in err's chain. Context errors
// map to Canceled / DeadlineExceeded; nil is Other; anything else is Internal.
func KindOf(err error) Kind {
	if err == nil {
		return Other
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Kind == Other && e.Err != nil {
			return KindOf(e.Err)
		}
		return e.Kind
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Internal
}

// Is reports whether err has the given Kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Message returns the client-safe message of err, or "" when there is none.
func Message(err error) string {
	if e := As(err); e != nil {
		return e.Msg
	}
	return ""
}

// Retryable reports whether a client may retry the operation as is.
func Retryable(err error) bool {
	switch KindOf(err) {
	case Unavailable, NotLeader, DeadlineExceeded, ResourceExhausted:
		return true
	}
	return false
}

// Kinds lists every defined Kind, for tests that check a mapping is total.
func Kinds() []Kind {
	out := make([]Kind, 0, maxKind)
	for k := Kind(0); k < maxKind; k++ {
		out = append(out, k)
	}
	return out
}
