package metadata

import (
	"time"

	"google.golang.org/grpc"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const (
	// maxWatchBatch bounds the changes in one WatchResponse.
	maxWatchBatch = 1000
	// watchProgressInterval is how often a watcher whose filter matched
	// nothing learns that the index moved (so it can resume from there).
	watchProgressInterval = 250 * time.Millisecond
)

// watchStaleAfter is how long a node may go without hearing from a leader
// before its watch streams end: longer than an ordinary election.
func (s *Server) watchStaleAfter() time.Duration {
	return 2*s.cfg.ElectionTimeout + time.Second
}

// Watch streams the changes applied after from_index, read from this node's
// watch log (see fsm/changes.go): it is served by any node, leader or not,
// and never forwarded. Every response carries index = the position the
// stream has reached: every change at or below it (after from_index) has
// been sent, so a client resumes with from_index = the last index it got,
// on any node, without a gap or a duplicate.
//
//   - The first response comes at once, with the changes already there
//     (if any); from_index 0 means "from now" (this node's applied index).
//   - When from_index is older than the log keeps, the first response has
//     compacted=true and index = the applied index: reload, then carry on
//     with this stream (or resume after index).
//   - A node behind from_index waits until it has applied that far.
//   - When a kinds filter hides every change, an empty response still
//     reports the new index within about a quarter of a second.
//   - A node that has not heard from a leader for a while (it is cut off,
//     or the group has no quorum) ends the stream with Unavailable, so the
//     watcher resumes on another node rather than wait on a stale one.
func (s *Server) Watch(req *metadatav1.WatchRequest, stream grpc.ServerStreamingServer[metadatav1.WatchResponse]) error {
	const op = "metadata.Watch"
	st, err := s.store(op)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	f := st.FSM()
	want := map[metadatav1.ChangeKind]bool{}
	for _, k := range req.GetKinds() {
		want[k] = true
	}
	from := req.GetFromIndex()
	if from == 0 {
		from = f.AppliedIndex()
	}
	stopped := func() error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errs.Errorf(errs.Unavailable, op, "metadata is shutting down")
	}
	for {
		changed := f.Changed() // before the check, so no move is missed
		if f.AppliedIndex() >= from {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return stopped()
		case <-s.life.Done():
			return stopped()
		}
	}

	progress := time.NewTicker(watchProgressInterval)
	defer progress.Stop()
	sent := uint64(0) // the index of the last response sent
	first := true
	for {
		changed := f.Changed()
		page, err := f.Changes(from, maxWatchBatch)
		if err != nil {
			return errs.E(errs.KindOf(err), op, err)
		}
		resp := &metadatav1.WatchResponse{Index: page.Through, Compacted: page.Compacted}
		for _, e := range page.Entries {
			for _, c := range e.GetChanges() {
				if len(want) == 0 || want[c.GetKind()] {
					resp.Changes = append(resp.Changes, c)
				}
			}
		}
		if first || page.Compacted || len(resp.Changes) > 0 {
			if err := stream.Send(resp); err != nil {
				return err
			}
			sent = page.Through
		}
		first = false
		from = page.Through
		if from < page.Applied {
			continue // a full batch: read on without waiting
		}
		for wait := true; wait; {
			select {
			case <-changed:
				wait = false
			case <-progress.C:
				if age := st.LeaderContact(); age > s.watchStaleAfter() {
					return errs.Errorf(errs.Unavailable, op, "node %s has not heard from a leader for %v; watch another node", s.cfg.NodeID, age.Round(time.Millisecond))
				}
				if sent < from {
					if err := stream.Send(&metadatav1.WatchResponse{Index: from}); err != nil {
						return err
					}
					sent = from
				}
			case <-ctx.Done():
				return stopped()
			case <-s.life.Done():
				return stopped()
			}
		}
	}
}
