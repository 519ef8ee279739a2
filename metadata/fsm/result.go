package fsm

import (
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Result is the outcome of applying one command, returned through the
// raft.ApplyFuture to the node that proposed it. Exactly one of the record
// fields is set on success (the one the command is about); Err is set, and
// the state is unchanged, when the command was refused.
type Result struct {
	Account *metadatav1.Account
	Bucket  *metadatav1.Bucket
	Version *metadatav1.ObjectVersion
	Key     *metadatav1.ApplicationKey
	Member  *metadatav1.Member
	// Placement and SegmentsUpdated are UpdatePlacement's outcome.
	Placement       *metadatav1.BlobPlacement
	SegmentsUpdated int
	// Part and Replaced are CommitPart's outcome: the part recorded and the
	// one it replaced (nil when it is new).
	Part, Replaced *metadatav1.Part
	// Parts are the parts a command released (their blobs are no longer
	// referenced by them): every part for AbortUpload (and
	// DeleteObjectVersion of an unfinished upload), the unlisted ones for
	// CompleteUpload.
	Parts []*metadatav1.Part
	// Err is a domain refusal (*errs.Error): bucket exists, not empty,
	// precondition failed... It is a value, never a panic, because refusing
	// is as deterministic as accepting.
	Err error
}

func refuse(e *errs.Error) *Result { return &Result{Err: e} }
