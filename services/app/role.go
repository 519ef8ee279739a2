package app

import (
	"context"

	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/services/discovery"
)

// Service is a constructed role. Every role package exposes
//
//	New(cfg Config, deps Deps) (*Server, error)
//
// whose *Server implements Service. The app calls, in dependency order:
// New, then Register (before gRPC serves), then Start (after gRPC serves, so
// that a role may call the roles it depends on); on shutdown Drain (edge
// roles), the gRPC server's graceful stop, then Stop in reverse order.
type Service interface {
	// Register registers the role's gRPC services.
	Register(grpc.ServiceRegistrar)
	// Start brings the role up. It may block until the role is ready (a
	// Raft leader elected, a bootstrap key stored), honouring ctx.
	Start(ctx context.Context) error
	// Stop releases the role's resources. It is called once.
	Stop(ctx context.Context) error
}

// Drainer is implemented by roles that must quiesce before the process's
// gRPC server stops: the gateway (stop accepting HTTP, finish in-flight
// requests), and any role holding long-lived streams — metadata's Watch
// streams and the watchers of corsd and the gateway — because a graceful
// gRPC stop waits for open streams.
type Drainer interface {
	Drain(ctx context.Context) error
}

// Readier is implemented by roles that can report readiness for /readyz.
type Readier interface {
	Ready() error
}

// Advertiser is implemented by roles that publish more than their gRPC
// address in discovery (a blobstore node's id and zone, the metadata
// leader flag, a gateway's HTTP address). The app registers each started
// role with etcd; it knows nothing of what a role publishes.
type Advertiser interface {
	// Advertise fills in the role's part of its discovery entry.
	Advertise(in *discovery.Instance)
	// Changes returns a channel that receives a value whenever Advertise
	// may answer differently (the metadata leader changed), or nil when
	// its answer never changes. It is called after Start.
	Changes() <-chan struct{}
}
