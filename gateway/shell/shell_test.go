package shell

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coffer-project/coffer/services/errs"
)

// testDialect renders errors as "code=<kind>" with the status of a few kinds.
func testDialect() Dialect {
	return Dialect{
		API: "t", Ops: []string{"unknown", "Get", "Put"}, IDHeaders: []string{"X-Req-Id"},
		Anonymous: func(r *http.Request) bool { return r.Header.Get("Authorization") == "" },
		WriteError: func(w http.ResponseWriter, _ *http.Request, _ *Exchange, err error) {
			status := http.StatusBadRequest
			switch errs.KindOf(err) {
			case errs.ResourceExhausted:
				status = http.StatusServiceUnavailable
			case errs.Internal, errs.DataLoss:
				status = http.StatusInternalServerError
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, "code=%s", errs.KindOf(err))
		},
	}
}

func TestErrorsAndPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	sh := New(Config{MaxInflight: 4}, Deps{Registerer: reg})
	var serve func(w http.ResponseWriter, ex *Exchange) error
	h := sh.Wrap(testDialect(), HandlerFunc(func(w http.ResponseWriter, _ *http.Request, ex *Exchange) error {
		ex.SetOp(1)
		return serve(w, ex)
	}))
	do := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set("Authorization", "k")
		h.ServeHTTP(w, r)
		return w
	}

	// An error before the response started is rendered by the dialect,
	// without the headers set for success; CORS headers stay.
	serve = func(w http.ResponseWriter, _ *Exchange) error {
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Content-Length", "1000")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		return errs.E(errs.DataLoss, "test", errors.New("blob gone"))
	}
	w := do()
	if w.Code != 500 || w.Body.String() != "code=data_loss" || w.Header().Get("ETag") != "" ||
		w.Header().Get("Content-Length") != "" || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
		w.Header().Get("X-Req-Id") == "" || w.Header().Get("Server") != "coffer" {
		t.Errorf("error: %d %q %v", w.Code, w.Body, w.Header())
	}
	// A 304 keeps its validators.
	serve = func(w http.ResponseWriter, _ *Exchange) error {
		w.Header().Set("ETag", `"abc"`)
		return errs.E(errs.NotModified, "test", nil)
	}
	if w := do(); w.Header().Get("ETag") != `"abc"` {
		t.Errorf("304 lost its ETag: %v", w.Header())
	}
	// A panic before the response is an internal error in the dialect.
	serve = func(http.ResponseWriter, *Exchange) error { panic("boom") }
	if w := do(); w.Code != 500 || w.Body.String() != "code=internal" {
		t.Errorf("panic: %d %q", w.Code, w.Body)
	}
	// An error after the response started cuts the connection.
	serve = func(w http.ResponseWriter, _ *Exchange) error {
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		return errs.E(errs.DataLoss, "test", nil)
	}
	func() {
		defer func() {
			if rec := recover(); rec != http.ErrAbortHandler {
				t.Errorf("error after start: recovered %v, want http.ErrAbortHandler", rec)
			}
		}()
		do()
	}()
	if n := sh.InFlight(); n != 0 {
		t.Errorf("%d slots still held", n)
	}
	// Every request was counted, the cut one under the status it sent.
	if got := counter(t, reg, "coffer_http_requests_total", "t", "Get", "5xx"); got != 2 {
		t.Errorf("5xx Get = %v, want 2", got)
	}
	if got := counter(t, reg, "coffer_http_requests_total", "t", "Get", "2xx"); got != 1 {
		t.Errorf("2xx Get = %v, want 1", got)
	}
	if got := counter(t, reg, "coffer_http_response_bytes_total", "t", "Get"); got < float64(len("partial")) {
		t.Errorf("bytes out = %v", got)
	}
}

func TestAnonymousShare(t *testing.T) {
	sh := New(Config{MaxInflight: 3, MaxInflightAnonymous: 1}, Deps{})
	hold := make(chan struct{})
	started := make(chan struct{}, 8)
	h := sh.Wrap(testDialect(), HandlerFunc(func(http.ResponseWriter, *http.Request, *Exchange) error {
		started <- struct{}{}
		<-hold
		return nil
	}))
	do := func(authenticated bool) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		if authenticated {
			r.Header.Set("Authorization", "k")
		}
		h.ServeHTTP(w, r)
		return w
	}
	done := make(chan int, 8)
	go func() { done <- do(false).Code }()
	<-started
	// The anonymous share (1) is taken: another anonymous request is
	// refused in the dialect's format; an authenticated one is not.
	if w := do(false); w.Code != 503 || !strings.Contains(w.Body.String(), "resource_exhausted") {
		t.Errorf("second anonymous: %d %q", w.Code, w.Body)
	}
	for range 2 {
		go func() { done <- do(true).Code }()
		<-started
	}
	// Every slot is taken now.
	if w := do(true); w.Code != 503 {
		t.Errorf("fourth request: %d", w.Code)
	}
	close(hold)
	for range 3 {
		if code := <-done; code != 200 {
			t.Errorf("held request: %d", code)
		}
	}
	if sh.InFlight() != 0 {
		t.Errorf("%d slots still held", sh.InFlight())
	}
}

func TestStripHeaders(t *testing.T) {
	h := http.Header{}
	for _, k := range []string{"Content-Length", "ETag", "Last-Modified", "X-Amz-Version-Id", "X-Amz-Meta-A",
		"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Vary", "Server", "X-Amz-Request-Id"} {
		h.Set(k, "v")
	}
	h["x-bz-info-raw"] = []string{"v"} // set directly, not canonical
	StripHeaders(h, []string{"X-Amz-Request-Id"})
	want := []string{"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Server", "Vary", "X-Amz-Request-Id"}
	if len(h) != len(want) {
		t.Errorf("kept %v, want %v", h, want)
	}
	for _, k := range want {
		if h.Get(k) == "" {
			t.Errorf("%s removed", k)
		}
	}
}

// counter reads a counter of reg whose label values are values, in order.
func counter(t *testing.T, reg *prometheus.Registry, name string, values ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetValue())
			}
			// Labels come sorted by name: api, code_class, op.
			if strings.Join(got, ",") == strings.Join(sortedLike(values), ",") {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// sortedLike orders (api, op[, code_class]) as Gather sorts label names.
func sortedLike(v []string) []string {
	if len(v) == 3 {
		return []string{v[0], v[2], v[1]}
	}
	return v
}
