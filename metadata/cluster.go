package metadata

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/coffer-project/coffer/metadata/fsm"
	"github.com/coffer-project/coffer/metadata/store"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Membership.
//
// Raft's configuration decides who votes; it is changed only through
// AddVoter and RemoveServer, which the routing sends to the leader. The
// replicated address book (fsm/members.go) says where each member's gRPC API
// is. Each node keeps its own entry current (registerLoop): when the entry
// is missing or names old addresses (a restart on new ports), it registers
// itself through the leader. The leader does the same for itself right after
// it is elected, so followers can always find it; the static peer list
// covers the moment before the first entries commit.

// clusterServer is ClusterService on the same node.
type clusterServer struct {
	metadatav1.UnsafeClusterServiceServer
	s *Server
}

// GetClusterStatus reports this node's view of the group: the Raft
// configuration with each member's addresses, the leader, and the indexes.
func (c *clusterServer) GetClusterStatus(ctx context.Context, req *metadatav1.GetClusterStatusRequest) (*metadatav1.GetClusterStatusResponse, error) {
	st, err := c.s.store("metadata.GetClusterStatus")
	if err != nil {
		return nil, err
	}
	status, err := st.Status()
	if err != nil {
		return nil, err
	}
	resp := &metadatav1.GetClusterStatusResponse{
		NodeId: status.NodeID, State: status.State, LeaderId: status.LeaderID, LeaderAddress: status.LeaderAddress,
		Term: status.Term, LastIndex: status.LastIndex, CommitIndex: status.CommitIndex, AppliedIndex: status.AppliedIndex,
		WatchFloor: status.WatchFloor,
	}
	for _, m := range status.Members {
		resp.Members = append(resp.Members, &metadatav1.Member{
			NodeId: m.ID, RaftAddress: m.Address, GrpcAddress: c.s.grpcAddressOf(st.FSM(), m.ID), Voter: m.Voter,
		})
	}
	if status.LeaderID != "" {
		resp.LeaderGrpcAddress = c.s.grpcAddressOf(st.FSM(), status.LeaderID)
	}
	return resp, nil
}

// AddVoter records the new member's addresses, then adds it to the Raft
// configuration (or updates its Raft address). It returns once the new
// configuration is committed; the member then catches up from the leader
// (by snapshot when the log it needs is compacted away).
func (c *clusterServer) AddVoter(ctx context.Context, req *metadatav1.AddVoterRequest) (*metadatav1.AddVoterResponse, error) {
	const op = "metadata.AddVoter"
	m := &metadatav1.Member{NodeId: req.GetNodeId(), RaftAddress: req.GetRaftAddress(), GrpcAddress: req.GetGrpcAddress()}
	if err := validateMember(op, m); err != nil {
		return nil, err
	}
	st, err := c.s.store(op)
	if err != nil {
		return nil, err
	}
	if _, err := c.s.propose(ctx, op, c.s.now(), nil, setMember(m)); err != nil {
		return nil, err
	}
	if err := st.AddVoter(ctx, m.NodeId, m.RaftAddress); err != nil {
		return nil, err
	}
	c.s.log.Info("voter added", "node_id", m.NodeId, "raft_addr", m.RaftAddress, "grpc_addr", m.GrpcAddress)
	return &metadatav1.AddVoterResponse{}, nil
}

// RemoveServer removes a member from the Raft configuration and forgets its
// addresses. Removing the leader works (it steps down once the change is
// committed); removing the last voter is refused, since nothing could ever
// commit again.
func (c *clusterServer) RemoveServer(ctx context.Context, req *metadatav1.RemoveServerRequest) (*metadatav1.RemoveServerResponse, error) {
	const op = "metadata.RemoveServer"
	if err := validateID(op, "node id", req.GetNodeId()); err != nil {
		return nil, err
	}
	st, err := c.s.store(op)
	if err != nil {
		return nil, err
	}
	members, err := st.Members()
	if err != nil {
		return nil, err
	}
	found, voters := false, 0
	for _, m := range members {
		found = found || m.ID == req.GetNodeId()
		if m.Voter {
			voters++
		}
	}
	switch {
	case !found:
		return nil, errs.Errorf(errs.InvalidArgument, op, "%s is not a member", req.GetNodeId())
	case voters == 1:
		return nil, errs.Errorf(errs.InvalidRequest, op, "%s is the last voter", req.GetNodeId())
	}
	// Forget the addresses first: if the removal then fails, the member
	// (still in the configuration) registers itself again.
	if _, err := c.s.propose(ctx, op, c.s.now(), nil, &fsmv1.Command{Op: &fsmv1.Command_RemoveMember{RemoveMember: &fsmv1.RemoveMember{NodeId: req.GetNodeId()}}}); err != nil {
		return nil, err
	}
	if err := st.RemoveServer(ctx, req.GetNodeId()); err != nil {
		return nil, err
	}
	c.s.log.Info("member removed", "node_id", req.GetNodeId())
	return &metadatav1.RemoveServerResponse{}, nil
}

