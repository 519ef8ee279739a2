package policy

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	r2v1 "github.com/coffer-project/coffer/proto/gen/go/coffer/r2/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// TestR2Rules checks the R2 shape converts to the S3 view and back, and
// that maxAgeSeconds must be a whole number in range.
func TestR2Rules(t *testing.T) {
	in := []*r2v1.CorsRule{{
		Id:            "site",
		Allowed:       &r2v1.CorsAllowed{Methods: []string{"GET", "HEAD"}, Origins: []string{"https://a.test"}, Headers: []string{"x-a"}},
		ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: proto.Float64(3600),
	}, {Allowed: &r2v1.CorsAllowed{Methods: []string{"PUT"}, Origins: []string{"*"}}}}
	rules, err := FromR2(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []*corsv1.CorsRule{{
		Name: "site", AllowedOperations: []string{"GET", "HEAD"}, AllowedOrigins: []string{"https://a.test"},
		AllowedHeaders: []string{"x-a"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: proto.Int32(3600),
	}, {AllowedOperations: []string{"PUT"}, AllowedOrigins: []string{"*"}}}
	for i := range want {
		if !proto.Equal(rules[i], want[i]) {
			t.Errorf("rule %d = %v, want %v", i, rules[i], want[i])
		}
	}
	if _, err := FromS3(rules); err != nil {
		t.Fatalf("converted rules do not pass S3 validation: %v", err)
	}
	back := ToR2(rules)
	for i := range in {
		if !proto.Equal(back[i], in[i]) {
			t.Errorf("round trip of rule %d = %v, want %v", i, back[i], in[i])
		}
	}
	for _, bad := range []float64{-1, 1.5, MaxAgeLimit + 1} {
		_, err := FromR2([]*r2v1.CorsRule{{Allowed: &r2v1.CorsAllowed{Methods: []string{"GET"}, Origins: []string{"*"}}, MaxAgeSeconds: proto.Float64(bad)}})
		if !errs.Is(err, errs.InvalidRequest) {
			t.Errorf("maxAgeSeconds %v: %v, want InvalidRequest", bad, err)
		}
	}
	if got := ToR2(nil); got == nil || len(got) != 0 {
		t.Errorf("ToR2(nil) = %v, want an empty list (R2 answers [])", got)
	}
}
