package gateway

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/coffer-project/coffer/gateway/console"
)

// The web console's listener (gateway/console): a second origin served by
// the gateway role, whose B2 calls go to the very handler the gateway port
// uses — the B2 front-end in the gateway's request shell, so under the same
// slots, logging and recovery.

// listenConsole binds the console address, if any. The default address is
// a convenience: when it is taken (another coffer, a test, a bench) the
// gateway runs without a console and logs why, rather than failing to
// start; an address the operator chose must bind.
func listenConsole(cfg Config, log *slog.Logger) (net.Listener, error) {
	if cfg.ConsoleAddr == "" {
		return nil, nil
	}
	lis, err := net.Listen("tcp", cfg.ConsoleAddr)
	if err == nil {
		return lis, nil
	}
	if cfg.ConsoleAddr == DefaultConsoleAddr {
		if log == nil {
			log = slog.Default()
		}
		log.Warn("web console off: its default address is not free (set --console-addr)", "addr", cfg.ConsoleAddr, "err", err)
		return nil, nil
	}
	return nil, fmt.Errorf("gateway: console listen: %w", err)
}

// ConsoleAddr is the console's bound address, or "" when it is off.
func (s *Server) ConsoleAddr() string {
	if s.consoleLis == nil {
		return ""
	}
	return s.consoleLis.Addr().String()
}

// ConsoleURL is the console's base URL (https:// with the gateway's TLS),
// or "" when it is off.
func (s *Server) ConsoleURL() string {
	if s.consoleLis == nil {
		return ""
	}
	if s.tls != nil {
		return "https://" + s.ConsoleAddr()
	}
	return "http://" + s.ConsoleAddr()
}

// startConsole serves the console with the gateway's B2 front-end (as
// wrapped by the request shell).
func (s *Server) startConsole(b2front http.Handler) {
	if s.consoleLis == nil {
		return
	}
	_, port, _ := net.SplitHostPort(s.lis.Addr().String())
	if s.cfg.ConsoleGatewayPort != "" {
		port = s.cfg.ConsoleGatewayPort
	}
	h := console.New(console.Config{PublicURL: s.cfg.PublicURL, GatewayPort: port},
		console.Deps{B2: b2front, Creds: s.creds, Cluster: s.deps.Cluster, Log: s.deps.Log})
	s.consoleHTTP = s.serveHTTP("console", s.consoleLis, h)
}
