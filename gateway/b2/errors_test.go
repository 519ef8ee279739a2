package b2

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

// TestEveryKindMapped checks the error table is total and sane: every Kind
// has a B2 error, client mistakes are 4xx, and only internal failures and
// unavailability are 5xx (clients retry 5xx).
func TestEveryKindMapped(t *testing.T) {
	server := map[errs.Kind]bool{errs.Other: true, errs.Internal: true, errs.DataLoss: true, errs.NotLeader: true,
		errs.Unavailable: true, errs.DeadlineExceeded: true, errs.ResourceExhausted: true}
	for _, k := range errs.Kinds() {
		ae, ok := kindErrors[k]
		if !ok {
			t.Errorf("kind %v has no B2 error", k)
			continue
		}
		if ae.Code == "" || ae.Message == "" {
			t.Errorf("kind %v: %+v", k, ae)
		}
		if server[k] != (ae.Status >= 500) {
			t.Errorf("kind %v: status %d", k, ae.Status)
		}
	}
	for ck, ae := range callErrors {
		if _, ok := calls[ck.call]; !ok {
			t.Errorf("callErrors names unknown call %s", ck.call)
		}
		if ae.Status < 400 || ae.Status >= 500 || ae.Code == "" {
			t.Errorf("%v: %+v", ck, ae)
		}
	}
}

func TestPerCallCodes(t *testing.T) {
	notFound := errs.E(errs.ObjectNotFound, "x", nil)
	for call, want := range map[string]string{
		"b2_hide_file": "no_such_file", "b2_delete_file_version": "file_not_present",
		"b2_get_file_info": "not_found", "b2_download_file_by_name": "not_found",
	} {
		if got := toAPIError(call, notFound); got.Code != want {
			t.Errorf("%s: %s, want %s", call, got.Code, want)
		}
	}
	noBucket := errs.E(errs.BucketNotFound, "x", nil)
	if got := toAPIError("b2_list_file_names", noBucket); got.Code != "invalid_bucket_id" {
		t.Errorf("list: %s", got.Code)
	}
	if got := toAPIError("b2_delete_bucket", noBucket); got.Code != "bad_bucket_id" {
		t.Errorf("delete bucket: %s", got.Code)
	}
	if got := toAPIError("b2_authorize_account", errs.E(errs.Unauthenticated, "x", nil)); got.Code != "unauthorized" || got.Status != 401 {
		t.Errorf("authorize: %+v", got)
	}
	if got := toAPIError("b2_list_buckets", errs.E(errs.Unauthenticated, "x", nil)); got.Code != "bad_auth_token" {
		t.Errorf("token: %+v", got)
	}
	if got := toAPIError("b2_list_buckets", errs.E(errs.Expired, "x", nil)); got.Code != "expired_auth_token" || got.Status != 401 {
		t.Errorf("expired: %+v", got)
	}
	if got := toAPIError("b2_list_buckets", errs.E(errs.PermissionDenied, "x", nil)); got.Code != "unauthorized" || got.Status != 401 {
		t.Errorf("denied: %+v", got)
	}
	// An explicit code wins; internal messages never leak.
	if got := toAPIError("b2_finish_large_file", withCode(errs.Errorf(errs.InvalidPart, "x", "part 3"), 400, "missing_part")); got.Code != "missing_part" || got.Message != "part 3" {
		t.Errorf("withCode: %+v", got)
	}
	if got := toAPIError("b2_list_buckets", errs.Errorf(errs.Internal, "x", "secret detail")); strings.Contains(got.Message, "secret") {
		t.Errorf("internal message leaked: %+v", got)
	}
}

func TestWriteError(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/b2api/v2/b2_upload_file/b/n", nil)
	r.Header.Set("Authorization", "tok123")
	w := httptest.NewRecorder()
	_, err := newTokenSlots().acquire("x")
	if err != nil {
		t.Fatal(err)
	}
	writeError(w, r, "b2_upload_file", withCode(errs.Errorf(errs.InvalidRequest, "x", "busy"), 400, "auth_token_limit"))
	var body apiError
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if w.Code != 400 || body.Status != 400 || body.Code != "auth_token_limit" || body.Message != "more than one upload using auth token tok123" {
		t.Fatalf("auth_token_limit: %d %+v", w.Code, body)
	}
	if w.Header().Get("Content-Type") != "application/json;charset=UTF-8" {
		t.Fatalf("content type %q", w.Header().Get("Content-Type"))
	}
	// 503s carry Retry-After; HEAD carries no body.
	w = httptest.NewRecorder()
	writeError(w, httptest.NewRequest(http.MethodHead, "/file/b/n", nil), "b2_download_file_by_name", errs.E(errs.Unavailable, "x", nil))
	if w.Code != 503 || w.Body.Len() != 0 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("HEAD 503: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	w = httptest.NewRecorder()
	writeError(w, httptest.NewRequest(http.MethodGet, "/file/b/n", nil), "b2_download_file_by_name", errs.E(errs.InvalidRange, "x", nil).WithDetail("actual_object_size", "10"))
	if w.Code != 416 || w.Header().Get("Content-Range") != "bytes */10" {
		t.Fatalf("416: %d %v", w.Code, w.Header())
	}
}

func TestTokenSlots(t *testing.T) {
	s := newTokenSlots()
	release, err := s.acquire("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.acquire("a"); toAPIError("b2_upload_file", err).Code != "auth_token_limit" {
		t.Fatalf("second acquire: %v", err)
	}
	if r2, err := s.acquire("b"); err != nil {
		t.Fatalf("other token: %v", err)
	} else {
		r2()
	}
	release()
	if _, err := s.acquire("a"); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestTestMode(t *testing.T) {
	req := func(path, mode string) (*http.Request, *call) {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.Header.Set("X-Bz-Test-Mode", mode)
		route, err := Classify(path)
		if err != nil {
			t.Fatal(err)
		}
		return r, &call{route: route}
	}
	var tm testMode
	// Disabled: the header is ignored.
	for i := 0; i < 10; i++ {
		r, c := req("/b2api/v2/b2_upload_file/b/n", testFailSomeUploads)
		if err := tm.apply(false, r, c); err != nil {
			t.Fatalf("disabled test mode failed a request: %v", err)
		}
	}
	fails := 0
	for i := 0; i < 9; i++ {
		r, c := req("/b2api/v2/b2_upload_file/b/n", testFailSomeUploads)
		if err := tm.apply(true, r, c); err != nil {
			if toAPIError("b2_upload_file", err).Status != 503 {
				t.Fatalf("fail_some_uploads: %v", err)
			}
			fails++
		}
	}
	if fails != 3 {
		t.Fatalf("fail_some_uploads failed %d of 9", fails)
	}
	// Uploads are not API calls: no token expiry there; caps per class.
	r, c := req("/b2api/v2/b2_upload_file/b/n", testExpireTokens)
	if err := tm.apply(true, r, c); err != nil {
		t.Fatalf("expiry on an upload: %v", err)
	}
	for path, code := range map[string]string{
		"/b2api/v2/b2_upload_part/f/n":   "storage_cap_exceeded",
		"/file/b/n":                      "download_cap_exceeded",
		"/b2api/v2/b2_list_file_names":   "transaction_cap_exceeded",
		"/b2api/v2/b2_authorize_account": "",
	} {
		r, c := req(path, testCapExceeded)
		err := tm.apply(true, r, c)
		if code == "" {
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			continue
		}
		if got := toAPIError(c.route.Call, err); got.Status != 403 || got.Code != code {
			t.Fatalf("%s: %+v", path, got)
		}
	}
}
