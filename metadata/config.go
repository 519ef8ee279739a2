package metadata

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/coffer-project/coffer/metadata/store"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
)

// Config configures the metadata role of one node.
type Config struct {
	// DataDir holds the state (fsm.db) and the Raft log and snapshots. The
	// app sets <data-dir>/metadata when it is empty.
	DataDir string `yaml:"data_dir"`
	// NodeID is this node's Raft server id.
	NodeID string `yaml:"node_id"`
	// RaftAddr is the Raft TCP listen address; port 0 picks a free port.
	RaftAddr string `yaml:"raft_addr"`
	// RaftAdvertise is the Raft address other nodes dial (default: the
	// bound address; required when RaftAddr is unspecified, like 0.0.0.0).
	RaftAdvertise string `yaml:"raft_advertise"`
	// GRPCAdvertise is the gRPC address other metadata nodes use to reach
	// this one (followers forward writes to the leader there). Empty means
	// the process's bound gRPC address, which must then name a host.
	GRPCAdvertise string `yaml:"grpc_advertise"`
	// Bootstrap makes a node with no Raft state the single voter of a new
	// group on its first start (when neither Peers nor Join is set).
	Bootstrap bool `yaml:"bootstrap"`
	// Peers is the initial voter list of a new group,
	// "id=raft_addr/grpc_addr,...": every initial node gets the same list
	// and bootstraps from it on its first start. The gRPC part is optional.
	Peers string `yaml:"peers"`
	// Join is a comma-separated list of gRPC addresses of existing members:
	// a node with no Raft state asks them to add it as a voter.
	Join string `yaml:"join"`
	// LeaderWait is how long a node waits for a leader (during an election)
	// before failing a request it would forward.
	LeaderWait time.Duration `yaml:"leader_wait"`
	// WatchRetention is how many Raft indexes of changes the watch log keeps.
	WatchRetention uint64 `yaml:"watch_retention"`
	// HeartbeatTimeout and ElectionTimeout are Raft's failure-detection
	// timeouts (a single node elects itself after about one of them).
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout"`
	ElectionTimeout  time.Duration `yaml:"election_timeout"`
	// SnapshotInterval and SnapshotThreshold decide when Raft snapshots the
	// state and truncates its log (checked every interval; taken when at
	// least threshold entries were added since the last one).
	SnapshotInterval  time.Duration `yaml:"snapshot_interval"`
	SnapshotThreshold uint64        `yaml:"snapshot_threshold"`
	// TrailingLogs is how many entries stay in the log after a snapshot, so a
	// slightly lagging follower catches up without a snapshot transfer.
	TrailingLogs uint64 `yaml:"trailing_logs"`
	// MaxBuckets caps the number of buckets (B2: 100 per account); 0 means no cap.
	MaxBuckets int `yaml:"max_buckets"`
	// LifecycleInterval is how often the leader applies the buckets'
	// lifecycle rules; 0 disables the background passes (RunLifecycle
	// still works).
	LifecycleInterval time.Duration `yaml:"lifecycle_interval"`
	// LifecycleBatch is how many entries a lifecycle pass reads per read
	// transaction, and so the most commands it has in flight at once.
	LifecycleBatch int `yaml:"lifecycle_batch"`
}

// RegisterFlags registers the flags under prefix and sets the defaults.
func (c *Config) RegisterFlags(prefix string, fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, prefix+"data-dir", "", "metadata state directory (default: <data-dir>/metadata)")
	fs.StringVar(&c.NodeID, prefix+"node-id", "meta1", "Raft server id of this metadata node")
	fs.StringVar(&c.RaftAddr, prefix+"raft-addr", "127.0.0.1:9102", "Raft listen address")
	fs.StringVar(&c.RaftAdvertise, prefix+"raft-advertise", "", "Raft address other nodes dial (default: the bound raft-addr)")
	fs.StringVar(&c.GRPCAdvertise, prefix+"grpc-advertise", "", "gRPC address other metadata nodes use to reach this one (default: the bound grpc-addr)")
	fs.BoolVar(&c.Bootstrap, prefix+"bootstrap", true, "on first start with no Raft state and no peers or join list, bootstrap a group with this node as its only voter")
	fs.StringVar(&c.Peers, prefix+"peers", "", "initial voters of a new group, id=raft_addr/grpc_addr,... (the same list on every initial node)")
	fs.StringVar(&c.Join, prefix+"join", "", "comma-separated gRPC addresses of existing metadata nodes to join through on first start")
	fs.DurationVar(&c.LeaderWait, prefix+"leader-wait", 5*time.Second, "how long a request waits for a leader during an election before failing")
	fs.Uint64Var(&c.WatchRetention, prefix+"watch-retention", 200000, "how many Raft indexes of changes Watch can resume from")
	fs.DurationVar(&c.HeartbeatTimeout, prefix+"heartbeat-timeout", time.Second, "Raft heartbeat timeout")
	fs.DurationVar(&c.ElectionTimeout, prefix+"election-timeout", time.Second, "Raft election timeout")
	fs.DurationVar(&c.SnapshotInterval, prefix+"snapshot-interval", 2*time.Minute, "how often Raft checks whether to snapshot")
	fs.Uint64Var(&c.SnapshotThreshold, prefix+"snapshot-threshold", 8192, "log entries since the last snapshot that trigger a new one")
	fs.Uint64Var(&c.TrailingLogs, prefix+"trailing-logs", 10240, "log entries kept after a snapshot")
	fs.IntVar(&c.MaxBuckets, prefix+"max-buckets", 100, "maximum number of buckets (0: no limit)")
	fs.DurationVar(&c.LifecycleInterval, prefix+"lifecycle-interval", time.Hour, "how often the leader applies bucket lifecycle rules (0: never in the background)")
	fs.IntVar(&c.LifecycleBatch, prefix+"lifecycle-batch", 500, "entries a lifecycle pass scans per step (its commands in flight are bounded by it)")
}

