package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/coffer-project/coffer/authd"
	"github.com/coffer-project/coffer/blobstore"
	blobclient "github.com/coffer-project/coffer/blobstore/client"
	"github.com/coffer-project/coffer/corsd"
	"github.com/coffer-project/coffer/gateway"
	"github.com/coffer-project/coffer/gateway/objects"
	"github.com/coffer-project/coffer/metadata"
	"github.com/coffer-project/coffer/metadata/store"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/runtime"
)

// Process is a running coffer process: its runtime and its started roles.
type Process struct {
	cfg     *Config
	log     *slog.Logger
	rt      *runtime.Server
	disc    discovery.Discovery
	names   []string
	roles   []Service
	gateway *gateway.Server
	// blobstore is this process's blobstore role, if it runs one: the
	// gateway's blob client moves that node's shard bytes in-process.
	blobstore *blobstore.Server

	connMu sync.Mutex
	conns  map[string]*grpc.ClientConn

	// With etcd discovery: the client, this process's registrations, and
	// the loops that keep them current (discovery.go).
	etcd       *discovery.Etcd
	regs       []*discovery.Registration
	loopCtx    context.Context
	loopCancel context.CancelFunc
	loops      sync.WaitGroup

	serveErr chan error
	stopOnce sync.Once
	stopErr  error
}

