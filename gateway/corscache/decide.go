package corscache

import (
	"context"
	"net/http"
	"strings"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// The decision helpers every front-end uses: a front-end turns its request
// into a Question (which operation, which token — that much is dialect)
// and turns a refusal into its own error format; asking corsd through the
// cache, failing closed, and setting the answer's headers happen here.

// Question is a front-end's CORS question about one request to a bucket.
type Question struct {
	Bucket    *metadatav1.Bucket
	Dialect   corsv1.Dialect
	Operation string
	Origin    string
	// Method is the request's method, or for a preflight the method it
	// asks about (Access-Control-Request-Method).
	Method string
	// RequestHeaders are a preflight's Access-Control-Request-Headers.
	RequestHeaders []string
	TokenKind      corsv1.TokenKind
	// DownloadTokenValid says a B2 download authorization in the URL is
	// valid for this bucket and name.
	DownloadTokenValid bool
}

func (q *Question) request(preflight bool) *corsv1.EvaluateRequest {
	return &corsv1.EvaluateRequest{
		BucketId: q.Bucket.GetBucketId(), Dialect: q.Dialect, Operation: q.Operation,
		Origin: q.Origin, Method: q.Method, RequestHeaders: q.RequestHeaders, Preflight: preflight,
		TokenKind: q.TokenKind, DownloadTokenValid: q.DownloadTokenValid,
		BucketPublic: q.Bucket.GetType() == metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC,
	}
}

// Preflight answers a preflight about q. When a rule allows it, the
// answer's headers are set on h and allowed is true; otherwise reason is
// corsd's explanation (may be empty). When corsd cannot be asked, err says
// why and the preflight is refused: without corsd's answer nothing is
// approved.
func (c *Cache) Preflight(ctx context.Context, h http.Header, q Question) (allowed bool, reason string, err error) {
	d, err := c.Evaluate(ctx, q.Bucket.GetCorsIndex(), q.request(true))
	if err != nil {
		return false, "", err
	}
	if d.GetDecision() != corsv1.Decision_DECISION_ALLOW {
		return false, d.GetMessage(), nil
	}
	SetHeaders(h, d.GetHeaders())
	return true, "", nil
}

// Apply asks about an actual request that carries Origin and sets the
// headers corsd returns on h — before the handler runs, so that they are on
// error responses too and scripts can read the error. A request without
// Origin asks nothing. An error (corsd unreachable) leaves the headers out
// and never refuses the request itself; it is returned for logging.
func (c *Cache) Apply(ctx context.Context, h http.Header, q Question) error {
	if q.Origin == "" || q.Bucket == nil {
		return nil
	}
	d, err := c.Evaluate(ctx, q.Bucket.GetCorsIndex(), q.request(false))
	if err != nil {
		return err
	}
	SetHeaders(h, d.GetHeaders())
	return nil
}

// SetHeaders sets corsd's headers on h; Vary is added to, never replaced.
func SetHeaders(h http.Header, headers []*corsv1.Header) {
	for _, x := range headers {
		if strings.EqualFold(x.GetName(), "Vary") {
			h.Add("Vary", x.GetValue())
			continue
		}
		h.Set(x.GetName(), x.GetValue())
	}
}

// SplitHeaderList splits Access-Control-Request-Headers into names.
func SplitHeaderList(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}