// Validate checks the configuration. An empty DataDir is accepted (the app
// fills it in); New refuses it.
func (c *Config) Validate() error {
	switch {
	case c.NodeID == "":
		return errors.New("metadata: node-id is required")
	case c.RaftAddr == "":
		return errors.New("metadata: raft-addr is required")
	case c.HeartbeatTimeout < 5*time.Millisecond || c.ElectionTimeout < 5*time.Millisecond:
		return errors.New("metadata: heartbeat-timeout and election-timeout must be at least 5ms")
	case c.ElectionTimeout < c.HeartbeatTimeout:
		return errors.New("metadata: election-timeout must not be shorter than heartbeat-timeout")
	case c.SnapshotInterval < 5*time.Millisecond:
		return errors.New("metadata: snapshot-interval must be at least 5ms")
	case c.SnapshotThreshold == 0:
		return errors.New("metadata: snapshot-threshold must be positive")
	case c.MaxBuckets < 0:
		return errors.New("metadata: max-buckets must not be negative")
	case c.LeaderWait < 0:
		return errors.New("metadata: leader-wait must not be negative")
	case c.LifecycleInterval < 0:
		return errors.New("metadata: lifecycle-interval must not be negative")
	case c.LifecycleBatch < 0:
		return errors.New("metadata: lifecycle-batch must not be negative")
	case c.Peers != "" && c.Join != "":
		return errors.New("metadata: peers (bootstrap a new group) and join (enter an existing one) exclude each other")
	}
	if c.Peers != "" {
		peers, err := ParsePeers(c.Peers)
		if err != nil {
			return err
		}
		found := false
		for _, p := range peers {
			found = found || p.ID == c.NodeID
		}
		if !found {
			return fmt.Errorf("metadata: peers does not name this node (%s)", c.NodeID)
		}
	}
	host, _, err := net.SplitHostPort(c.RaftAddr)
	if err != nil {
		return fmt.Errorf("metadata: raft-addr: %w", err)
	}
	if ip := net.ParseIP(host); (host == "" || ip != nil && ip.IsUnspecified()) && c.RaftAdvertise == "" {
		return errors.New("metadata: raft-advertise is required when raft-addr does not name a host")
	}
	return nil
}

// Deps are the metadata role's dependencies.
type Deps struct {
	// Log is the role's logger; nil discards.
	Log *slog.Logger
	// Registerer, when set, receives the role's metrics (the runtime's registry).
	Registerer prometheus.Registerer
	// GRPCAddr is the process's bound gRPC address, advertised to the other
	// metadata nodes unless Config.GRPCAdvertise is set.
	GRPCAddr string
	// RaftDialAddress, when set, tells where to dial a peer's Raft transport
	// ("" means its advertised address). Tests route Raft traffic through
	// fault-injecting proxies with it; production leaves it nil.
	RaftDialAddress func(nodeID string) string
	// Auth checks the operator's key of RunLifecycle calls
	// (AuthService.VerifyOperator); nil refuses them.
	Auth OperatorVerifier
	// DialOptions are added to every connection to another metadata node
	// (forwarded calls, joins): the mutual-TLS credentials.
	DialOptions []grpc.DialOption
	// RaftTLS, when set, runs the Raft transport over mutual TLS.
	RaftTLS *store.TLS
	// Now, when set, is the clock the leader stamps commands with and the
	// lifecycle worker judges ages by (tests move it forward by days);
	// nil means time.Now.
	Now func() time.Time
}

// OperatorVerifier checks an operator's account token; authv1's
// AuthServiceClient is one.
type OperatorVerifier interface {
	VerifyOperator(ctx context.Context, in *authv1.VerifyOperatorRequest, opts ...grpc.CallOption) (*authv1.VerifyOperatorResponse, error)
}

// Peer is one entry of the peers list.
type Peer struct {
	ID       string
	RaftAddr string
	GRPCAddr string // may be empty
}

// ParsePeers parses "id=raft_addr/grpc_addr,..." (the gRPC part optional).
func ParsePeers(s string) ([]Peer, error) {
	var out []Peer
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, addrs, ok := strings.Cut(item, "=")
		raftAddr, grpcAddr, _ := strings.Cut(addrs, "/")
		if !ok || id == "" || raftAddr == "" {
			return nil, fmt.Errorf("metadata: peer %q: want id=raft_addr/grpc_addr", item)
		}
		for _, a := range []string{raftAddr, grpcAddr} {
			if a == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, fmt.Errorf("metadata: peer %q: %w", item, err)
			}
		}
		if seen[id] {
			return nil, fmt.Errorf("metadata: peer %s is listed twice", id)
		}
		seen[id] = true
		out = append(out, Peer{ID: id, RaftAddr: raftAddr, GRPCAddr: grpcAddr})
	}
	if len(out) == 0 {
		return nil, errors.New("metadata: the peer list is empty")
	}
	return out, nil
}
