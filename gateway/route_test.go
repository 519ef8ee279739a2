package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRoute checks which front-end each path reaches: B2's /b2api/ and
// /file/ prefixes, R2's /client/v4/, S3 for the rest — and S3 for a
// virtual-hosted bucket whatever its key looks like.
func TestRoute(t *testing.T) {
	tag := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("X-Front", name) })
	}
	h := route(tag("s3"), tag("r2"), tag("b2"), []string{"localhost", "s3.localhost"})
	for _, tt := range []struct{ host, path, want string }{
		{"127.0.0.1:9000", "/b2api/v2/b2_list_buckets", "b2"},
		{"127.0.0.1:9000", "/b2api/v4/b2_upload_file/x/y", "b2"},
		{"127.0.0.1:9000", "/file/bucket/a/b", "b2"},
		{"localhost:9000", "/file/bucket/a/b", "b2"},
		{"127.0.0.1:9000", "/client/v4/accounts/x/r2/buckets", "r2"},
		{"127.0.0.1:9000", "/bucket/key", "s3"},
		{"127.0.0.1:9000", "/", "s3"},
		{"127.0.0.1:9000", "/files/x", "s3"},
		{"127.0.0.1:9000", "/b2apix/v2/x", "s3"},
		{"my-bucket.s3.localhost:9000", "/file/bucket/a", "s3"},
		{"my-bucket.localhost", "/b2api/v2/b2_list_buckets", "s3"},
		{"s3.localhost:9000", "/b2api/v2/b2_list_buckets", "b2"},
		{"s3.localhost", "/file/bucket/a", "b2"},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, tt.path, nil)
		r.Host = tt.host
		h.ServeHTTP(w, r)
		if got := w.Header().Get("X-Front"); got != tt.want {
			t.Errorf("%s %s → %s, want %s", tt.host, tt.path, got, tt.want)
		}
	}
}
