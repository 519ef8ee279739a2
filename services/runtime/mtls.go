package runtime

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"

	"github.com/coffer-project/coffer/services/certs"
	"github.com/coffer-project/coffer/services/errs"
)

// Mutual TLS between roles.
//
// With --mtls-ca/--mtls-cert/--mtls-key, the gRPC server requires a client
// certificate from the cluster CA at the handshake (no certificate, or one
// from another CA, never gets a call in), and every call is then checked
// against the Policy: the caller's certificate must name a role the policy
// allows for that method. A method the policy does not list is refused, so
// a new RPC is closed until someone decides who may call it. Without mTLS
// nothing is checked here (the all-in-one default listens on loopback);
// what needs more than network reach — key minting, operator runs — checks
// an application key in its handler either way.

// Policy says which roles may call each gRPC method: full method names
// ("/coffer.metadata.v1.ClusterService/AddVoter") or a whole service
// ("/coffer.metadata.v1.ClusterService/*"), to the roles allowed.
type Policy map[string][]string

// Allows reports whether a caller holding roles may call method.
func (p Policy) Allows(method string, roles []string) bool {
	allowed := p[method]
	if i := strings.LastIndex(method, "/"); i > 0 {
		allowed = append(slices.Clone(allowed), p[method[:i]+"/*"]...)
	}
	for _, r := range roles {
		if slices.Contains(allowed, r) {
			return true
		}
	}
	return false
}

// healthService is open to every role: discovery's resolvers health-check
// the instances they balance over.
const healthService = "/grpc.health.v1.Health/"

// CallerRoles are the roles the caller's certificate names (nil without
// mTLS).
func CallerRoles(ctx context.Context) []string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return nil
	}
	return certs.RolesOf(info.State.PeerCertificates[0])
}

// authorize refuses a call the policy does not allow the caller's roles.
func (s *Server) authorize(ctx context.Context, method string) error {
	if s.identity == nil || strings.HasPrefix(method, healthService) {
		return nil
	}
	roles := CallerRoles(ctx)
	if s.policy.Allows(method, roles) {
		return nil
	}
	return errs.Errorf(errs.PermissionDenied, method, "a caller with role %s may not call %s", strings.Join(roles, ","), method)
}

// Identity is the process's mutual-TLS identity, or nil without mTLS.
func (s *Server) Identity() *certs.Identity { return s.identity }

// ClientCredentials are the transport credentials of a connection to role
// ("" for any role): mutual TLS presenting this process's certificate and
// checking that the server holds role, or plaintext without mTLS.
func (s *Server) ClientCredentials(role string) grpc.DialOption {
	return ClientCredentials(s.identity, role)
}

// ClientCredentials is Server.ClientCredentials for tools that have an
// identity (or nil) but no server.
func ClientCredentials(id *certs.Identity, role string) grpc.DialOption {
	if id == nil {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(id.ClientConfig(role)))
}

// loadIdentity reads the mTLS files named by the configuration.
func loadIdentity(cfg Config) (*certs.Identity, error) {
	if !cfg.MTLS() {
		return nil, nil
	}
	id, err := certs.LoadIdentity(cfg.MTLSCA, cfg.MTLSCert, cfg.MTLSKey)
	if err != nil {
		return nil, fmt.Errorf("runtime: mtls: %w", err)
	}
	return id, nil
}

// Option configures New.
type Option func(*Server)

// WithPolicy sets the table calls are authorized by under mTLS.
func WithPolicy(p Policy) Option { return func(s *Server) { s.policy = p } }
