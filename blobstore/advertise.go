package blobstore

import "github.com/coffer-project/coffer/services/discovery"

// Advertise fills in what this node publishes in discovery: its stable node
// id (kept in its data directory) and its zone, which gateways place shards
// by.
func (s *Server) Advertise(in *discovery.Instance) {
	in.NodeID, in.Zone = s.NodeID(), s.cfg.Zone
}

// Changes is nil: a node's id and zone do not change while it runs.
func (s *Server) Changes() <-chan struct{} { return nil }
