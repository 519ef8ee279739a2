package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// RoleURIPrefix starts the URI SAN that names a role in a certificate.
const RoleURIPrefix = "spiffe://coffer/role/"

// Admin is the role of operator tools (`coffer admin`): it is not a role a
// process serves, only one a caller presents.
const Admin = "admin"

// RoleURI is the URI SAN of role.
func RoleURI(role string) *url.URL {
	u, _ := url.Parse(RoleURIPrefix + role)
	return u
}

// RolesOf lists the roles a certificate names, in its order.
func RolesOf(cert *x509.Certificate) []string {
	var out []string
	for _, u := range cert.URIs {
		if r, ok := strings.CutPrefix(u.String(), RoleURIPrefix); ok && r != "" && !strings.Contains(r, "/") {
			out = append(out, r)
		}
	}
	return out
}

// CA is a certificate authority that can issue certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// PEM is the CA certificate, PEM-encoded (what peers trust).
	PEM []byte
}

// NewCA makes a self-signed CA valid for the given duration.
func NewCA(name string, validity time.Duration) (*CA, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"coffer"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return &CA{Cert: cert, Key: key, PEM: pemBlock("CERTIFICATE", der)}, keyPEM, nil
}

// LoadCA reads a CA certificate and its key.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("certs: %s holds no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", certFile, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certs: %s is not a CA certificate", certFile)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("certs: %s holds no PEM key", keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", keyFile, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("certs: %s: not a signing key", keyFile)
	}
	return &CA{Cert: cert, Key: signer, PEM: pemBlock("CERTIFICATE", b.Bytes)}, nil
}

// Leaf describes a certificate to issue.
type Leaf struct {
	// CommonName is informational (verification never reads it).
	CommonName string
	// Roles become spiffe://coffer/role/<role> URI SANs.
	Roles []string
	// DNSNames and IPs are the host names the certificate serves (the
	// HTTP edge, etcd); wildcards like *.s3.example.com are allowed.
	DNSNames []string
	IPs      []net.IP
	Validity time.Duration
}

// Issue signs a new key pair for leaf, usable as a TLS server and client
// certificate. It returns the certificate and key, PEM-encoded.
func (ca *CA) Issue(leaf Leaf) (certPEM, keyPEM []byte, err error) {
	if len(leaf.Roles) == 0 && len(leaf.DNSNames) == 0 && len(leaf.IPs) == 0 {
		return nil, nil, errors.New("certs: a certificate needs a role, a DNS name or an IP address")
	}
	for _, r := range leaf.Roles {
		if !validRole(r) {
			return nil, nil, fmt.Errorf("certs: bad role %q (lowercase letters, digits and '-')", r)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:   serial(),
		Subject:        pkix.Name{CommonName: leaf.CommonName, Organization: []string{"coffer"}},
		NotBefore:      now.Add(-time.Hour),
		NotAfter:       now.Add(leaf.Validity),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:       slices.Clone(leaf.DNSNames),
		IPAddresses:    slices.Clone(leaf.IPs),
		SubjectKeyId:   keyID(&key.PublicKey),
		AuthorityKeyId: ca.Cert.SubjectKeyId,
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	for _, r := range leaf.Roles {
		tmpl.URIs = append(tmpl.URIs, RoleURI(r))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), keyPEM, nil
}

func validRole(r string) bool {
	if r == "" || len(r) > 64 {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

func keyID(pub *ecdsa.PublicKey) []byte {
	b, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(b)
	return sum[:20]
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// WriteFiles writes a certificate (mode 0644) and its key (0600) through a
// temporary file and a rename each, the key last, so a server reloading
// them never reads half a file. Existing files are replaced.
func WriteFiles(certFile string, certPEM []byte, keyFile string, keyPEM []byte) error {
	if err := writeAtomic(certFile, certPEM, 0o644); err != nil {
		return err
	}
	return writeAtomic(keyFile, keyPEM, 0o600)
}

// WriteFile writes one file through a temporary file and a rename.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	return writeAtomic(path, data, mode)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
