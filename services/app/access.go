package app

import (
	"github.com/coffer-project/coffer/services/certs"
	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/runtime"
)

// access is who may call what, under mutual TLS: for each gRPC method, the
// roles whose certificates may call it. It is the one table; the runtime
// refuses any call it does not allow (and any method it does not list), so
// a new RPC is closed until it is given a line here. Health checks are open
// to every role (the resolvers use them).
//
// Roles are those of services/discovery plus certs.Admin, the operator's
// tools (`coffer admin`). A metadata node may call every metadata method:
// followers forward calls to the leader, and a new node joins through
// AddVoter. What changes who may do what — minting or deleting keys,
// running lifecycle rules, scrub, repair and GC — also takes an
// application key in the request (the handlers check it with authd), so
// even an allowed role cannot do it by network reach alone.
var access = buildAccess(
	// metadata: MetadataService
	allow("/coffer.metadata.v1.MetadataService/*", discovery.Metadata),
	allow(metadataMethods("InitAccount", "CreateKey", "GetKey", "ListKeys", "DeleteKey"), discovery.Authd),
	allow(metadataMethods("GetAccount"), discovery.Authd, discovery.Gateway, certs.Admin),
	allow(metadataMethods("CreateBucket", "GetBucket", "ListBuckets", "UpdateBucket", "DeleteBucket",
		"CommitObject", "GetObject", "ListObjects", "ListObjectVersions", "HideObject", "DeleteObjectVersion",
		"UpdateObjectRetention", "UpdateObjectLegalHold", "UpdateObjectTags",
		"StartUpload", "GetUpload", "ListUploads", "CommitPart", "ListParts", "CompleteUpload", "AbortUpload"), discovery.Gateway),
	allow(metadataMethods("GetBucket", "UpdateBucket"), discovery.Corsd),
	allow(metadataMethods("Watch"), discovery.Gateway, discovery.Corsd),
	allow(metadataMethods("CheckBlobReferences", "UpdatePlacement", "GetBlobPlacement", "ListPlacements"), discovery.Blobstore),
	allow(metadataMethods("ListPlacements"), certs.Admin),
	// metadata: ClusterService
	allow("/coffer.metadata.v1.ClusterService/*", discovery.Metadata),
	allow(clusterMethods("GetClusterStatus", "AddVoter", "RemoveServer", "RunLifecycle"), certs.Admin),
	// The console's Cluster page (gateway/console) shows the Raft status.
	allow(clusterMethods("GetClusterStatus"), discovery.Gateway),
	// authd: verification and data keys for gateways; key management for
	// gateways (b2_create_key...) and operators, with the caller's token.
	allow(authMethods("VerifySigV4", "VerifyPostPolicy", "AuthorizeAccount", "VerifyToken", "CreateUploadToken", "CreateDownloadAuthorization",
		"Authorize", "GenerateDataKey", "UnwrapDataKey", "CreateKey", "ListKeys", "DeleteKey"), discovery.Gateway),
	allow(authMethods("AuthorizeAccount", "CreateKey", "ListKeys", "DeleteKey"), certs.Admin),
	allow(authMethods("VerifyOperator"), discovery.Metadata, discovery.Blobstore),
	// blobstore: bytes for gateways and for the other nodes (rebuilds).
	allow(blobMethods("PutBlob", "GetBlob", "StatBlob", "DeleteBlob", "VerifyBlob", "GetNodeInfo"), discovery.Gateway, discovery.Blobstore),
	allow(blobMethods("ListBlobs"), discovery.Blobstore),
	allow(blobMethods("GetNodeInfo", "ListBlobs", "RunMaintenance"), certs.Admin),
	// corsd: the gateways' CORS decisions and rule changes.
	allow("/coffer.cors.v1.CorsService/*", discovery.Gateway),
)

type grant struct {
	methods []string
	roles   []string
}

func allow(methods any, roles ...string) grant {
	switch m := methods.(type) {
	case string:
		return grant{[]string{m}, roles}
	case []string:
		return grant{m, roles}
	}
	panic("app: allow takes a method or a list of methods")
}

func buildAccess(grants ...grant) runtime.Policy {
	p := runtime.Policy{}
	for _, g := range grants {
		for _, m := range g.methods {
			p[m] = append(p[m], g.roles...)
		}
	}
	return p
}

func methodsOf(service string, names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "/" + service + "/" + n
	}
	return out
}

func metadataMethods(n ...string) []string {
	return methodsOf("coffer.metadata.v1.MetadataService", n...)
}
func clusterMethods(n ...string) []string {
	return methodsOf("coffer.metadata.v1.ClusterService", n...)
}
func authMethods(n ...string) []string { return methodsOf("coffer.auth.v1.AuthService", n...) }
func blobMethods(n ...string) []string { return methodsOf("coffer.blob.v1.BlobService", n...) }
