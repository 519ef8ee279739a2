package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Identity is what a process presents to, and trusts from, the other roles:
// the cluster CA and its own certificate (naming its roles) with the key.
type Identity struct {
	// Pool holds the cluster CA.
	Pool *x509.CertPool
	// Pair is this process's certificate, reloaded when its files change.
	Pair *KeyPair
}

// LoadIdentity reads the cluster CA and this process's key pair.
func LoadIdentity(caFile, certFile, keyFile string) (*Identity, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("certs: %s holds no PEM certificate", caFile)
	}
	kp, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if _, err := kp.Certificate().Leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("certs: %s is not a client certificate of the CA in %s: %w", certFile, caFile, err)
	}
	return &Identity{Pool: pool, Pair: kp}, nil
}

// Roles are the roles this process's certificate names.
func (id *Identity) Roles() []string { return RolesOf(id.Pair.Certificate().Leaf) }

// ServerConfig is the TLS configuration of a server between roles: TLS 1.3,
// a client certificate from the cluster CA required, and — when roles are
// given — one of them named in it (the Raft transport admits metadata nodes
// only). With no roles, any role is admitted at the handshake and each call
// is authorized by its method (services/runtime).
func (id *Identity) ServerConfig(roles ...string) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      id.Pool,
		GetCertificate: id.Pair.GetCertificate,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("certs: no client certificate")
			}
			return hasRole(cs.PeerCertificates[0], roles)
		},
	}
}

// ClientConfig is the TLS configuration of a client calling role: TLS 1.3,
// this process's certificate presented, and the server's certificate
// checked against the cluster CA and for role ("" admits any role). Host
// names are not checked (see the package comment).
func (id *Identity) ClientConfig(role string) *tls.Config {
	var want []string
	if role != "" {
		want = []string{role}
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		GetClientCertificate: id.Pair.GetClientCertificate,
		// The chain and the role are checked by VerifyConnection; the
		// standard check would also ask for the dialled host name.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("certs: the server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: id.Pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("certs: the server's certificate is not from the cluster CA: %w", err)
			}
			return hasRole(leaf, want)
		},
	}
}

// hasRole checks that cert names at least one role, and one of want when
// want is not empty.
func hasRole(cert *x509.Certificate, want []string) error {
	have := RolesOf(cert)
	if len(have) == 0 {
		return errors.New("certs: the peer's certificate names no coffer role")
	}
	if len(want) == 0 {
		return nil
	}
	for _, r := range have {
		if slices.Contains(want, r) {
			return nil
		}
	}
	return fmt.Errorf("certs: the peer is %s, not %s", strings.Join(have, ","), strings.Join(want, " or "))
}

// EtcdClientConfig is the TLS configuration of this process's etcd client:
// etcd's certificate checked against the cluster CA and for the host name
// dialled (etcd is reached by name), this process's certificate presented
// (etcd runs with --client-cert-auth).
func (id *Identity) EtcdClientConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: id.Pool, GetClientCertificate: id.Pair.GetClientCertificate}
}
