package admin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"

	blobclient "github.com/coffer-project/coffer/blobstore/client"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/certs"
	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/runtime"
)

// ClusterReport is what `coffer admin cluster` shows (and prints with
// --json): every registered role instance, each metadata node's view of
// Raft, each blobstore node's space, and the health of every blob's shards.
type ClusterReport struct {
	// Etcd is the etcd the roles were read from ("" without etcd).
	Etcd      string `json:"etcd,omitempty"`
	EtcdError string `json:"etcd_error,omitempty"`
	// Roles are the registered instances per role.
	Roles map[string][]discovery.Instance `json:"roles,omitempty"`
	// Leader is the Raft leader's node id as the metadata nodes report it.
	Leader   string           `json:"leader"`
	Members  []MemberReport   `json:"members"`
	Metadata []MetadataReport `json:"metadata"`
	// Blobstore lists the blobstore nodes (registered or named by flags).
	Blobstore []BlobNodeReport `json:"blobstore"`
	// Shards is the shard health of every blob placement (nil with --shards=false).
	Shards *ShardReport `json:"shards,omitempty"`
}

// MemberReport is one server of the Raft configuration.
type MemberReport struct {
	NodeID string `json:"node_id"`
	Voter  bool   `json:"voter"`
	Leader bool   `json:"leader"`
	Raft   string `json:"raft_address"`
	GRPC   string `json:"grpc_address"`
}

// MetadataReport is one metadata node's own status.
type MetadataReport struct {
	Addr         string `json:"addr"`
	NodeID       string `json:"node_id,omitempty"`
	State        string `json:"state,omitempty"`
	Term         uint64 `json:"term,omitempty"`
	LeaderID     string `json:"leader_id,omitempty"`
	LastIndex    uint64 `json:"last_index,omitempty"`
	CommitIndex  uint64 `json:"commit_index,omitempty"`
	AppliedIndex uint64 `json:"applied_index,omitempty"`
	Error        string `json:"error,omitempty"`
}

// BlobNodeReport is one blobstore node.
type BlobNodeReport struct {
	Addr          string `json:"addr"`
	NodeID        string `json:"node_id,omitempty"`
	Zone          string `json:"zone,omitempty"`
	Up            bool   `json:"up"`
	FreeBytes     int64  `json:"free_bytes,omitempty"`
	CapacityBytes int64  `json:"capacity_bytes,omitempty"`
	Blobs         int64  `json:"blobs,omitempty"`
	Error         string `json:"error,omitempty"`
}

