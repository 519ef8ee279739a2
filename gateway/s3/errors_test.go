package s3

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err          error
		code         string
		status       int
		msgContains  string
		bodyContains string
	}{
		{errs.E(errs.BucketNotFound, "x", nil), "NoSuchBucket", 404, "does not exist", ""},
		{errs.Errorf(errs.Unimplemented, "x", "CopyObject is not implemented yet."), "NotImplemented", 501, "CopyObject is not implemented yet.", ""},
		{errs.Errorf(errs.Internal, "x", "disk at /var/secret failed"), "InternalError", 500, "internal error", ""},
		{errors.New("raw cause /var/secret"), "InternalError", 500, "internal error", ""},
		{errs.E(errs.NoSuchConfiguration, "x", nil).WithDetail("config", "cors"), "NoSuchCORSConfiguration", 404, "", ""},
		{errs.E(errs.MalformedAuth, "x", nil).WithDetail("query", "true"), "AuthorizationQueryParametersError", 400, "", ""},
		{errs.E(errs.RequestTimeTooSkewed, "x", nil).WithDetail("server_time", "20250101T000000Z"), "RequestTimeTooSkewed", 403, "", "<ServerTime>20250101T000000Z</ServerTime>"},
		{errs.E(errs.InvalidRange, "x", nil).WithDetail("actual_object_size", "10"), "InvalidRange", 416, "", "<ActualObjectSize>10</ActualObjectSize>"},
		{errs.E(errs.NoSuchConfiguration, "x", nil).WithDetail("config", "lifecycle"), "NoSuchLifecycleConfiguration", 404, "", ""},
		{errs.E(errs.NoSuchConfiguration, "x", nil).WithDetail("config", "encryption"), "ServerSideEncryptionConfigurationNotFoundError", 404, "", ""},
		{errs.E(errs.NoSuchConfiguration, "x", nil).WithDetail("config", "lock"), "ObjectLockConfigurationNotFoundError", 404, "", ""},
		{errs.E(errs.NoSuchConfiguration, "x", nil).WithDetail("config", "object_lock"), "NoSuchObjectLockConfiguration", 404, "", ""},
		{errs.E(errs.ObjectLocked, "x", nil), "AccessDenied", 403, "object lock", ""},
		{errs.E(errs.InvalidBucketState, "x", nil), "InvalidBucketState", 409, "", ""},
		{errs.E(errs.MalformedBody, "x", nil), "MalformedXML", 400, "", ""},
		{errs.E(errs.DataLoss, "x", errors.New("package 3 fails authentication")), "InternalError", 500, "internal error", ""},
	}
	for _, c := range cases {
		ae, _ := toAPIError(c.err)
		if ae.Code != c.code || ae.Status != c.status || !strings.Contains(ae.Message, c.msgContains) {
			t.Errorf("%v: got %+v", c.err, ae)
		}
		if strings.Contains(ae.Message, "/var/secret") {
			t.Errorf("%v: internal cause leaked: %q", c.err, ae.Message)
		}
		w := httptest.NewRecorder()
		writeError(w, httptest.NewRequest(http.MethodGet, "/b/k", nil), "RID", Request{Bucket: "b", Key: "k"}, c.err)
		body := w.Body.String()
		if w.Code != c.status || !strings.Contains(body, "<Code>"+c.code+"</Code>") || !strings.Contains(body, "<RequestId>RID</RequestId>") ||
			!strings.Contains(body, c.bodyContains) {
			t.Errorf("%v: wrote %d %s", c.err, w.Code, body)
		}
		if c.status == 416 && w.Header().Get("Content-Range") != "bytes */10" {
			t.Errorf("416 without Content-Range: %q", w.Header().Get("Content-Range"))
		}
	}
	// Every kind maps to something with a sensible status.
	for _, k := range errs.Kinds() {
		ae, _ := toAPIError(errs.E(k, "x", nil))
		if ae.Code == "" || ae.Status < 300 || ae.Status > 599 {
			t.Errorf("kind %v maps to %+v", k, ae)
		}
	}
}