// RegisterMember records a member's addresses in the address book.
func (c *clusterServer) RegisterMember(ctx context.Context, req *metadatav1.RegisterMemberRequest) (*metadatav1.RegisterMemberResponse, error) {
	const op = "metadata.RegisterMember"
	m := req.GetMember()
	if err := validateMember(op, m); err != nil {
		return nil, err
	}
	if _, err := c.s.propose(ctx, op, c.s.now(), nil, setMember(m)); err != nil {
		return nil, err
	}
	return &metadatav1.RegisterMemberResponse{}, nil
}

func setMember(m *metadatav1.Member) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_SetMember{SetMember: &fsmv1.SetMember{Member: &metadatav1.Member{
		NodeId: m.GetNodeId(), RaftAddress: m.GetRaftAddress(), GrpcAddress: m.GetGrpcAddress(),
	}}}}
}

func validateMember(op string, m *metadatav1.Member) error {
	if err := validateID(op, "node id", m.GetNodeId()); err != nil {
		return err
	}
	for what, a := range map[string]string{"raft_address": m.GetRaftAddress(), "grpc_address": m.GetGrpcAddress()} {
		if _, _, err := net.SplitHostPort(a); err != nil || a == "" || len(a) > 255 {
			return errs.Errorf(errs.InvalidArgument, op, "%s %q is not host:port", what, a)
		}
	}
	return nil
}

// join asks the members named by Config.Join to add this (new) node as a
// voter, trying each in turn until one succeeds or ctx ends. Any member
// will do: the call is forwarded to the leader.
func (s *Server) join(ctx context.Context, st *store.Store) error {
	req := &metadatav1.AddVoterRequest{NodeId: s.cfg.NodeID, RaftAddress: st.RaftAddr(), GrpcAddress: s.grpcAddr}
	var addrs []string
	for _, a := range strings.Split(s.cfg.Join, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	for {
		var last error
		for _, a := range addrs {
			cc, err := s.peerConn(a)
			if err == nil {
				callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err = metadatav1.NewClusterServiceClient(cc).AddVoter(callCtx, req)
				cancel()
			}
			if err == nil {
				s.log.Info("joined the metadata group", "through", a, "node_id", s.cfg.NodeID)
				return nil
			}
			last = err
			s.log.Warn("join attempt failed", "through", a, "err", err)
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return errs.E(errs.Unavailable, "metadata.Start", fmt.Errorf("joining through %s: %w (last error: %v)", s.cfg.Join, err, last))
		}
	}
}

// registerLoop keeps this node's address-book entry current: checked often
// until it is right, then every few seconds (a cheap local read).
func (s *Server) registerLoop() {
	defer s.loops.Done()
	const fast, slow = 100 * time.Millisecond, 5 * time.Second
	wait := time.Duration(0)
	for {
		select {
		case <-s.life.Done():
			return
		case <-time.After(wait):
		}
		ok, err := s.registerSelf()
		if err != nil && s.life.Err() == nil {
			s.log.Debug("address book registration failed; will retry", "err", err)
		}
		wait = fast
		if ok {
			wait = slow
		}
	}
}

// registerSelf registers this node's addresses when its entry is missing or
// stale. ok is true when nothing (more) needs doing.
func (s *Server) registerSelf() (ok bool, err error) {
	st, err := s.store("metadata.RegisterMember")
	if err != nil || s.grpcAddr == "" {
		return s.grpcAddr == "", err
	}
	members, err := st.Members()
	if err != nil {
		return false, err
	}
	// The Raft address recorded is the one the configuration holds for this
	// node (what the others dial), not necessarily the bound one.
	me := &metadatav1.Member{NodeId: s.cfg.NodeID, GrpcAddress: s.grpcAddr}
	for _, m := range members {
		if m.ID == s.cfg.NodeID {
			me.RaftAddress = m.Address
		}
	}
	if me.RaftAddress == "" {
		return true, nil // not (or no longer) a member: nothing to advertise
	}
	var book *metadatav1.Member
	if err := st.FSM().View(func(r *fsm.Reader) (err error) {
		book, err = r.Member(s.cfg.NodeID)
		return err
	}); err != nil {
		return false, err
	}
	if book.GetRaftAddress() == me.RaftAddress && book.GetGrpcAddress() == me.GrpcAddress {
		return true, nil
	}
	if id, _ := st.Leader(); id == "" {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(s.life, 5*time.Second)
	defer cancel()
	if st.IsLeader() {
		_, err = s.propose(ctx, "metadata.RegisterMember", s.now(), nil, setMember(me))
	} else {
		_, err = s.forward(ctx, "/"+metadatav1.ClusterService_ServiceDesc.ServiceName+"/RegisterMember", &metadatav1.RegisterMemberRequest{Member: me})
	}
	if err == nil {
		s.log.Info("registered in the address book", "node_id", me.NodeId, "raft_addr", me.RaftAddress, "grpc_addr", me.GrpcAddress)
	}
	return err == nil, err
}