// Start builds, registers and starts the configured roles. out receives
// what must be shown to the operator once (a generated bootstrap secret).
func Start(ctx context.Context, cfg *Config, out io.Writer, log *slog.Logger) (*Process, error) {
	names, err := ExpandRoles(cfg.Roles)
	if err != nil {
		return nil, err
	}
	rt, err := runtime.New(cfg.Runtime, log, runtime.WithPolicy(access))
	if err != nil {
		return nil, err
	}
	p := &Process{cfg: cfg, log: log, rt: rt, names: names, conns: map[string]*grpc.ClientConn{}, serveErr: make(chan error, 1)}
	if err := p.openDiscovery(); err != nil {
		rt.Stop(context.Background())
		return nil, err
	}

	// 1. Build every role and register its gRPC services before serving.
	for _, name := range names {
		svc, err := p.build(name, out)
		if err != nil {
			p.abort()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		svc.Register(rt.GRPC())
		if r, ok := svc.(Readier); ok {
			rt.AddReadyCheck(name, r.Ready)
		}
		p.roles = append(p.roles, svc)
	}
	// 2. Serve gRPC, so roles can reach each other while starting.
	go func() { p.serveErr <- rt.Serve() }()
	// 3. Start roles in dependency order, each registered (with etcd
	// discovery) once it serves, so the roles after it find it.
	for i, svc := range p.roles {
		err := svc.Start(ctx)
		if err == nil {
			err = p.register(names[i], svc)
		}
		if err != nil {
			p.roles = p.roles[:i+1]
			_ = p.Stop(context.Background())
			return nil, fmt.Errorf("%s: start: %w", names[i], err)
		}
		rt.Health().SetServingStatus("coffer."+names[i], healthpb.HealthCheckResponse_SERVING)
	}
	rt.Health().SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	return p, nil
}

// build constructs one role with its dependencies.
func (p *Process) build(name string, out io.Writer) (Service, error) {
	// The app labels each role's logs once; roles do not add their own label.
	log := p.log.With("role", name)
	switch name {
	case discovery.Metadata:
		// Operators' lifecycle runs are checked with authd (lazily: authd
		// starts after metadata).
		auth, err := p.dial(discovery.Authd)
		if err != nil {
			return nil, err
		}
		deps := metadata.Deps{Log: log, Registerer: p.rt.Registry(), GRPCAddr: p.rt.GRPCAddr(),
			Auth:        authv1.NewAuthServiceClient(auth),
			DialOptions: []grpc.DialOption{p.rt.ClientCredentials(discovery.Metadata)}}
		if id := p.rt.Identity(); id != nil {
			deps.RaftTLS = &store.TLS{Server: id.ServerConfig(discovery.Metadata), Client: id.ClientConfig(discovery.Metadata)}
		}
		return metadata.New(p.cfg.Metadata, deps)
	case discovery.Blobstore:
		// A node heals and garbage-collects with the metadata (which blobs
		// are referenced, where their shards belong) and its peers (which
		// hold the shards a damaged one is rebuilt from).
		meta, err := p.dial(discovery.Metadata)
		if err != nil {
			return nil, err
		}
		auth, err := p.dial(discovery.Authd)
		if err != nil {
			return nil, err
		}
		bs, err := blobstore.New(p.cfg.Blobstore, blobstore.Deps{
			Log:        log,
			Meta:       metadatav1.NewMetadataServiceClient(meta),
			Peers:      p.blobNodes,
			Auth:       authv1.NewAuthServiceClient(auth),
			Registerer: p.rt.Registry(),
		})
		p.blobstore = bs
		return bs, err
	case discovery.Authd:
		meta, err := p.dial(discovery.Metadata)
		if err != nil {
			return nil, err
		}
		return authd.New(p.cfg.Authd, authd.Deps{Meta: metadatav1.NewMetadataServiceClient(meta), Log: log, Out: out})
	case discovery.Corsd:
		meta, err := p.dial(discovery.Metadata)
		if err != nil {
			return nil, err
		}
		return corsd.New(p.cfg.Corsd, corsd.Deps{Meta: metadatav1.NewMetadataServiceClient(meta), Log: log})
	case discovery.Gateway:
		conns := map[string]*grpc.ClientConn{}
		for _, role := range []string{discovery.Metadata, discovery.Authd, discovery.Corsd} {
			cc, err := p.dial(role)
			if err != nil {
				return nil, err
			}
			conns[role] = cc
		}
		gw, err := gateway.New(p.cfg.Gateway, gateway.Deps{
			Meta:  metadatav1.NewMetadataServiceClient(conns[discovery.Metadata]),
			Auth:  authv1.NewAuthServiceClient(conns[discovery.Authd]),
			Cors:  corsv1.NewCorsServiceClient(conns[discovery.Corsd]),
			Blobs: p.blobs,
			// The console's Cluster page shows what `coffer admin
			// cluster` does (console.go).
			Cluster:    p.clusterStatus,
			Log:        log,
			Registerer: p.rt.Registry(),
		})
		p.gateway = gw
		return gw, err
	}
	return nil, fmt.Errorf("unknown role %q", name)
}

// dial returns a shared client connection to a role.
func (p *Process) dial(role string) (*grpc.ClientConn, error) {
	p.connMu.Lock()
	defer p.connMu.Unlock()
	if cc := p.conns[role]; cc != nil {
		return cc, nil
	}
	target, err := p.disc.Target(role)
	if err != nil {
		return nil, err
	}
	opts := append(p.disc.DialOptions(role), p.rt.ClientCredentials(role))
	cc, err := runtime.Dial(target, opts...)
	if err != nil {
		return nil, err
	}
	p.conns[role] = cc
	return cc, nil
}

// blobs builds the blobstore client over every blobstore node, coding new
// blobs as --ec.* says. It asks each node for its stable id, and again as it
// goes (nodes down at start, or back with a new disk, are picked up). When
// this process runs a blobstore node too, that node's shard bytes move
// in-process (blobstore.Server.Local); everything else is gRPC.
func (p *Process) blobs(ctx context.Context) (objects.Blobs, error) {
	cfg := p.cfg.EC
	if bs := p.blobstore; bs != nil && cfg.InProcess {
		local := bs.Local()
		cfg.Local = func(id string) blobclient.ShardIO {
			if id != "" && id == bs.NodeID() {
				return local
			}
			return nil
		}
	}
	return blobclient.Open(ctx, p.blobNodes, cfg)
}

// blobNodes returns a client for every blobstore node discovery knows
// (a blobclient.Lookup).
func (p *Process) blobNodes(ctx context.Context) ([]blobv1.BlobServiceClient, error) {
	addrs, err := p.disc.Endpoints(ctx, discovery.Blobstore)
	if err != nil {
		return nil, err
	}
	var clients []blobv1.BlobServiceClient
	for _, a := range addrs {
		cc, err := p.dialAddr(a)
		if err != nil {
			return nil, err
		}
		clients = append(clients, blobv1.NewBlobServiceClient(cc))
	}
	return clients, nil
}

func (p *Process) dialAddr(addr string) (*grpc.ClientConn, error) {
	key := "addr:" + addr
	p.connMu.Lock()
	defer p.connMu.Unlock()
	if cc := p.conns[key]; cc != nil {
		return cc, nil
	}
	opts := append(blobclient.DialOptions(), p.rt.ClientCredentials(discovery.Blobstore))
	cc, err := runtime.Dial("passthrough:///"+addr, opts...)
	if err != nil {
		return nil, err
	}
	p.conns[key] = cc
	return cc, nil
}

// HTTPAddr is the gateway's bound address, or "" without a gateway.
func (p *Process) HTTPAddr() string {
	if p.gateway == nil {
		return ""
	}
	return p.gateway.Addr()
}

// ConsoleAddr is the web console's bound address, or "" when this process
// serves none.
func (p *Process) ConsoleAddr() string {
	if p.gateway == nil {
		return ""
	}
	return p.gateway.ConsoleAddr()
}

// ConsoleURL is the web console's base URL (https:// when the gateway
// serves TLS), or "" when this process serves none.
func (p *Process) ConsoleURL() string {
	if p.gateway == nil {
		return ""
	}
	return p.gateway.ConsoleURL()
}

// HTTPURL is the gateway's base URL (https:// when it serves TLS), or ""
// without a gateway.
func (p *Process) HTTPURL() string {
	if p.gateway == nil {
		return ""
	}
	return p.gateway.URL()
}

// GRPCAddr is the bound gRPC address.
func (p *Process) GRPCAddr() string { return p.rt.GRPCAddr() }

// AdminAddr is the bound admin address.
func (p *Process) AdminAddr() string { return p.rt.AdminAddr() }

// Ready runs the readiness checks.
func (p *Process) Ready() error { return p.rt.Ready() }

// Done returns a channel that yields the serve error if serving fails.
func (p *Process) Done() <-chan error { return p.serveErr }

// abort releases what a failed Start built before serving.
func (p *Process) abort() {
	for i := len(p.roles) - 1; i >= 0; i-- {
		_ = p.roles[i].Stop(context.Background())
	}
	p.rt.Stop(context.Background())
	p.closeConns()
	p.deregister(context.Background())
	p.closeDiscovery()
}

// Stop deregisters from etcd (so clients stop choosing this process),
// drains the edge, stops gRPC gracefully, then stops the roles in reverse
// order. It is idempotent.
func (p *Process) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		var all []error
		p.deregister(ctx)
		for i := len(p.roles) - 1; i >= 0; i-- {
			if d, ok := p.roles[i].(Drainer); ok {
				all = append(all, d.Drain(ctx))
			}
		}
		p.rt.Stop(ctx)
		for i := len(p.roles) - 1; i >= 0; i-- {
			if err := p.roles[i].Stop(ctx); err != nil {
				all = append(all, fmt.Errorf("%s: %w", p.names[i], err))
			}
		}
		p.closeConns()
		p.closeDiscovery()
		p.stopErr = errors.Join(all...)
	})
	return p.stopErr
}

func (p *Process) closeConns() {
	p.connMu.Lock()
	defer p.connMu.Unlock()
	for k, cc := range p.conns {
		cc.Close()
		delete(p.conns, k)
	}
}
