package metadata

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/coffer-project/coffer/metadata/fsm"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// Routing: which node serves a call.
//
// Every unary call passes through route before its handler. Calls that must
// see (or change) the latest committed state — every write, and every read
// that does not set stale_ok — are served by the leader: on the leader they
// run here; on a follower the whole request is forwarded to the leader's
// gRPC API, which runs the same handler (so ids and times are stamped by the
// leader, and the linearizable read protocol runs where it is valid).
// Stale-ok reads, GetClusterStatus and Watch are served by whichever node
// got them. A new RPC is routed to the leader unless listed here, which is
// the safe default.
//
// Forwarding happens at most once: a forwarded call carries forwardedHeader,
// and a node that gets one while not leader answers NotLeader instead of
// forwarding again (during an election two nodes could otherwise bounce a
// call between them). The forwarding node retries such a NotLeader while the
// election settles (a NotLeader means the command never entered the log, so
// the retry cannot apply it twice); any other failure of the forwarded call
// is returned as is: if the leader died mid-call, the outcome is unknown and
// the caller must treat it so.

// forwardedHeader marks a call forwarded by another metadata node (its node id).
const forwardedHeader = "x-coffer-metadata-forwarded-by"

// locallyServed are the calls every node answers from its own state.
var locallyServed = map[string]bool{
	"/coffer.metadata.v1.ClusterService/GetClusterStatus": true,
}

// servedLocally reports whether this node serves the call itself.
func servedLocally(method string, req any) bool {
	if locallyServed[method] {
		return true
	}
	r, ok := req.(interface{ GetStaleOk() bool })
	return ok && r.GetStaleOk()
}

// routed returns a copy of desc whose unary handlers pass through s.route,
// inside the server's interceptor chain (so request ids, logging and error
// translation see the call as usual). Streams are served locally.
func (s *Server) routed(desc *grpc.ServiceDesc) *grpc.ServiceDesc {
	d := *desc
	d.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, m := range desc.Methods {
		h := m.Handler
		d.Methods[i] = grpc.MethodDesc{MethodName: m.MethodName, Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			if ic == nil {
				return h(srv, ctx, dec, s.route)
			}
			return h(srv, ctx, dec, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
				return ic(ctx, req, info, func(ctx context.Context, req any) (any, error) {
					return s.route(ctx, req, info, handler)
				})
			})
		}}
	}
	return &d
}

// route serves a call here or forwards it to the leader (see above).
func (s *Server) route(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if servedLocally(info.FullMethod, req) {
		return handler(ctx, req)
	}
	st, err := s.store(info.FullMethod)
	if err != nil {
		return nil, err
	}
	forwarded := forwardedBy(ctx) != ""
	if st.IsLeader() {
		resp, err := handler(ctx, req)
		if forwarded || errs.KindOf(err) != errs.NotLeader {
			return resp, err
		}
		// Leadership moved before the command entered the log (or before
		// the read was confirmed): forwarding is safe.
	} else if forwarded {
		return nil, errs.Errorf(errs.NotLeader, info.FullMethod, "node %s is not the leader (the call was forwarded by %s)", s.cfg.NodeID, forwardedBy(ctx))
	}
	return s.forward(ctx, info.FullMethod, req.(proto.Message))
}

