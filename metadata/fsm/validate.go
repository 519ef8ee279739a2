package fsm

import (
	"strings"
	"unicode/utf8"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Limits every command must respect. They protect the storage layout (bbolt
// keys are at most 32 KiB; 0x00 separates the parts of composite keys), so
// they are checked twice: by the store before a command enters the log, and
// again by apply, which refuses (never panics on) a decoded command that
// breaks them.
const (
	// MaxKeyBytes is the longest object key.
	MaxKeyBytes = 1024
	// MaxIDBytes is the longest opaque id (bucket, version, blob, key and node ids).
	MaxIDBytes = 200
	// maxNameBytes bounds bucket names in the state machine (the handlers
	// apply the stricter B2/S3 rules).
	maxNameBytes = 255
	// maxShards bounds a placement's shard list.
	maxShards = 256
	// maxAddrBytes bounds a member address.
	maxAddrBytes = 255
)

// ValidateCommand checks what can be checked without the state: every op
// has its ids, keys are valid, nothing carries a byte that would break the
// composite keys. The store calls it before raft.Apply, so a bad command is
// refused before it reaches the log; apply calls it again so that a decoded
// command that slipped past (an old binary, a hand-made entry) is refused
// deterministically rather than corrupting the layout.
func ValidateCommand(cmd *fsmv1.Command) *errs.Error {
	if len(cmd.GetRequestId()) > MaxIDBytes {
		return errs.Errorf(errs.InvalidArgument, "metadata.Propose", "the request id is longer than %d bytes", MaxIDBytes)
	}
	switch op := cmd.GetOp().(type) {
	case nil:
		return errs.Errorf(errs.InvalidArgument, "metadata.Propose", "the command has no op")
	case *fsmv1.Command_InitAccount:
		return checkID(opInitAccount, "account id", op.InitAccount.GetAccount().GetAccountId())
	case *fsmv1.Command_CreateBucket:
		b := op.CreateBucket.GetBucket()
		if n := b.GetName(); n == "" || len(n) > maxNameBytes || hasControl(n) {
			return errs.Errorf(errs.InvalidArgument, opCreateBucket, "invalid bucket name %q", n)
		}
		return checkID(opCreateBucket, "bucket id", b.GetBucketId())
	case *fsmv1.Command_UpdateBucket:
		return checkID(opUpdateBucket, "bucket id", op.UpdateBucket.GetUpdate().GetBucketId())
	case *fsmv1.Command_DeleteBucket:
		return checkID(opDeleteBucket, "bucket id", op.DeleteBucket.GetBucketId())
	case *fsmv1.Command_SetBucketCors:
		return checkID(opSetBucketCors, "bucket id", op.SetBucketCors.GetBucketId())
	case *fsmv1.Command_CommitObject:
		return checkVersion(opCommitObject, op.CommitObject.GetVersion())
	case *fsmv1.Command_HideObject:
		return checkVersion(opHideObject, op.HideObject.GetMarker())
	case *fsmv1.Command_StartUpload:
		return checkVersion(opStartUpload, op.StartUpload.GetUpload())
	case *fsmv1.Command_DeleteObjectVersion:
		d := op.DeleteObjectVersion
		return firstErr(checkOptionalKey(opDeleteObjectVersion, d.GetKey()), checkID(opDeleteObjectVersion, "bucket id", d.GetBucketId()),
			checkID(opDeleteObjectVersion, "version id", d.GetVersionId()))
	case *fsmv1.Command_CreateKey:
		return checkID(opCreateKey, "key id", op.CreateKey.GetKey().GetKeyId())
	case *fsmv1.Command_DeleteKey:
		return checkID(opDeleteKey, "key id", op.DeleteKey.GetKeyId())
	case *fsmv1.Command_UpdatePlacement:
		u := op.UpdatePlacement
		if e := checkID(opUpdatePlacement, "blob id", u.GetBlobId()); e != nil {
			return e
		}
		if len(u.GetShards()) == 0 {
			return errs.Errorf(errs.InvalidArgument, opUpdatePlacement, "shards are required")
		}
		return firstErr(checkShards(u.GetShards()), checkShards(u.GetExpectedShards()))
	case *fsmv1.Command_SetMember:
		m := op.SetMember.GetMember()
		if e := checkID(opSetMember, "node id", m.GetNodeId()); e != nil {
			return e
		}
		for _, a := range []string{m.GetRaftAddress(), m.GetGrpcAddress()} {
			if a == "" || len(a) > maxAddrBytes || hasControl(a) {
				return errs.Errorf(errs.InvalidArgument, opSetMember, "invalid member address %q", a)
			}
		}
		return nil
	case *fsmv1.Command_RemoveMember:
		return checkID(opRemoveMember, "node id", op.RemoveMember.GetNodeId())
	case *fsmv1.Command_UpdateObjectRetention:
		u := op.UpdateObjectRetention
		if e := firstErr(checkOptionalKey(opUpdateObjectRetention, u.GetKey()), checkID(opUpdateObjectRetention, "bucket id", u.GetBucketId()),
			checkID(opUpdateObjectRetention, "version id", u.GetVersionId())); e != nil {
			return e
		}
		switch u.GetRetention().GetMode() {
		case modeNone, modeGovernance, modeCompliance:
			return nil
		}
		return errs.Errorf(errs.InvalidArgument, opUpdateObjectRetention, "unknown retention mode %v", u.GetRetention().GetMode())
	case *fsmv1.Command_UpdateObjectLegalHold:
		u := op.UpdateObjectLegalHold
		if e := firstErr(checkOptionalKey(opUpdateObjectLegalHold, u.GetKey()), checkID(opUpdateObjectLegalHold, "bucket id", u.GetBucketId()),
			checkID(opUpdateObjectLegalHold, "version id", u.GetVersionId())); e != nil {
			return e
		}
		if h := u.GetLegalHold(); h != metadatav1.LegalHold_LEGAL_HOLD_ON && h != metadatav1.LegalHold_LEGAL_HOLD_OFF {
			return errs.Errorf(errs.InvalidArgument, opUpdateObjectLegalHold, "legal hold must be on or off")
		}
		return nil
	case *fsmv1.Command_UpdateObjectTags:
		u := op.UpdateObjectTags
		if e := checkID(opUpdateObjectTags, "bucket id", u.GetBucketId()); e != nil {
			return e
		}
		if u.GetVersionId() == "" {
			if e := checkKey(opUpdateObjectTags, u.GetKey()); e != nil {
				return e
			}
		} else if e := firstErr(checkOptionalKey(opUpdateObjectTags, u.GetKey()), checkID(opUpdateObjectTags, "version id", u.GetVersionId())); e != nil {
			return e
		}
		return CheckTags(opUpdateObjectTags, u.GetTags())
	case *fsmv1.Command_CommitPart:
		c := op.CommitPart
		p := c.GetPart()
		if e := firstErr(checkID(opCommitPart, "bucket id", c.GetBucketId()), checkID(opCommitPart, "upload id", p.GetUploadId())); e != nil {
			return e
		}
		if n := p.GetPartNumber(); n < 1 || n > MaxPartNumber {
			return errs.Errorf(errs.InvalidArgument, opCommitPart, "part number %d is not in 1..%d", n, MaxPartNumber)
		}
		seg := p.GetSegment()
		if seg == nil || seg.GetSize() < 0 {
			return errs.Errorf(errs.InvalidArgument, opCommitPart, "the part needs a segment with a size")
		}
		if seg.GetInline() || len(seg.GetInlineData()) > 0 {
			return errs.Errorf(errs.InvalidArgument, opCommitPart, "a part never keeps its bytes inline")
		}
		if id := seg.GetPlacement().GetBlobId(); id != "" {
			return firstErr(checkID(opCommitPart, "blob id", id), checkShards(seg.GetPlacement().GetShards()))
		}
		return nil
	case *fsmv1.Command_CompleteUpload:
		c := op.CompleteUpload
		if e := firstErr(checkID(opCompleteUpload, "bucket id", c.GetBucketId()), checkID(opCompleteUpload, "upload id", c.GetRequest().GetUploadId())); e != nil {
			return e
		}
		if n := len(c.GetRequest().GetParts()); n > MaxPartNumber {
			return errs.Errorf(errs.InvalidArgument, opCompleteUpload, "%d parts listed; at most %d", n, MaxPartNumber)
		}
		return nil
	case *fsmv1.Command_AbortUpload:
		a := op.AbortUpload
		return firstErr(checkID(opAbortUpload, "bucket id", a.GetBucketId()), checkID(opAbortUpload, "upload id", a.GetUploadId()))
	}
	return errs.Errorf(errs.InvalidArgument, "metadata.Propose", "unknown op %T", cmd.GetOp())
}

// checkVersion checks the ids and the key of a version record.
func checkVersion(op string, v *metadatav1.ObjectVersion) *errs.Error {
	if v == nil {
		return errs.Errorf(errs.InvalidArgument, op, "the version is required")
	}
	if e := firstErr(checkID(op, "bucket id", v.GetBucketId()), checkID(op, "version id", v.GetVersionId()), checkKey(op, v.GetKey()),
		CheckTags(op, v.GetTags())); e != nil {
		return e
	}
	for _, s := range v.GetSegments() {
		if id := s.GetPlacement().GetBlobId(); id != "" {
			if e := firstErr(checkID(op, "blob id", id), checkShards(s.GetPlacement().GetShards())); e != nil {
				return e
			}
		}
	}
	return checkInline(op, v)
}

// checkShards checks a shard list: node ids present, indexes distinct.
func checkShards(shards []*metadatav1.ShardLocation) *errs.Error {
	if len(shards) > maxShards {
		return errs.Errorf(errs.InvalidArgument, opUpdatePlacement, "at most %d shards", maxShards)
	}
	seen := map[uint32]bool{}
	for _, s := range shards {
		if e := checkID(opUpdatePlacement, "shard node id", s.GetNodeId()); e != nil {
			return e
		}
		if seen[s.GetIndex()] {
			return errs.Errorf(errs.InvalidArgument, opUpdatePlacement, "shard index %d appears twice", s.GetIndex())
		}
		seen[s.GetIndex()] = true
	}
	return nil
}

// checkKey checks an object key: 1–1024 bytes of UTF-8 without control
// characters (so 0x00 can separate composite keys).
func checkKey(op, key string) *errs.Error {
	if key == "" || len(key) > MaxKeyBytes || !utf8.ValidString(key) || hasControl(key) {
		return errs.Errorf(errs.InvalidArgument, op, "invalid object key (%d bytes)", len(key))
	}
	return nil
}

// checkOptionalKey is checkKey for a key that may be absent.
func checkOptionalKey(op, key string) *errs.Error {
	if key == "" {
		return nil
	}
	return checkKey(op, key)
}

// checkID checks an opaque id: 1–200 bytes without control characters.
func checkID(op, what, id string) *errs.Error {
	if id == "" || len(id) > MaxIDBytes || !utf8.ValidString(id) || hasControl(id) {
		return errs.Errorf(errs.InvalidArgument, op, "invalid %s %q", what, id)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

func firstErr(list ...*errs.Error) *errs.Error {
	for _, e := range list {
		if e != nil {
			return e
		}
	}
	return nil
}
