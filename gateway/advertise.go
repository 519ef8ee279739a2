package gateway

import "github.com/coffer-project/coffer/services/discovery"

// Advertise fills in what this gateway publishes in discovery: its bound
// HTTP address (S3, B2 and R2-style APIs). The app puts the host other
// machines reach it by in place of an unspecified one.
func (s *Server) Advertise(in *discovery.Instance) { in.HTTP = s.Addr() }

// Changes is nil: the address does not change while the gateway runs.
func (s *Server) Changes() <-chan struct{} { return nil }
