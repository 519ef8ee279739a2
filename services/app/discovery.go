package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/coffer-project/coffer/blobstore"
	"github.com/coffer-project/coffer/metadata"
	"github.com/coffer-project/coffer/services/discovery"
)

// leaderPoll is how often a metadata node checks whether it leads, to keep
// the leader flag of its etcd entry current. Metadata clients send calls to
// the flagged node; a stale flag costs one forwarding hop, never
// correctness (every follower forwards).
const leaderPoll = 250 * time.Millisecond

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
	e, err := discovery.NewEtcd(discovery.EtcdOptions{
		Endpoints: eps,
		Prefix:    dc.EtcdPrefix,
		LeaseTTL:  dc.LeaseTTL,
		Log:       p.log.With("component", "discovery"),
	})
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

// register publishes a started role in etcd (nothing with static discovery).
// Blobstore nodes publish their stable node id and zone, metadata nodes their
// Raft id and whether they lead, gateways their HTTP address.
func (p *Process) register(name string, svc Service) error {
	if p.etcd == nil {
		return nil
	}
	in := discovery.Instance{Role: name, Addr: p.advertise(), Version: version()}
	switch s := svc.(type) {
	case *blobstore.Server:
		in.NodeID, in.Zone = s.NodeID(), p.cfg.Blobstore.Zone
	case *metadata.Server:
		in.NodeID = p.cfg.Metadata.NodeID
		in.Leader, in.Term = leadership(s)
	}
	if name == discovery.Gateway && p.gateway != nil {
		host, _, _ := net.SplitHostPort(p.advertise())
		in.HTTP = withHost(p.gateway.Addr(), host)
	}
	reg, err := p.etcd.Register(in)
	if err != nil {
		return err
	}
	p.regs = append(p.regs, reg)
	if m, ok := svc.(*metadata.Server); ok {
		p.loops.Go(func() { p.followLeadership(reg, m, in.Leader) })
	}
	return nil
}

// followLeadership keeps the leader flag (and term) of a metadata node's
// entry in step with its Raft state; leading is what the entry says now.
func (p *Process) followLeadership(reg *discovery.Registration, m *metadata.Server, leading bool) {
	t := time.NewTicker(leaderPoll)
	defer t.Stop()
	for {
		select {
		case <-p.loopCtx.Done():
			return
		case <-t.C:
		}
		st := m.Store()
		if st == nil || st.IsLeader() == leading {
			continue
		}
		in := reg.Instance()
		in.Leader, in.Term = leadership(m)
		leading = in.Leader
		reg.Update(in)
	}
}

// leadership reports whether the metadata node leads, and in which term.
func leadership(m *metadata.Server) (bool, uint64) {
	st := m.Store()
	if st == nil || !st.IsLeader() {
		return false, 0
	}
	s, err := st.Status()
	if err != nil {
		return true, 0
	}
	return s.State == "Leader", s.Term
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
