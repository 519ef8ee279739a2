package fsm

import (
	"bytes"
	"encoding/binary"
	"time"

	"google.golang.org/protobuf/proto"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
)

// Request ids: safe retries of mutations.
//
// A client that does not know whether a mutation applied (a timeout, the
// leader died mid-call) retries it with the same request_id. When a
// command with that id, the same op and the same request hash applied
// successfully within the window, apply returns the remembered result and
// changes nothing; so a retried CommitObject does not add a second version,
// and a retried CommitPart returns the part it recorded the first time.
// Refusals are not remembered (they changed nothing, so evaluating the
// retry afresh is just as correct).
//
// The window is RequestWindowEntries Raft indexes and RequestWindow of
// stamped time, whichever ends first. A hit is decided by comparing the
// record's index and time with the retry's, never by whether a record has
// been trimmed yet, so every replica answers the same whatever its batch
// boundaries. Trimming (by index only, per batch like the watch log) just
// reclaims space; for the same reason the table is left out of Digest.

const (
	// RequestWindow is how long (in stamped request time) a request id is
	// remembered.
	RequestWindow = 10 * time.Minute
	// RequestWindowEntries is how many Raft indexes a request id is remembered for.
	RequestWindowEntries = 100_000
)

// requestWindowEntries is RequestWindowEntries; tests lower it.
var requestWindowEntries uint64 = RequestWindowEntries

var opField = (&fsmv1.Command{}).ProtoReflect().Descriptor().Oneofs().ByName("op")

// opName is the name of a command's op (its oneof field).
func opName(cmd *fsmv1.Command) string {
	if f := cmd.ProtoReflect().WhichOneof(opField); f != nil {
		return string(f.Name())
	}
	return ""
}

// replayed returns the remembered result of an earlier application of the
// same request, if it is within the window.
func (w *writer) replayed(index uint64, cmd *fsmv1.Command) (*Result, bool) {
	id := cmd.GetRequestId()
	if id == "" {
		return nil, false
	}
	rec := &fsmv1.AppliedRequest{}
	ok, err := w.get(bktRequests, []byte(id), rec)
	must(err)
	if !ok || rec.GetOp() != opName(cmd) || !bytes.Equal(rec.GetRequestHash(), cmd.GetRequestHash()) {
		return nil, false
	}
	if rec.GetIndex()+requestWindowEntries <= index || rec.GetTimeUnixNanos() < cmd.GetRequestTimeUnixNanos()-int64(RequestWindow) {
		return nil, false
	}
	return &Result{
		Account: rec.Account, Bucket: rec.Bucket, Version: rec.Version, Key: rec.Key,
		Placement: rec.Placement, SegmentsUpdated: int(rec.SegmentsUpdated),
		Part: rec.Part, Replaced: rec.Replaced, Parts: rec.Parts,
	}, true
}

// remember records a successful application of a command with a request id.
func (w *writer) remember(index uint64, cmd *fsmv1.Command, res *Result) {
	id := cmd.GetRequestId()
	if id == "" || res == nil || res.Err != nil {
		return
	}
	put(w.tx.Bucket(bktRequests), []byte(id), &fsmv1.AppliedRequest{
		Op: opName(cmd), Index: index, TimeUnixNanos: cmd.GetRequestTimeUnixNanos(), RequestHash: cmd.GetRequestHash(),
		Account: res.Account, Bucket: res.Bucket, Version: res.Version, Key: res.Key,
		Placement: res.Placement, SegmentsUpdated: int32(res.SegmentsUpdated),
		Part: res.Part, Replaced: res.Replaced, Parts: res.Parts,
	})
	must(w.tx.Bucket(bktRequestLog).Put(u64(index), []byte(id)))
}

// trimRequests forgets request ids recorded at or below last-window. A
// log entry whose id was recorded again later leaves the newer record.
func (w *writer) trimRequests(last uint64) {
	if last <= requestWindowEntries {
		return
	}
	floor := last - requestWindowEntries
	log, reqs := w.tx.Bucket(bktRequestLog), w.tx.Bucket(bktRequests)
	type entry struct{ k, id []byte }
	var dead []entry
	c := log.Cursor()
	for k, id := c.First(); k != nil && binary.BigEndian.Uint64(k) <= floor; k, id = c.Next() {
		dead = append(dead, entry{bytes.Clone(k), bytes.Clone(id)})
	}
	for _, e := range dead {
		must(log.Delete(e.k))
		rec := &fsmv1.AppliedRequest{}
		if data := reqs.Get(e.id); data != nil && proto.Unmarshal(data, rec) == nil && rec.GetIndex() == binary.BigEndian.Uint64(e.k) {
			must(reqs.Delete(e.id))
		}
	}
}
