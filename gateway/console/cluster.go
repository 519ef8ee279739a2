package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// clusterTimeout bounds one cluster report: a node that does not answer is
// reported as such, the page does not wait for it.
const clusterTimeout = 10 * time.Second

// clusterCapability is what a key needs to see the cluster: the report
// names every role's addresses, which is an operator's business. listKeys
// on a key restricted to no bucket is the account-level read capability
// B2 has; a bucket-restricted key is refused by the decision itself.
const clusterCapability = policy.ListKeys

// apiError is the console endpoint's error, in B2's JSON shape so the
// browser handles it like any B2 refusal.
type apiError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// cluster is GET /api/cluster: the cluster report, for a B2 account token
// (Authorization header) whose key has clusterCapability.
func (h *Handler) cluster(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, apiError{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed"})
		return
	}
	token := r.Header.Get("Authorization")
	if token == "" || len(token) > 4096 {
		writeError(w, apiError{http.StatusUnauthorized, "bad_auth_token", "authorization token is missing"})
		return
	}
	ctx := r.Context()
	resp, err := h.deps.Creds.VerifyToken(ctx, &authv1.VerifyTokenRequest{
		Token: token, Kinds: []authv1.TokenKind{authv1.TokenKind_TOKEN_KIND_ACCOUNT},
	})
	if err == nil {
		err = policy.Decide(resp.GetPrincipal(), &authv1.Access{Capability: clusterCapability}, h.deps.Now())
	}
	if err != nil {
		writeError(w, refusal(err))
		return
	}
	if h.deps.Cluster == nil {
		writeError(w, apiError{http.StatusServiceUnavailable, "service_unavailable", "the cluster status is not available on this gateway"})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, clusterTimeout)
	defer cancel()
	rep, err := h.deps.Cluster(ctx)
	if err != nil {
		h.deps.Log.Warn("console: cluster report failed", "err", err)
		writeError(w, apiError{http.StatusServiceUnavailable, "service_unavailable", "the cluster status could not be gathered"})
		return
	}
	body, err := json.Marshal(rep)
	if err != nil {
		h.deps.Log.Error("console: cluster report", "err", err)
		writeError(w, apiError{http.StatusInternalServerError, "internal_error", "internal error"})
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(body)
}

// refusal maps an authentication or authorization failure to B2's codes
// (gateway/b2/errors.go), so the console reacts to an expired token here
// as it does on every B2 call.
func refusal(err error) apiError {
	msg := "unauthorized"
	if e := errs.As(err); e != nil && e.Msg != "" {
		msg = e.Msg
	}
	switch errs.KindOf(err) {
	case errs.Expired:
		return apiError{http.StatusUnauthorized, "expired_auth_token", "Authorization token has expired"}
	case errs.Unauthenticated, errs.MalformedAuth:
		return apiError{http.StatusUnauthorized, "bad_auth_token", "Invalid authorization token"}
	case errs.PermissionDenied:
		if strings.Contains(msg, "restricted to a bucket") {
			msg = "the cluster status needs a key that is not restricted to a bucket"
		}
		return apiError{http.StatusUnauthorized, "unauthorized", msg}
	}
	return apiError{http.StatusServiceUnavailable, "service_unavailable", "service unavailable; retry"}
}

func writeError(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

func itoa(n int) string { return strconv.Itoa(n) }
