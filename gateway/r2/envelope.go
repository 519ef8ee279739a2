package r2

import (
	"context"
	"encoding/json"
	"net/http"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	r2v1 "github.com/coffer-project/coffer/proto/gen/go/coffer/r2/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// envelope is Cloudflare's response shape. The SDK treats errors, messages,
// result and success as required, so all four are always present.
type envelope struct {
	Success    bool            `json:"success"`
	Errors     []errorItem     `json:"errors"`
	Messages   []any           `json:"messages"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *resultInfo     `json:"result_info,omitempty"`
}

type errorItem struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Cursor  string `json:"cursor"`
	PerPage int32  `json:"per_page"`
}

// The result is marshaled with protojson (Cloudflare's field names are the
// messages' json_name options) before it goes into the envelope, because
// grpc-gateway marshals non-proto values with encoding/json.
var resultJSON = protojson.MarshalOptions{EmitUnpopulated: true}

// rewrite wraps every successful answer in the envelope.
func rewrite(_ context.Context, resp proto.Message) (any, error) {
	var body any = resp
	if rb, ok := resp.(interface{ XXX_ResponseBody() interface{} }); ok {
		body = rb.XXX_ResponseBody()
	}
	env := envelope{Success: true, Errors: []errorItem{}, Messages: []any{}}
	if list, ok := body.(*r2v1.ListBucketsResponse); ok {
		env.ResultInfo = &resultInfo{Cursor: list.GetCursor(), PerPage: list.GetPerPage()}
		body = &r2v1.ListBucketsResponse{Buckets: list.GetBuckets()}
		if list.GetBuckets() == nil {
			body = &r2v1.ListBucketsResponse{Buckets: []*r2v1.Bucket{}}
		}
	}
	msg, ok := body.(proto.Message)
	if !ok {
		return nil, errs.Errorf(errs.Internal, "r2.rewrite", "unexpected response type %T", body)
	}
	raw, err := resultJSON.Marshal(msg)
	if err != nil {
		return nil, err
	}
	env.Result = raw
	return env, nil
}

// writeError answers with the envelope for a domain (or grpc-gateway) error.
func writeError(w http.ResponseWriter, ae apiError) {
	w.Header().Set("Content-Type", "application/json")
	if ae.Status == http.StatusConflict {
		// Cloudflare's SDK retries 409s up to ten times unless told not to.
		w.Header().Set("x-should-retry", "false")
	}
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(envelope{
		Success: false, Errors: []errorItem{{Code: ae.Code, Message: ae.Message}},
		Messages: []any{}, Result: json.RawMessage("null"),
	})
}

func errorHandler(_ context.Context, _ *gwruntime.ServeMux, _ gwruntime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	if errs.As(err) == nil {
		// grpc-gateway's own failures (a body that is not JSON, a bad path
		// parameter) arrive as gRPC statuses.
		err = errs.FromStatus("r2", err)
		if errs.KindOf(err) == errs.InvalidArgument {
			err = errs.E(errs.MalformedBody, "r2", nil).WithMsg(errs.Message(err))
		}
	}
	writeError(w, toAPIError(err))
}

func routingErrorHandler(_ context.Context, _ *gwruntime.ServeMux, _ gwruntime.Marshaler, w http.ResponseWriter, _ *http.Request, status int) {
	ae := routeNotFound
	if status == http.StatusMethodNotAllowed {
		ae = apiError{status, 7001, "Method not allowed for this route."}
	}
	writeError(w, ae)
}

// headerJurisdiction carries cf-r2-jurisdiction into the service methods.
const headerJurisdiction = "cf-r2-jurisdiction"

func incomingHeaders(key string) (string, bool) {
	if http.CanonicalHeaderKey(key) == http.CanonicalHeaderKey(headerJurisdiction) {
		return headerJurisdiction, true
	}
	return "", false
}

func jurisdiction(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(headerJurisdiction); len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return "default"
}

func newMux() *gwruntime.ServeMux {
	return gwruntime.NewServeMux(
		gwruntime.WithForwardResponseRewriter(rewrite),
		gwruntime.WithErrorHandler(errorHandler),
		gwruntime.WithRoutingErrorHandler(routingErrorHandler),
		gwruntime.WithIncomingHeaderMatcher(incomingHeaders),
		gwruntime.WithMarshalerOption(gwruntime.MIMEWildcard, &gwruntime.JSONPb{
			MarshalOptions:   resultJSON,
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
		}),
	)
}
