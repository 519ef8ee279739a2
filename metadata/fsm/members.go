package fsm

import (
	"google.golang.org/protobuf/proto"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// The member address book. Raft's configuration says who votes and where
// its Raft transport listens; it has no room for anything else. Followers
// forward writes to the leader's gRPC API, so every node needs each
// member's gRPC address: the book keeps it, replicated like any state (and
// so included in snapshots and in Digest). Entries are keyed by node id; the
// voter flag is not stored (Raft's configuration is the truth for it).

// applySetMember records or replaces a member's addresses.
func (w *writer) applySetMember(op *fsmv1.SetMember) *Result {
	m := proto.Clone(op.GetMember()).(*metadatav1.Member)
	m.Voter = false
	put(w.tx.Bucket(bktMembers), []byte(m.NodeId), m)
	return &Result{Member: m}
}

// applyRemoveMember forgets a member; forgetting an unknown one is not an error.
func (w *writer) applyRemoveMember(op *fsmv1.RemoveMember) *Result {
	must(w.tx.Bucket(bktMembers).Delete([]byte(op.GetNodeId())))
	return &Result{Member: &metadatav1.Member{NodeId: op.GetNodeId()}}
}

// Member returns a member's addresses, or nil.
func (r *Reader) Member(nodeID string) (*metadatav1.Member, error) {
	m := &metadatav1.Member{}
	ok, err := r.s.get(bktMembers, []byte(nodeID), m)
	if !ok {
		return nil, err
	}
	return m, nil
}

// Members returns the address book in node-id order.
func (r *Reader) Members() ([]*metadatav1.Member, error) {
	var out []*metadatav1.Member
	err := r.s.tx.Bucket(bktMembers).ForEach(func(k, v []byte) error {
		m := &metadatav1.Member{}
		if err := proto.Unmarshal(v, m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}
