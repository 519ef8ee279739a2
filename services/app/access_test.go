package app

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The services whose methods the table must cover.
	_ "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	_ "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	_ "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	_ "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// servedServices are the gRPC services the roles serve (R2Service is
// served in-process by the gateway's REST front-end, not on the gRPC port).
var servedServices = []string{
	"coffer.metadata.v1.MetadataService", "coffer.metadata.v1.ClusterService",
	"coffer.auth.v1.AuthService", "coffer.blob.v1.BlobService", "coffer.cors.v1.CorsService",
}

// TestAccessCoversEveryMethod: every method the roles serve has a line in
// the table, and every line names a method that exists — so a new RPC, or
// a typo, fails here rather than being refused (or opened) in production.
func TestAccessCoversEveryMethod(t *testing.T) {
	exists := map[string]bool{}
	for _, svc := range servedServices {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Fatal(err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		exists["/"+svc+"/*"] = true
		for i := range methods.Len() {
			m := "/" + svc + "/" + string(methods.Get(i).Name())
			exists[m] = true
			var roles []string
			for k, r := range access {
				if k == m || strings.HasSuffix(k, "/*") && strings.HasPrefix(m, strings.TrimSuffix(k, "*")) {
					roles = append(roles, r...)
				}
			}
			if len(roles) == 0 {
				t.Errorf("%s has no line in the access table", m)
			}
		}
	}
	for m := range access {
		if !exists[m] {
			t.Errorf("the access table names %s, which no served service has", m)
		}
	}
}

// TestAccessDecisions spells out the decisions the issue asks for.
func TestAccessDecisions(t *testing.T) {
	cases := []struct {
		method string
		role   string
		ok     bool
	}{
		{"/coffer.auth.v1.AuthService/VerifySigV4", "gateway", true},
		{"/coffer.auth.v1.AuthService/VerifySigV4", "corsd", false},
		{"/coffer.auth.v1.AuthService/VerifySigV4", "metadata", false},
		{"/coffer.auth.v1.AuthService/GenerateDataKey", "gateway", true},
		{"/coffer.auth.v1.AuthService/UnwrapDataKey", "blobstore", false},
		{"/coffer.auth.v1.AuthService/CreateKey", "admin", true},
		{"/coffer.auth.v1.AuthService/CreateKey", "blobstore", false},
		{"/coffer.auth.v1.AuthService/VerifyOperator", "metadata", true},
		{"/coffer.auth.v1.AuthService/VerifyOperator", "gateway", false},
		{"/coffer.metadata.v1.ClusterService/AddVoter", "gateway", false},
		{"/coffer.metadata.v1.ClusterService/AddVoter", "admin", true},
		{"/coffer.metadata.v1.ClusterService/RegisterMember", "metadata", true},
		{"/coffer.metadata.v1.ClusterService/RunLifecycle", "gateway", false},
		{"/coffer.metadata.v1.MetadataService/CreateKey", "gateway", false},
		{"/coffer.metadata.v1.MetadataService/GetKey", "authd", true},
		{"/coffer.metadata.v1.MetadataService/CommitObject", "gateway", true},
		{"/coffer.metadata.v1.MetadataService/CommitObject", "blobstore", false},
		{"/coffer.metadata.v1.MetadataService/CommitObject", "metadata", true},
		{"/coffer.blob.v1.BlobService/PutBlob", "blobstore", true},
		{"/coffer.blob.v1.BlobService/PutBlob", "authd", false},
		{"/coffer.blob.v1.BlobService/RunMaintenance", "gateway", false},
		{"/coffer.cors.v1.CorsService/Evaluate", "gateway", true},
		{"/coffer.cors.v1.CorsService/PutBucketCors", "admin", false},
	}
	for _, c := range cases {
		if got := access.Allows(c.method, []string{c.role}); got != c.ok {
			t.Errorf("%s calling %s: allowed %v, want %v", c.role, c.method, got, c.ok)
		}
	}
	if access.Allows("/coffer.auth.v1.AuthService/VerifySigV4", nil) {
		t.Error("a caller with no role was allowed")
	}
}