// ShardReport counts blob placements by health. A shard is present when
// its node answers (and, with Verified, holds the shard's file).
type ShardReport struct {
	Blobs int `json:"blobs"`
	// Healthy blobs have all k+m shards present, Degraded ones at least k
	// (readable, repair pending), Unreadable ones fewer than k.
	Healthy       int  `json:"healthy"`
	Degraded      int  `json:"degraded"`
	Unreadable    int  `json:"unreadable"`
	MissingShards int  `json:"missing_shards"`
	Verified      bool `json:"verified"`
	// Examples are a few blob ids that are not healthy.
	Examples []string `json:"examples,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// adminCluster is `coffer admin cluster`.
func adminCluster(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("coffer admin cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	etcdEPs := fs.String("etcd-endpoints", os.Getenv(discovery.EnvEtcdEndpoints), "etcd endpoints to read the registered roles from (default $"+discovery.EnvEtcdEndpoints+")")
	prefix := fs.String("etcd-prefix", "coffer", "etcd key prefix of the cluster")
	addr := fs.String("addr", "", "gRPC address of a metadata node (default: the registered ones; 127.0.0.1:9100 without etcd)")
	blobAddrs := fs.String("blobstore-addrs", "", "gRPC addresses of blobstore nodes when there is no etcd (default: --addr)")
	shards := fs.Bool("shards", true, "scan every blob placement for shard health")
	verify := fs.Bool("verify", false, "with --shards: list every node's files and count a shard present only when its file exists")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 60*time.Second, "how long the whole report may take")
	mtls := addMTLSFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := mtls.load(); err != nil {
		fmt.Fprintln(stderr, "coffer admin cluster:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep := gatherCluster(ctx, clusterQuery{etcd: *etcdEPs, prefix: *prefix, meta: *addr, blobs: *blobAddrs, shards: *shards, verify: *verify, mtls: mtls})
	if *asJSON {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			fmt.Fprintln(stderr, "coffer admin cluster:", err)
			return 1
		}
		fmt.Fprintln(stdout, string(b))
	} else {
		printCluster(stdout, rep)
	}
	if rep.Leader == "" {
		return 1
	}
	return 0
}

type clusterQuery struct {
	etcd, prefix, meta, blobs string
	shards, verify            bool
	mtls                      *mtlsFlags
}

// ClusterQuery says where a cluster report looks: the etcd the roles
// register in (with its key prefix), or without etcd a metadata node's and
// blobstore nodes' gRPC addresses (comma-separated).
type ClusterQuery struct {
	Etcd, EtcdPrefix    string
	Metadata, Blobstore string
	// Identity is the caller's mutual-TLS identity when the cluster runs
	// mutual TLS (nil: plaintext).
	Identity *certs.Identity
}

// GatherCluster builds the report `coffer admin cluster --shards=false`
// prints, for a serving process to show (the web console's Cluster page).
// What cannot be reached is reported, not fatal; ctx bounds the whole.
func GatherCluster(ctx context.Context, q ClusterQuery) *ClusterReport {
	return gatherCluster(ctx, clusterQuery{etcd: q.Etcd, prefix: q.EtcdPrefix, meta: q.Metadata, blobs: q.Blobstore, mtls: &mtlsFlags{id: q.Identity}})
}

// conns caches one connection per address for a report.
type conns struct {
	mu   sync.Mutex
	m    map[string]*grpc.ClientConn
	mtls *mtlsFlags
}

func (c *conns) get(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.m[addr]; cc != nil {
		return cc, nil
	}
	// Metadata nodes and blobstore nodes alike: any cluster role.
	cc, err := runtime.Dial("passthrough:///"+addr, append(blobclient.DialOptions(), c.mtls.creds(""))...)
	if err != nil {
		return nil, err
	}
	c.m[addr] = cc
	return cc, nil
}

func (c *conns) close() {
	for _, cc := range c.m {
		cc.Close()
	}
}

// gatherCluster builds the report; what cannot be reached is reported, not
// fatal.
func gatherCluster(ctx context.Context, q clusterQuery) *ClusterReport {
	rep := &ClusterReport{Roles: map[string][]discovery.Instance{}}
	cs := &conns{m: map[string]*grpc.ClientConn{}, mtls: q.mtls}
	defer cs.close()

	var metaAddrs, blobAddrs []string
	if q.etcd != "" {
		rep.Etcd = q.etcd
		opts := discovery.EtcdOptions{Endpoints: splitList(q.etcd), Prefix: q.prefix}
		if id := q.mtls.identity(); id != nil {
			opts.TLS = id.EtcdClientConfig()
		}
		e, err := discovery.NewEtcd(opts)
		if err == nil {
			defer e.Close()
			for _, role := range discovery.Roles {
				lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				insts, lerr := e.List(lctx, role)
				cancel()
				if lerr != nil {
					err = lerr
					break
				}
				if len(insts) > 0 {
					rep.Roles[role] = insts
				}
			}
		}
		if err != nil {
			rep.EtcdError = err.Error()
		}
		for _, in := range rep.Roles[discovery.Metadata] {
			metaAddrs = append(metaAddrs, in.Addr)
		}
		for _, in := range rep.Roles[discovery.Blobstore] {
			blobAddrs = append(blobAddrs, in.Addr)
		}
	}
	if q.meta != "" {
		metaAddrs = append([]string{q.meta}, metaAddrs...)
	}
	if len(metaAddrs) == 0 && q.etcd == "" {
		metaAddrs = []string{"127.0.0.1:9100"}
	}
	if q.blobs != "" {
		blobAddrs = append(blobAddrs, splitList(q.blobs)...)
	} else if q.etcd == "" {
		blobAddrs = append(blobAddrs, metaAddrs[0])
	}

	leaderAddr := gatherMetadata(ctx, cs, rep, metaAddrs)
	gatherBlobNodes(ctx, cs, rep, dedupe(blobAddrs))
	if q.shards {
		rep.Shards = gatherShards(ctx, cs, rep, leaderAddr, q.verify)
	}
	return rep
}

// gatherMetadata asks every known metadata node (registered, or named in
// the Raft configuration) for its status, and returns the leader's gRPC
// address ("" when none is known).
func gatherMetadata(ctx context.Context, cs *conns, rep *ClusterReport, addrs []string) string {
	seen := map[string]bool{}
	var leaderAddr string
	for len(addrs) > 0 {
		a := addrs[0]
		addrs = addrs[1:]
		if a == "" || seen[a] {
			continue
		}
		seen[a] = true
		mr := MetadataReport{Addr: a}
		cc, err := cs.get(a)
		var st *metadatav1.GetClusterStatusResponse
		if err == nil {
			sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			st, err = metadatav1.NewClusterServiceClient(cc).GetClusterStatus(sctx, &metadatav1.GetClusterStatusRequest{})
			cancel()
		}
		if err != nil {
			mr.Error = err.Error()
			rep.Metadata = append(rep.Metadata, mr)
			continue
		}
		mr.NodeID, mr.State, mr.Term, mr.LeaderID = st.GetNodeId(), st.GetState(), st.GetTerm(), st.GetLeaderId()
		mr.LastIndex, mr.CommitIndex, mr.AppliedIndex = st.GetLastIndex(), st.GetCommitIndex(), st.GetAppliedIndex()
		rep.Metadata = append(rep.Metadata, mr)
		// The configuration as the leader sees it wins; any node's view
		// fills in until then.
		isLeader := st.GetLeaderId() != "" && st.GetLeaderId() == st.GetNodeId()
		if rep.Members == nil || isLeader {
			rep.Leader = st.GetLeaderId()
			rep.Members = nil
			for _, m := range st.GetMembers() {
				rep.Members = append(rep.Members, MemberReport{NodeID: m.GetNodeId(), Voter: m.GetVoter(),
					Leader: m.GetNodeId() == st.GetLeaderId(), Raft: m.GetRaftAddress(), GRPC: m.GetGrpcAddress()})
			}
		}
		if isLeader {
			leaderAddr = a
		}
		for _, m := range st.GetMembers() {
			addrs = append(addrs, m.GetGrpcAddress())
		}
	}
	if leaderAddr == "" {
		for _, m := range rep.Members {
			if m.Leader {
				leaderAddr = m.GRPC
			}
		}
	}
	if leaderAddr == "" && len(rep.Metadata) > 0 {
		leaderAddr = rep.Metadata[0].Addr
	}
	return leaderAddr
}

// gatherBlobNodes asks every blobstore node for its id and space.
func gatherBlobNodes(ctx context.Context, cs *conns, rep *ClusterReport, addrs []string) {
	rep.Blobstore = make([]BlobNodeReport, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() {
			br := BlobNodeReport{Addr: a}
			cc, err := cs.get(a)
			var in *blobv1.GetNodeInfoResponse
			if err == nil {
				ictx, cancel := context.WithTimeout(ctx, 3*time.Second)
				in, err = blobv1.NewBlobServiceClient(cc).GetNodeInfo(ictx, &blobv1.GetNodeInfoRequest{})
				cancel()
			}
			if err != nil {
				br.Error = err.Error()
			} else {
				br.Up, br.NodeID, br.Zone = true, in.GetNodeId(), in.GetZone()
				br.FreeBytes, br.CapacityBytes, br.Blobs = in.GetFreeBytes(), in.GetCapacityBytes(), in.GetBlobCount()
			}
			rep.Blobstore[i] = br
		})
	}
	wg.Wait()
}

// gatherShards scans every placement and counts present shards.
//
// With verify, the placements are read first and the nodes' files listed
// after: a committed placement's shards were durable before the commit, so
// each of them is on disk by the time it is listed (unless it really went
// missing). The other order would count the shards of blobs written during
// the listing as missing. The placements are held in memory meanwhile.
func gatherShards(ctx context.Context, cs *conns, rep *ClusterReport, metaAddr string, verify bool) *ShardReport {
	sr := &ShardReport{Verified: verify}
	up := map[string]string{} // node id → address
	for _, b := range rep.Blobstore {
		if b.Up {
			up[b.NodeID] = b.Addr
		}
	}
	if metaAddr == "" {
		sr.Error = "no metadata node answered"
		return sr
	}
	cc, err := cs.get(metaAddr)
	if err != nil {
		sr.Error = err.Error()
		return sr
	}
	meta := metadatav1.NewMetadataServiceClient(cc)
	var placements []*metadatav1.BlobPlacement
	for token := ""; ; {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := meta.ListPlacements(pctx, &metadatav1.ListPlacementsRequest{PageSize: 1000, PageToken: token})
		cancel()
		if err != nil {
			sr.Error = err.Error()
			return sr
		}
		placements = append(placements, resp.GetPlacements()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	var files map[string]map[string]bool // node id → stored ids
	if verify {
		if files, err = listFiles(ctx, cs, up); err != nil {
			sr.Error = err.Error()
			return sr
		}
	}
	for _, p := range placements {
		k := int(max(p.GetDataShards(), 1))
		want := k + int(p.GetParityShards())
		present := 0
		for _, s := range p.GetShards() {
			if _, ok := up[s.GetNodeId()]; !ok {
				continue
			}
			if verify && !files[s.GetNodeId()][blobclient.ShardID(p, int(s.GetIndex()))] {
				continue
			}
			present++
		}
		sr.Blobs++
		sr.MissingShards += max(want-present, 0)
		switch {
		case present >= want:
			sr.Healthy++
		case present >= k:
			sr.Degraded++
		default:
			sr.Unreadable++
		}
		if present < want && len(sr.Examples) < 5 {
			sr.Examples = append(sr.Examples, p.GetBlobId())
		}
	}
	return sr
}

// listFiles lists every stored id on each node that is up.
func listFiles(ctx context.Context, cs *conns, up map[string]string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	for id, addr := range up {
		cc, err := cs.get(addr)
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		token := ""
		for {
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			resp, err := blobv1.NewBlobServiceClient(cc).ListBlobs(lctx, &blobv1.ListBlobsRequest{PageSize: 1000, PageToken: token})
			cancel()
			if err != nil {
				return nil, fmt.Errorf("list blobs of %s: %w", addr, err)
			}
			for _, b := range resp.GetBlobs() {
				set[b.GetBlobId()] = true
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		out[id] = set
	}
	return out, nil
}

// printCluster prints the report as aligned tables.
func printCluster(w io.Writer, rep *ClusterReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if rep.Etcd != "" {
		fmt.Fprintf(tw, "roles registered in etcd (%s)\n", rep.Etcd)
		if rep.EtcdError != "" {
			fmt.Fprintf(tw, "  etcd error: %s\n", rep.EtcdError)
		}
		for _, role := range discovery.Roles {
			for _, in := range rep.Roles[role] {
				var details []string
				if in.NodeID != "" {
					details = append(details, "node "+in.NodeID)
				}
				if in.Zone != "" {
					details = append(details, "zone "+in.Zone)
				}
				if in.Leader {
					details = append(details, "leader")
				}
				if in.HTTP != "" {
					details = append(details, "http "+in.HTTP)
				}
				if in.Version != "" {
					details = append(details, in.Version)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", role, in.Addr, strings.Join(details, ", "))
			}
		}
	}
	leader := rep.Leader
	if leader == "" {
		leader = "(none known)"
	}
	fmt.Fprintf(tw, "metadata raft: leader %s\n", leader)
	for _, m := range rep.Members {
		role := "nonvoter"
		if m.Voter {
			role = "voter"
		}
		if m.Leader {
			role += ", leader"
		}
		fmt.Fprintf(tw, "  member %s\t%s\traft %s\tgrpc %s\n", m.NodeID, role, m.Raft, m.GRPC)
	}
	for _, m := range rep.Metadata {
		if m.Error != "" {
			fmt.Fprintf(tw, "  node at %s\tunreachable: %s\n", m.Addr, m.Error)
			continue
		}
		fmt.Fprintf(tw, "  node %s\t%s term %d\tlast %d  commit %d  applied %d\t(%s)\n", m.NodeID, m.State, m.Term, m.LastIndex, m.CommitIndex, m.AppliedIndex, m.Addr)
	}
	fmt.Fprintln(tw, "blobstore nodes")
	nodes := slices.Clone(rep.Blobstore)
	slices.SortFunc(nodes, func(a, b BlobNodeReport) int { return strings.Compare(a.Addr, b.Addr) })
	for _, b := range nodes {
		if !b.Up {
			fmt.Fprintf(tw, "  %s\tdown: %s\n", b.Addr, b.Error)
			continue
		}
		fmt.Fprintf(tw, "  %s\tnode %s\tzone %q\tfree %s of %s\t%d blobs\n", b.Addr, b.NodeID, b.Zone, bytesHuman(b.FreeBytes), bytesHuman(b.CapacityBytes), b.Blobs)
	}
	if s := rep.Shards; s != nil {
		how := "shards on nodes that answer"
		if s.Verified {
			how = "shard files verified on every node"
		}
		fmt.Fprintf(tw, "shards (%s)\n", how)
		if s.Error != "" {
			fmt.Fprintf(tw, "  error: %s\n", s.Error)
		}
		fmt.Fprintf(tw, "  %d blobs: %d healthy, %d degraded, %d unreadable; %d shards missing\n", s.Blobs, s.Healthy, s.Degraded, s.Unreadable, s.MissingShards)
		if len(s.Examples) > 0 {
			fmt.Fprintf(tw, "  e.g. %s\n", strings.Join(s.Examples, " "))
		}
	}
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range list {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}
