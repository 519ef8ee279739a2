package errs

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain is the ErrorInfo domain of coffer's errors (AIP-193).
const Domain = "coffer"

// ErrorInfo metadata keys. Details are carried with the "d." prefix.
const (
	mdOp     = "op"
	mdBucket = "bucket"
	mdKey    = "key"
	mdDetail = "d."
)

var kindCodes = map[Kind]codes.Code{
	Other: codes.Unknown, Internal: codes.Internal, InvalidArgument: codes.InvalidArgument,
	BucketNotFound: codes.NotFound, ObjectNotFound: codes.NotFound, VersionNotFound: codes.NotFound,
	UploadNotFound: codes.NotFound, KeyNotFound: codes.NotFound, NoSuchConfiguration: codes.NotFound,
	BucketAlreadyExists: codes.AlreadyExists, AlreadyHidden: codes.AlreadyExists,
	BucketNotEmpty: codes.FailedPrecondition, PreconditionFailed: codes.FailedPrecondition,
	NotModified: codes.FailedPrecondition, ObjectLocked: codes.FailedPrecondition,
	InvalidBucketState: codes.FailedPrecondition, MethodNotAllowed: codes.FailedPrecondition,
	Conflict: codes.Aborted, InvalidRange: codes.OutOfRange,
	Unauthenticated: codes.Unauthenticated, UnknownAccessKey: codes.Unauthenticated,
	SignatureMismatch: codes.Unauthenticated, MalformedAuth: codes.Unauthenticated,
	RequestTimeTooSkewed: codes.Unauthenticated, Expired: codes.Unauthenticated,
	PermissionDenied: codes.PermissionDenied, CORSForbidden: codes.PermissionDenied,
	NotLeader: codes.Unavailable, Unavailable: codes.Unavailable, Unimplemented: codes.Unimplemented,
	DataLoss: codes.DataLoss, ResourceExhausted: codes.ResourceExhausted, TooManyBuckets: codes.ResourceExhausted,
	Canceled: codes.Canceled, DeadlineExceeded: codes.DeadlineExceeded,
}

// Code returns the gRPC code for a Kind (InvalidArgument for the many
// client-input kinds that have no closer code).
func (k Kind) Code() codes.Code {
	if c, ok := kindCodes[k]; ok {
		return c
	}
	return codes.InvalidArgument
}

// ToStatus converts err into a gRPC status carrying an ErrorInfo, so that the
// receiving side can rebuild the *Error. Context errors pass through as the
// standard codes; a *status.Status error is returned unchanged.
func ToStatus(err error) *status.Status {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && As(err) == nil {
		return s
	}
	e := As(err)
	if e == nil {
		switch {
		case errors.Is(err, context.Canceled):
			return status.New(codes.Canceled, err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			return status.New(codes.DeadlineExceeded, err.Error())
		}
		e = &Error{Kind: Internal, Err: err}
	}
	kind := KindOf(e)
	md := map[string]string{}
	if e.Op != "" {
		md[mdOp] = e.Op
	}
	if e.Bucket != "" {
		md[mdBucket] = e.Bucket
	}
	if e.Key != "" {
		md[mdKey] = e.Key
	}
	for n, v := range e.Details {
		md[mdDetail+n] = v
	}
	// The status message is the client-safe message; the cause stays in this
	// process's logs (internal errors never leak paths or addresses).
	msg := e.Msg
	if msg == "" && kind != Internal && kind != Other && e.Err != nil {
		msg = e.Err.Error()
	}
	s := status.New(kind.Code(), msg)
	if ds, derr := s.WithDetails(&errdetails.ErrorInfo{Reason: kind.Reason(), Domain: Domain, Metadata: md}); derr == nil {
		return ds
	}
	return s
}

var codeKinds = map[codes.Code]Kind{
	codes.Canceled: Canceled, codes.DeadlineExceeded: DeadlineExceeded, codes.Unavailable: Unavailable,
	codes.Unimplemented: Unimplemented, codes.InvalidArgument: InvalidArgument,
	codes.PermissionDenied: PermissionDenied, codes.Unauthenticated: Unauthenticated,
	codes.DataLoss: DataLoss, codes.ResourceExhausted: ResourceExhausted, codes.Aborted: Conflict,
	codes.OutOfRange: InvalidRange, codes.FailedPrecondition: PreconditionFailed,
}

// FromStatus rebuilds a domain error from a gRPC error. Errors without coffer
// ErrorInfo map by code (Unavailable stays Unavailable, and so on).
func FromStatus(op string, err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range s.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != Domain {
			continue
		}
		e := &Error{Op: info.GetMetadata()[mdOp], Kind: KindFromReason(info.GetReason()), Msg: s.Message()}
		if e.Op == "" {
			e.Op = op
		}
		for n, v := range info.GetMetadata() {
			switch {
			case n == mdBucket:
				e.Bucket = v
			case n == mdKey:
				e.Key = v
			case len(n) > len(mdDetail) && n[:len(mdDetail)] == mdDetail:
				e.WithDetail(n[len(mdDetail):], v)
			}
		}
		return e
	}
	kind, ok := codeKinds[s.Code()]
	if !ok {
		kind = Internal
	}
	return &Error{Op: op, Kind: kind, Err: err}
}