func forwardedBy(ctx context.Context) string {
	if md, ok := grpcmd.FromIncomingContext(ctx); ok {
		if v := md.Get(forwardedHeader); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// forward sends req to the leader and returns its answer. It waits for a
// leader (up to LeaderWait) and retries while the call certainly did not
// reach one: the node it reached says it is not the leader, or no
// connection to the leader could be made (the leader just died and the
// election has not started yet). When LeaderWait runs out in those cases the
// error is NotLeader, which always means "nothing was applied"; any other
// failure of the forwarded call (the leader died mid-call) is returned as
// is, and its outcome is unknown.
func (s *Server) forward(ctx context.Context, method string, req proto.Message) (proto.Message, error) {
	mt := responseType(method)
	if mt == nil {
		return nil, errs.Errorf(errs.Internal, method, "no response type known for %s", method)
	}
	deadline := time.Now().Add(s.cfg.LeaderWait)
	out := grpcmd.AppendToOutgoingContext(ctx, forwardedHeader, s.cfg.NodeID)
	for {
		addr, err := s.leaderAddress(ctx, method, deadline)
		if err != nil {
			return nil, err
		}
		cc, err := s.peerConn(addr)
		if err != nil {
			return nil, errs.E(errs.Unavailable, method, err)
		}
		resp := mt.New().Interface()
		err = cc.Invoke(out, method, req, resp)
		if err == nil || (errs.KindOf(err) != errs.NotLeader && !neverSent(err)) {
			return resp, err
		}
		if time.Now().After(deadline) {
			return nil, errs.Errorf(errs.NotLeader, method, "no reachable leader within %v (last: %v)", s.cfg.LeaderWait, err)
		}
		if neverSent(err) {
			// gRPC backs off reconnecting (up to minutes) to an address that
			// failed; the node there may be back and leading by now.
			cc.ResetConnectBackoff()
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, errs.E(errs.KindOf(err), method, err)
		}
	}
}

// neverSent reports whether a call failed before it left this process.
// grpc-go fails a call with one of these texts only when it could not get a
// connection to the target: dialling failed, or the server did not complete
// the HTTP/2 handshake (a transport is handed to calls only after the
// server's preface has arrived), so nothing was written for this call.
func neverSent(err error) bool {
	if errs.KindOf(err) != errs.Unavailable {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "Error while dialing") || strings.Contains(msg, "error reading server preface")
}

// leaderAddress waits until a leader is known and its gRPC address is in
// the address book (or the static peer list), until the deadline; then it
// fails with NotLeader.
func (s *Server) leaderAddress(ctx context.Context, op string, deadline time.Time) (string, error) {
	st, err := s.store(op)
	if err != nil {
		return "", err
	}
	for {
		id, _ := st.Leader()
		if id != "" {
			if addr := s.grpcAddressOf(st.FSM(), id); addr != "" {
				return addr, nil
			}
		}
		if time.Now().After(deadline) {
			if id == "" {
				return "", errs.Errorf(errs.NotLeader, op, "no metadata leader within %v (election in progress or no quorum)", s.cfg.LeaderWait)
			}
			return "", errs.Errorf(errs.NotLeader, op, "the gRPC address of leader %s is unknown", id)
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return "", errs.E(errs.KindOf(err), op, err)
		}
	}
}

// grpcAddressOf finds a member's gRPC address: this node's own, the
// replicated address book, then the static peer list.
func (s *Server) grpcAddressOf(f *fsm.FSM, nodeID string) string {
	if nodeID == s.cfg.NodeID {
		return s.grpcAddr
	}
	var addr string
	_ = f.View(func(r *fsm.Reader) error {
		m, err := r.Member(nodeID)
		addr = m.GetGrpcAddress()
		return err
	})
	if addr == "" {
		for _, p := range s.peers {
			if p.ID == nodeID {
				addr = p.GRPCAddr
			}
		}
	}
	return addr
}

// peerConn returns a shared client connection to another metadata node.
func (s *Server) peerConn(addr string) (*grpc.ClientConn, error) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if cc := s.conns[addr]; cc != nil {
		return cc, nil
	}
	cc, err := runtime.Dial("passthrough:///"+addr, s.dialOpts...)
	if err != nil {
		return nil, err
	}
	s.conns[addr] = cc
	return cc, nil
}

// closeConns closes the connections to other nodes.
func (s *Server) closeConns() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for a, cc := range s.conns {
		cc.Close()
		delete(s.conns, a)
	}
}

var (
	responseTypesOnce sync.Once
	responseTypes     map[string]protoreflect.MessageType
)

// responseType is the response message type of a full method name, from the
// generated descriptors of the two services.
func responseType(method string) protoreflect.MessageType {
	responseTypesOnce.Do(func() {
		responseTypes = map[string]protoreflect.MessageType{}
		for _, svc := range []string{metadatav1.MetadataService_ServiceDesc.ServiceName, metadatav1.ClusterService_ServiceDesc.ServiceName} {
			d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
			if err != nil {
				panic(fmt.Sprintf("metadata: service %s is not registered: %v", svc, err))
			}
			methods := d.(protoreflect.ServiceDescriptor).Methods()
			for i := range methods.Len() {
				m := methods.Get(i)
				mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
				if err != nil {
					panic(fmt.Sprintf("metadata: response type of %s: %v", m.FullName(), err))
				}
				responseTypes["/"+svc+"/"+string(m.Name())] = mt
			}
		}
	})
	return responseTypes[method]
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
