package app

import (
	"context"

	"github.com/coffer-project/coffer/services/discovery"
)

// clusterStatus is the web console's Cluster page (gateway/console): what
// `coffer admin cluster` reports, without the shard scan (which reads every
// blob placement, too slow for a page). Without etcd the roles are this
// process's, at the addresses it was given or bound.
func (p *Process) clusterStatus(ctx context.Context) (any, error) {
	dc := p.cfg.Discovery
	q := clusterQuery{etcd: dc.EtcdEndpoints, prefix: dc.EtcdPrefix, meta: firstOf(dc.MetadataAddrs), blobs: dc.BlobstoreAddrs}
	if !dc.UsesEtcd() {
		if q.meta == "" {
			q.meta = p.rt.GRPCAddr()
		}
		if q.blobs == "" {
			q.blobs = p.rt.GRPCAddr()
		}
	}
	rep := gatherCluster(ctx, q)
	if !dc.UsesEtcd() {
		static := map[string]string{
			discovery.Metadata: dc.MetadataAddrs, discovery.Blobstore: dc.BlobstoreAddrs,
			discovery.Authd: dc.AuthdAddrs, discovery.Corsd: dc.CorsdAddrs,
		}
		for _, role := range discovery.Roles {
			addrs := splitList(static[role])
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
	}
	return rep, nil
}

func firstOf(list string) string {
	if l := splitList(list); len(l) > 0 {
		return l[0]
	}
	return ""
}
