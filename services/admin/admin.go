package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/runtime"
)

const adminUsage = `coffer admin — the cluster's status, and membership of the metadata Raft group.

Usage:
  coffer admin cluster [--etcd-endpoints E] [--addr A] [--verify] [--json]
      the whole cluster: the roles registered in etcd with their endpoints,
      every metadata node's Raft state (members, leader, indexes), blobstore
      nodes with their free space, and the shard health of every blob
      (--verify also checks every shard's file exists on its node)
  coffer admin status [--addr A] [--json]
      this node's view: leader, members with their addresses, last/commit/applied index
  coffer admin add-voter --node-id ID --raft-addr R --grpc-addr G [--addr A]
      add (or re-address) a voter; the new node must be running with no Raft
      state and neither --metadata.peers nor --metadata.bootstrap
  coffer admin remove-server --node-id ID [--addr A]
      remove a member (the leader too: it steps down)

--addr is the gRPC address of any metadata node (membership changes are
forwarded to the leader). Default 127.0.0.1:9100.
`

// Run is the `coffer admin` command (args after "admin"). It returns the
// process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, adminUsage)
			return 0
		}
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	cmd := args[0]
	if cmd == "cluster" {
		return adminCluster(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("coffer admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9100", "gRPC address of any metadata node")
	timeout := fs.Duration("timeout", 30*time.Second, "how long the call may take")
	asJSON := fs.Bool("json", false, "status: print the response as JSON")
	nodeID := fs.String("node-id", "", "the member's node id")
	raftAddr := fs.String("raft-addr", "", "add-voter: the new member's Raft address")
	grpcAddr := fs.String("grpc-addr", "", "add-voter: the new member's gRPC address")
	mtls := addMTLSFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := mtls.load(); err != nil {
		fmt.Fprintln(stderr, "coffer admin:", err)
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "coffer admin %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	cc, err := runtime.Dial("passthrough:///"+*addr, mtls.creds(discovery.Metadata))
	if err != nil {
		fmt.Fprintln(stderr, "coffer admin:", err)
		return 1
	}
	defer cc.Close()
	client := metadatav1.NewClusterServiceClient(cc)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	switch cmd {
	case "status":
		st, err := client.GetClusterStatus(ctx, &metadatav1.GetClusterStatusRequest{})
		if err != nil {
			fmt.Fprintln(stderr, "coffer admin status:", err)
			return 1
		}
		if *asJSON {
			b, err := protojson.MarshalOptions{Multiline: true, EmitUnpopulated: true}.Marshal(st)
			if err != nil {
				fmt.Fprintln(stderr, "coffer admin status:", err)
				return 1
			}
			fmt.Fprintln(stdout, string(b))
			return 0
		}
		printStatus(stdout, st)
		return 0
	case "add-voter":
		if *nodeID == "" || *raftAddr == "" || *grpcAddr == "" {
			fmt.Fprintln(stderr, "coffer admin add-voter: --node-id, --raft-addr and --grpc-addr are required")
			return 2
		}
		_, err := client.AddVoter(ctx, &metadatav1.AddVoterRequest{NodeId: *nodeID, RaftAddress: *raftAddr, GrpcAddress: *grpcAddr})
		return report(stdout, stderr, cmd, err, "added voter "+*nodeID)
	case "remove-server":
		if *nodeID == "" {
			fmt.Fprintln(stderr, "coffer admin remove-server: --node-id is required")
			return 2
		}
		_, err := client.RemoveServer(ctx, &metadatav1.RemoveServerRequest{NodeId: *nodeID})
		return report(stdout, stderr, cmd, err, "removed "+*nodeID)
	}
	fmt.Fprintf(stderr, "coffer admin: unknown command %q\n\n%s", cmd, adminUsage)
	return 2
}

func report(stdout, stderr io.Writer, cmd string, err error, ok string) int {
	if err != nil {
		fmt.Fprintf(stderr, "coffer admin %s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintln(stdout, ok)
	return 0
}

// printStatus prints a status as an aligned table.
func printStatus(w io.Writer, st *metadatav1.GetClusterStatusResponse) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "node\t%s (%s, term %d)\n", st.NodeId, st.State, st.Term)
	leader := st.LeaderId
	if leader == "" {
		leader = "(none known)"
	}
	fmt.Fprintf(tw, "leader\t%s\n", leader)
	fmt.Fprintf(tw, "indexes\tlast %d  commit %d  applied %d  watch floor %d\n", st.LastIndex, st.CommitIndex, st.AppliedIndex, st.WatchFloor)
	fmt.Fprintln(tw, "members")
	for _, m := range st.Members {
		role := "nonvoter"
		if m.Voter {
			role = "voter"
		}
		if m.NodeId == st.LeaderId {
			role += ", leader"
		}
		grpc := m.GrpcAddress
		if grpc == "" {
			grpc = "?"
		}
		fmt.Fprintf(tw, "  %s\t%s\traft %s\tgrpc %s\n", m.NodeId, role, m.RaftAddress, grpc)
	}
	tw.Flush()
}
