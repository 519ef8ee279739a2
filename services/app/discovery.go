package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/coffer-project/coffer/services/discovery"
)

// openDiscovery builds etcd discovery when --etcd-endpoints is set, static
// addresses (with this process standing in for unset roles) otherwise.
func (p *Process) openDiscovery() error {
	dc := p.cfg.Discovery
	if !dc.UsesEtcd() {
		p.disc = dc.Static(p.rt.GRPCAddr())
		return nil
	}
	var eps []string
	for _, ep := range strings.Split(dc.EtcdEndpoints, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	opts := discovery.EtcdOptions{
		Endpoints: eps,
		Prefix:    dc.EtcdPrefix,
		LeaseTTL:  dc.LeaseTTL,
		Log:       p.log.With("component", "discovery"),
	}
	if id := p.rt.Identity(); id != nil {
		// With mutual TLS between roles, etcd is spoken to over TLS with
		// this process's certificate too (etcd: --client-cert-auth).
		opts.TLS = id.EtcdClientConfig()
	}
	e, err := discovery.NewEtcd(opts)
	if err != nil {
		return err
	}
	p.etcd, p.disc = e, e
	p.loopCtx, p.loopCancel = context.WithCancel(context.Background())
	return nil
}

// advertise is the gRPC address this process registers: --advertise-addr,
// else the bound address, else (listening on every interface) this host's
// name with the bound port — in a container, the name other containers
// resolve it by when it is set with `hostname:`.
func (p *Process) advertise() string {
	if a := p.cfg.Discovery.Advertise; a != "" {
		return a
	}
	return withHost(p.rt.GRPCAddr(), "")
}

// withHost returns addr with its host replaced by host when addr listens on
// every interface (host "" means this machine's host name).
func withHost(addr, host string) string {
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(h); h != "" && (ip == nil || !ip.IsUnspecified()) {
		return addr
	}
	if host == "" {
		if host, err = os.Hostname(); err != nil || host == "" {
			host = "localhost"
		}
	}
	return net.JoinHostPort(host, port)
}

// register publishes a started role in etcd (nothing with static discovery):
// its gRPC address and version, and what the role advertises about itself.
// A role whose advertisement changes (the metadata leader flag) has its
// entry updated as it changes.
func (p *Process) register(name string, svc Service) error {
	if p.etcd == nil {
		return nil
	}
	adv, _ := svc.(Advertiser)
	reg, err := p.etcd.Register(p.instance(name, adv))
	if err != nil {
		return err
	}
	p.regs = append(p.regs, reg)
	if adv != nil {
		if changes := adv.Changes(); changes != nil {
			p.loops.Go(func() { p.follow(reg, name, adv, changes) })
		}
	}
	return nil
}

// instance is a role's discovery entry as of now.
func (p *Process) instance(name string, adv Advertiser) discovery.Instance {
	in := discovery.Instance{Role: name, Addr: p.advertise(), Version: version()}
	if adv != nil {
		adv.Advertise(&in)
	}
	if in.HTTP != "" {
		// Other machines reach the HTTP listener by this process's host.
		host, _, _ := net.SplitHostPort(in.Addr)
		in.HTTP = withHost(in.HTTP, host)
	}
	return in
}

// follow keeps a registration in step with its role's advertisement.
func (p *Process) follow(reg *discovery.Registration, name string, adv Advertiser, changes <-chan struct{}) {
	for {
		select {
		case <-p.loopCtx.Done():
			return
		case <-changes:
		}
		if in := p.instance(name, adv); in != reg.Instance() {
			reg.Update(in)
		}
	}
}

// deregister removes every registration of this process, so that clients
// stop choosing it before it stops serving. With etcd unreachable the
// entries lapse with their leases instead.
func (p *Process) deregister(ctx context.Context) {
	if p.etcd == nil {
		return
	}
	p.loopCancel()
	p.loops.Wait()
	var all []error
	for _, r := range p.regs {
		if err := r.Close(ctx); err != nil {
			all = append(all, err)
		}
	}
	p.regs = nil
	if err := errors.Join(all...); err != nil {
		// etcd unreachable: the leases lapse by themselves.
		p.log.Warn("could not deregister from etcd; the entries lapse with their leases", "err", err)
	}
}

// closeDiscovery closes the etcd client, after every connection resolved
// through it is closed.
func (p *Process) closeDiscovery() {
	if p.etcd != nil {
		if err := p.etcd.Close(); err != nil {
			p.log.Debug("closing the etcd client", "err", fmt.Sprint(err))
		}
	}
}
