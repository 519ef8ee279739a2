package fsm

import (
	"bytes"
	"hash/crc32"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Inline data: a small single-part object's bytes travel in its
// CommitObject command and are kept by the FSM instead of a blob, so that
// its PUT is one Raft commit (no blob file, no blob fsync) and its GET one
// metadata read. They are stored in the bucket tree's d/ sub-bucket under
// the version id, apart from the version record (whose segment keeps
// inline=true, the size and the CRC32C): lists and every other read of
// records never load them, and the current-version copy in c/ does not
// duplicate them. Reader.Object and Reader.Version (GetObject) attach them.
// Deleting the version deletes them in the same transaction.

// MaxInlineSize bounds the inline bytes of one version. The gateway's
// threshold (--inline-max-size) is lower; this bound keeps a command, and
// what every replica and snapshot carries, small whatever a client sends.
const MaxInlineSize = 256 << 10

// checkInline checks the inline segment rules of a version written by op:
// only CommitObject carries inline bytes, in its one segment, without a
// placement, within MaxInlineSize, matching their CRC32C.
func checkInline(op string, v *metadatav1.ObjectVersion) *errs.Error {
	for _, s := range v.GetSegments() {
		if !s.GetInline() {
			if len(s.GetInlineData()) > 0 {
				return errs.Errorf(errs.InvalidArgument, op, "inline data on a segment that is not inline")
			}
			continue
		}
		switch {
		case op != opCommitObject:
			return errs.Errorf(errs.InvalidArgument, op, "only a committed object may keep its bytes inline")
		case len(v.GetSegments()) != 1:
			return errs.Errorf(errs.InvalidArgument, op, "an inline object has exactly one segment")
		case s.GetPlacement() != nil:
			return errs.Errorf(errs.InvalidArgument, op, "an inline segment has no placement")
		case len(s.GetInlineData()) > MaxInlineSize:
			return errs.Errorf(errs.InvalidArgument, op, "inline data is larger than %d bytes", MaxInlineSize)
		case crc32.Checksum(s.GetInlineData(), castagnoli) != s.GetInlineCrc32C():
			return errs.Errorf(errs.BadDigest, op, "inline data does not match its CRC32C")
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// inlineSegment returns v's inline segment, or nil.
func inlineSegment(v *metadatav1.ObjectVersion) *metadatav1.Segment {
	for _, s := range v.GetSegments() {
		if s.GetInline() {
			return s
		}
	}
	return nil
}

// storeInline moves v's inline bytes (if any) out of the record into d/.
func (w *writer) storeInline(tree *objectTree, v *metadatav1.ObjectVersion) {
	s := inlineSegment(v)
	if s == nil {
		return
	}
	if tree.inline == nil {
		b, err := tree.root.CreateBucketIfNotExists(bktInline)
		must(err)
		tree.inline = b
	}
	data := s.InlineData
	if data == nil {
		data = []byte{}
	}
	must(tree.inline.Put([]byte(v.GetVersionId()), data))
	s.InlineData = nil
}

// deleteInline removes the inline bytes of a removed version.
func (w *writer) deleteInline(tree objectTree, v *metadatav1.ObjectVersion) {
	if tree.inline != nil && inlineSegment(v) != nil {
		must(tree.inline.Delete([]byte(v.GetVersionId())))
	}
}

// attachInline fills in the inline bytes of a version read for GetObject.
func attachInline(tree objectTree, v *metadatav1.ObjectVersion) error {
	s := inlineSegment(v)
	if s == nil {
		return nil
	}
	var data []byte
	if tree.inline != nil {
		data = tree.inline.Get([]byte(v.GetVersionId()))
	}
	if data == nil {
		return errs.Errorf(errs.DataLoss, opGetObject, "inline data of version %s is missing", v.GetVersionId()).
			WithBucket(v.GetBucketId()).WithKey(v.GetKey())
	}
	s.InlineData = bytes.Clone(data)
	return nil
}
