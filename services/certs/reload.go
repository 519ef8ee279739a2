package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// DefaultRecheck is how often a KeyPair looks at its files' modification
// times: a renewed certificate is served within about this long, and a busy
// server does not stat its files on every handshake.
const DefaultRecheck = time.Second

// KeyPair is a certificate and key read from two files and read again when
// either file changes (size or modification time), so that a renewed
// certificate is served without a restart. A pair that fails to load (the
// files caught between two writes) leaves the previous one in use until the
// files change again. It is safe for concurrent use.
type KeyPair struct {
	certFile, keyFile string
	// Recheck is the least time between two looks at the files.
	Recheck time.Duration
	// OnReload, when set, is told of every reload (with the new pair) and
	// of every failed one (with the pair still served). It is called with
	// no lock held.
	OnReload func(cert *tls.Certificate, err error)

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// LoadKeyPair reads the pair once; it fails if the files do not hold a
// matching certificate and key.
func LoadKeyPair(certFile, keyFile string) (*KeyPair, error) {
	kp := &KeyPair{certFile: certFile, keyFile: keyFile, Recheck: DefaultRecheck}
	if err := kp.load(); err != nil {
		return nil, err
	}
	return kp, nil
}

func stampOf(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{st.Size(), st.ModTime()}, nil
}

// load reads the files; the caller holds mu, or owns kp.
func (kp *KeyPair) load() error {
	cs, err := stampOf(kp.certFile)
	if err != nil {
		return err
	}
	ks, err := stampOf(kp.keyFile)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(kp.certFile, kp.keyFile)
	if err != nil {
		return fmt.Errorf("certs: %s / %s: %w", kp.certFile, kp.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return err
		}
	}
	kp.cert, kp.stamp = &cert, [2]fileStamp{cs, ks}
	return nil
}

// Certificate returns the current pair, reloading it first if the files
// changed since it was read.
func (kp *KeyPair) Certificate() *tls.Certificate {
	cert, reloaded, err := kp.check()
	if reloaded && kp.OnReload != nil {
		kp.OnReload(cert, err)
	}
	return cert
}

// check reloads the pair if its files changed; reloaded says whether it
// tried.
func (kp *KeyPair) check() (cert *tls.Certificate, reloaded bool, err error) {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	now := time.Now()
	if now.Sub(kp.checked) < kp.Recheck {
		return kp.cert, false, nil
	}
	kp.checked = now
	cs, err1 := stampOf(kp.certFile)
	ks, err2 := stampOf(kp.keyFile)
	if err1 != nil || err2 != nil || [2]fileStamp{cs, ks} == kp.stamp {
		return kp.cert, false, nil
	}
	err = kp.load()
	// Each state of the files is tried once: a pair that does not load is
	// reported once, and tried again only when a file changes again.
	kp.stamp = [2]fileStamp{cs, ks}
	return kp.cert, true, err
}

// GetCertificate is tls.Config.GetCertificate.
func (kp *KeyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return kp.Certificate(), nil
}

// GetClientCertificate is tls.Config.GetClientCertificate.
func (kp *KeyPair) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return kp.Certificate(), nil
}

// EdgeConfig is the TLS configuration of the HTTP edge: the pair from kp
// (reloaded when its files change), TLS 1.2 or later, HTTP/2 offered first.
func EdgeConfig(kp *KeyPair) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: kp.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
