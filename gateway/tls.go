package gateway

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/coffer-project/coffer/services/certs"
)

// edgeTLS loads the certificate of --tls-cert/--tls-key, or returns nil
// when the gateway serves plain HTTP. The pair is read again whenever its
// files change (an ACME client or an operator renewing it), at most once a
// second, so no restart is needed; a pair caught half-written keeps the old
// one in use. Every HTTP listener of the gateway (the S3/B2/R2 port and the
// console's) serves with the same configuration: TLS 1.2 or later, HTTP/2
// offered first.
func edgeTLS(cfg Config, log *slog.Logger) (*tls.Config, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	kp, err := certs.LoadKeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("gateway: tls: %w", err)
	}
	kp.OnReload = func(cert *tls.Certificate, err error) {
		if err != nil {
			log.Warn("the TLS certificate files changed but do not load; still serving the previous pair", "cert", cfg.TLSCert, "err", err)
			return
		}
		log.Info("TLS certificate reloaded", "cert", cfg.TLSCert, "not_after", cert.Leaf.NotAfter)
	}
	return certs.EdgeConfig(kp), nil
}

// URL is the base URL of the gateway's bound address: https:// when it
// serves TLS.
func (s *Server) URL() string {
	if s.tls != nil {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// TLSConfig is the edge TLS configuration every HTTP listener of the
// gateway serves with, or nil for plain HTTP.
func (s *Server) TLSConfig() *tls.Config { return s.tls }
