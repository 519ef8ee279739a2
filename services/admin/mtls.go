package admin

import (
	"flag"
	"os"

	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/services/certs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Environment defaults of the operator's mutual-TLS flags, so that a tools
// container can carry them once.
const (
	EnvMTLSCA   = "COFFER_MTLS_CA"
	EnvMTLSCert = "COFFER_MTLS_CERT"
	EnvMTLSKey  = "COFFER_MTLS_KEY"
)

// mtlsFlags are the operator's credentials towards a cluster that runs
// mutual TLS: the cluster CA and a certificate naming the admin role
// (`coffer cert issue --role admin`). Unset: plaintext, as the all-in-one
// server on loopback expects.
type mtlsFlags struct {
	ca, cert, key *string
	id            *certs.Identity
}

func addMTLSFlags(fs *flag.FlagSet) *mtlsFlags {
	return &mtlsFlags{
		ca:   fs.String("mtls-ca", os.Getenv(EnvMTLSCA), "cluster CA, when the cluster runs mutual TLS (default $"+EnvMTLSCA+")"),
		cert: fs.String("mtls-cert", os.Getenv(EnvMTLSCert), "operator certificate naming the admin role (default $"+EnvMTLSCert+")"),
		key:  fs.String("mtls-key", os.Getenv(EnvMTLSKey), "key of --mtls-cert (default $"+EnvMTLSKey+")"),
	}
}

// load reads the identity, if any was given.
func (f *mtlsFlags) load() error {
	if *f.ca == "" && *f.cert == "" && *f.key == "" {
		return nil
	}
	id, err := certs.LoadIdentity(*f.ca, *f.cert, *f.key)
	if err != nil {
		return err
	}
	f.id = id
	return nil
}

// identity is the loaded identity; nil without one (or without flags).
func (f *mtlsFlags) identity() *certs.Identity {
	if f == nil {
		return nil
	}
	return f.id
}

// creds are the transport credentials towards role ("" for any role).
func (f *mtlsFlags) creds(role string) grpc.DialOption {
	return runtime.ClientCredentials(f.identity(), role)
}
