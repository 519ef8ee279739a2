package app

import (
	"context"
	"strings"

	"github.com/coffer-project/coffer/services/admin"
	"github.com/coffer-project/coffer/services/discovery"
)

// clusterStatus is the web console's Cluster page (gateway/console): what
// `coffer admin cluster` reports, without the shard scan (which reads every
// blob placement, too slow for a page). Without etcd the roles are this
// process's, at the addresses it was given or bound.
func (p *Process) clusterStatus(ctx context.Context) (any, error) {
	dc := p.cfg.Discovery
	q := admin.ClusterQuery{Etcd: dc.EtcdEndpoints, EtcdPrefix: dc.EtcdPrefix, Metadata: first(dc.MetadataAddrs), Blobstore: dc.BlobstoreAddrs,
		Identity: p.rt.Identity()}
	if !dc.UsesEtcd() {
		if q.Metadata == "" {
			q.Metadata = p.rt.GRPCAddr()
		}
		if q.Blobstore == "" {
			q.Blobstore = p.rt.GRPCAddr()
		}
	}
	rep := admin.GatherCluster(ctx, q)
	if dc.UsesEtcd() {
		return rep, nil
	}
	// Static addresses (empty: this process) stand for the registrations.
	static := map[string]string{
		discovery.Metadata: dc.MetadataAddrs, discovery.Blobstore: dc.BlobstoreAddrs,
		discovery.Authd: dc.AuthdAddrs, discovery.Corsd: dc.CorsdAddrs,
	}
	for _, role := range discovery.Roles {
		addrs := list(static[role])
		if len(addrs) == 0 && (role != discovery.Gateway || p.gateway != nil) {
			addrs = []string{p.rt.GRPCAddr()}
		}
		for _, a := range addrs {
			in := discovery.Instance{Role: role, Addr: a, Version: version()}
			if role == discovery.Gateway {
				in.HTTP = p.HTTPAddr()
			}
			rep.Roles[role] = append(rep.Roles[role], in)
		}
	}
	return rep, nil
}

// list splits a comma-separated address list.
func list(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func first(s string) string {
	if l := list(s); len(l) > 0 {
		return l[0]
	}
	return ""
}
