package app_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/coffer-project/coffer/gateway/conformance"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/app"
	"github.com/coffer-project/coffer/services/certs"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// pki is a cluster CA with a certificate per role set, on disk.
type pki struct {
	t      *testing.T
	dir    string
	ca     *certs.CA
	caFile string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	ca, key, err := certs.NewCA("test cluster CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{t: t, dir: dir, ca: ca, caFile: filepath.Join(dir, "ca.pem")}
	if err := certs.WriteFiles(p.caFile, ca.PEM, filepath.Join(dir, "ca-key.pem"), key); err != nil {
		t.Fatal(err)
	}
	return p
}

// issue writes a certificate for roles and returns the --mtls-* flags.
func (p *pki) issue(name string, roles ...string) []string {
	p.t.Helper()
	c, k, err := p.ca.Issue(certs.Leaf{CommonName: name, Roles: roles, Validity: time.Hour})
	if err != nil {
		p.t.Fatal(err)
	}
	cf, kf := filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+"-key.pem")
	if err := certs.WriteFiles(cf, c, kf, k); err != nil {
		p.t.Fatal(err)
	}
	return []string{"--mtls-ca", p.caFile, "--mtls-cert", cf, "--mtls-key", kf}
}

// identity loads the identity behind flags.
func (p *pki) identity(flags []string) *certs.Identity {
	p.t.Helper()
	id, err := certs.LoadIdentity(flags[1], flags[3], flags[5])
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

func startProcess(t *testing.T, args ...string) *app.Process {
	t.Helper()
	cfg, _, err := app.ParseConfig("mtls", append(clustertest.Args(t.TempDir()), args...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := app.Start(ctx, cfg, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.Stop(sctx)
	})
	return p
}

func dial(t *testing.T, addr string, opt grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := runtime.Dial("passthrough:///"+addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestMutualTLSBetweenRoles runs the back-end roles in one process and the
// gateway in another, each with only its own roles' certificate, so the
// access table decides every call the gateway makes; real clients then use
// S3 and B2 through it. Outsiders are refused: no certificate, another
// CA's, a gateway's calling what only metadata nodes or operators may.
func TestMutualTLSBetweenRoles(t *testing.T) {
	pk := newPKI(t)
	backFlags := pk.issue("back", "metadata", "blobstore", "authd", "corsd")
	back := startProcess(t, append([]string{"--roles", "metadata,blobstore,authd,corsd"}, backFlags...)...)
	addr := back.GRPCAddr()
	gwFlags := pk.issue("gateway", "gateway")
	edge := startProcess(t, append([]string{"--roles", "gateway", "--metadata-addrs", addr, "--blobstore-addrs", addr,
		"--authd-addrs", addr, "--corsd-addrs", addr}, gwFlags...)...)

	// Every dialect through the gateway, which reaches each role with its
	// gateway certificate only.
	s3t := conformance.Target{Endpoint: edge.HTTPURL(), AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	b2t := conformance.B2Target{Endpoint: edge.HTTPURL(), KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}
	t.Run("CrossDialect", func(t *testing.T) { conformance.CrossDialect(t, s3t, b2t) })
	t.Run("B2Keys", func(t *testing.T) {
		c := conformance.NewB2(t, b2t, 2)
		k := c.Must("b2_create_key", map[string]any{"accountId": c.AccountID, "keyName": "through-mtls", "capabilities": []string{"listBuckets"}})
		c.Must("b2_list_keys", map[string]any{"accountId": c.AccountID})
		c.Must("b2_delete_key", map[string]any{"applicationKeyId": k["applicationKeyId"]})
	})

	gw := pk.identity(gwFlags)
	other := newPKI(t)
	stranger := other.identity(other.issue("stranger", "metadata", "admin"))
	admin := pk.identity(pk.issue("admin", "admin"))

	// No certificate at all: the handshake fails, no call gets in.
	noCert := grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}))
	_, err := metadatav1.NewClusterServiceClient(dial(t, addr, noCert)).GetClusterStatus(callCtx(t), &metadatav1.GetClusterStatusRequest{})
	if errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("a call without a certificate: %v", err)
	}
	// Plaintext: refused too.
	_, err = metadatav1.NewClusterServiceClient(dial(t, addr, runtime.ClientCredentials(nil, ""))).GetClusterStatus(callCtx(t), &metadatav1.GetClusterStatusRequest{})
	if errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("a plaintext call: %v", err)
	}
	// Another CA's certificate, even one naming metadata and admin.
	_, err = metadatav1.NewClusterServiceClient(dial(t, addr, runtime.ClientCredentials(stranger, ""))).GetClusterStatus(callCtx(t), &metadatav1.GetClusterStatusRequest{})
	if errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("a call with another CA's certificate: %v", err)
	}
	// A gateway certificate calling what only metadata nodes and operators
	// may: membership, the keys' storage, lifecycle runs, maintenance.
	gwConn := dial(t, addr, runtime.ClientCredentials(gw, ""))
	_, err = metadatav1.NewClusterServiceClient(gwConn).AddVoter(callCtx(t), &metadatav1.AddVoterRequest{NodeId: "evil", RaftAddress: "10.0.0.1:9200", GrpcAddress: "10.0.0.1:9100"})
	if errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("gateway → AddVoter: %v", err)
	}
	_, err = metadatav1.NewMetadataServiceClient(gwConn).ListKeys(callCtx(t), &metadatav1.ListKeysRequest{})
	if errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("gateway → metadata ListKeys (sealed secrets): %v", err)
	}
	_, err = metadatav1.NewClusterServiceClient(gwConn).RunLifecycle(callCtx(t), &metadatav1.RunLifecycleRequest{})
	if errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("gateway → RunLifecycle: %v", err)
	}
	stream, err := blobv1.NewBlobServiceClient(gwConn).RunMaintenance(callCtx(t), &blobv1.RunMaintenanceRequest{Job: blobv1.MaintenanceJob_MAINTENANCE_JOB_GC})
	if err == nil {
		_, err = stream.Recv()
	}
	if errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("gateway → RunMaintenance: %v", err)
	}
	// The gateway may ask authd to mint a key, but only with the token of a
	// key that may (b2_create_key passes the caller's).
	auth := authv1.NewAuthServiceClient(gwConn)
	if _, err := auth.CreateKey(callCtx(t), &authv1.CreateKeyRequest{Name: "minted", Capabilities: []string{"readFiles"}}); errs.KindOf(err) != errs.Unauthenticated {
		t.Fatalf("CreateKey without a token: %v", err)
	}

	// The operator's certificate reads the cluster's status; with an
	// operator's key it runs lifecycle rules.
	adminConn := dial(t, addr, runtime.ClientCredentials(admin, "metadata"))
	if _, err := metadatav1.NewClusterServiceClient(adminConn).GetClusterStatus(callCtx(t), &metadatav1.GetClusterStatusRequest{}); err != nil {
		t.Fatalf("admin → GetClusterStatus: %v", err)
	}
	tok, err := authv1.NewAuthServiceClient(adminConn).AuthorizeAccount(callCtx(t), &authv1.AuthorizeAccountRequest{KeyId: clustertest.AccessKeyID, Secret: clustertest.SecretKey})
	if err != nil {
		t.Fatalf("admin → AuthorizeAccount: %v", err)
	}
	if _, err := metadatav1.NewClusterServiceClient(adminConn).RunLifecycle(callCtx(t), &metadatav1.RunLifecycleRequest{AccountToken: tok.AuthorizationToken, DryRun: true}); err != nil {
		t.Fatalf("admin → RunLifecycle with an operator's key: %v", err)
	}
	// The admin listener is plain HTTP and shows nothing of the sort.
	resp, err := http.Get("http://" + back.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `coffer_grpc_server_handled_total{code="PermissionDenied",method="/coffer.metadata.v1.ClusterService/AddVoter"}`) {
		t.Fatalf("the refused call is not counted in /metrics")
	}
}
