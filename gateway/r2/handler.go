package r2

import (
	"context"
	"net/http"
	"strings"

	"github.com/coffer-project/coffer/gateway/shell"
)

// The R2 operations, for logs and metrics (the routes of r2_http.yaml).
const (
	opUnknown = iota
	opListBuckets
	opCreateBucket
	opGetBucket
	opDeleteBucket
	opGetBucketCors
	opPutBucketCors
	opDeleteBucketCors
)

var opNames = []string{"Unknown", "ListBuckets", "CreateBucket", "GetBucket", "DeleteBucket",
	"GetBucketCors", "PutBucketCors", "DeleteBucketCors"}

// classify names the operation of a request and the bucket it addresses,
// from the same routes grpc-gateway serves (it does not say which route it
// took), so that logs and metrics name it before the route runs.
func classify(r *http.Request) (op int, bucket string) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix+"accounts/")
	if !ok {
		return opUnknown, ""
	}
	_, rest, ok = strings.Cut(rest, "/")
	if !ok {
		return opUnknown, ""
	}
	rest, ok = strings.CutPrefix(rest, "r2/buckets")
	if !ok {
		return opUnknown, ""
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		switch r.Method {
		case http.MethodGet:
			return opListBuckets, ""
		case http.MethodPost:
			return opCreateBucket, ""
		}
		return opUnknown, ""
	}
	bucket, sub, _ := strings.Cut(rest, "/")
	switch {
	case sub == "" && r.Method == http.MethodGet:
		return opGetBucket, bucket
	case sub == "" && r.Method == http.MethodDelete:
		return opDeleteBucket, bucket
	case sub == "cors" && r.Method == http.MethodGet:
		return opGetBucketCors, bucket
	case sub == "cors" && r.Method == http.MethodPut:
		return opPutBucketCors, bucket
	case sub == "cors" && r.Method == http.MethodDelete:
		return opDeleteBucketCors, bucket
	}
	return opUnknown, bucket
}

// Dialect is what the request shell needs to serve R2: Cloudflare's
// envelope for errors. Every R2 route needs a token, so a request without
// one is refused at once; it counts as anonymous for the slots.
func (h *Handler) Dialect() shell.Dialect {
	return shell.Dialect{
		API:       "r2",
		Ops:       opNames,
		Anonymous: func(r *http.Request) bool { return len(r.Header["Authorization"]) == 0 },
		WriteError: func(w http.ResponseWriter, _ *http.Request, _ *shell.Exchange, err error) {
			writeError(w, toAPIError(err))
		},
	}
}

// Serve authenticates the request's Bearer token, then runs its route.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, ex *shell.Exchange) error {
	op, bucket := classify(r)
	ex.SetOp(op)
	ex.Bucket = bucket
	p, err := h.principals.authenticate(r)
	if err != nil {
		return err
	}
	ex.KeyID = p.GetKeyId()
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	return nil
}
