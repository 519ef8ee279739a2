package fsm

import (
	"unicode/utf8"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Object tags (S3 object tagging): a version's tag set is part of its
// record, set by the write that created it (CommitObject, StartUpload,
// whose tags the completed version keeps) and replaced as a whole by
// UpdateObjectTags. Tags are not data: they change neither the ETag nor the
// commit time, and object lock does not protect them (S3 allows tagging a
// locked version).

const opUpdateObjectTags = "metadata.UpdateObjectTags"

// S3's limits on an object's tags. They are checked before a command enters
// the log and again in apply (CheckTags), so they are also what keeps a
// version record's size bounded. The character rules are the metadata
// service's (and the front-ends'): apply must not depend on rules that may
// widen from one release to the next.
const (
	// MaxTags is the most tags a version may carry.
	MaxTags = 10
	// MaxTagKeyChars and MaxTagValueChars bound a tag in Unicode characters.
	MaxTagKeyChars   = 128
	MaxTagValueChars = 256
)

// CheckTags checks a tag set against the limits: at most MaxTags, keys of
// 1–128 characters and values of at most 256, valid UTF-8, no key twice.
func CheckTags(op string, tags []*metadatav1.Tag) *errs.Error {
	if len(tags) > MaxTags {
		return errs.Errorf(errs.InvalidArgument, op, "%d tags; at most %d are allowed", len(tags), MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		k, v := t.GetKey(), t.GetValue()
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errs.Errorf(errs.InvalidArgument, op, "a tag is not valid UTF-8")
		}
		if n := utf8.RuneCountInString(k); n == 0 || n > MaxTagKeyChars {
			return errs.Errorf(errs.InvalidArgument, op, "a tag key has %d characters; 1 to %d are allowed", n, MaxTagKeyChars)
		}
		if n := utf8.RuneCountInString(v); n > MaxTagValueChars {
			return errs.Errorf(errs.InvalidArgument, op, "a tag value has %d characters; at most %d are allowed", n, MaxTagValueChars)
		}
		if seen[k] {
			return errs.Errorf(errs.InvalidArgument, op, "the tag key %q appears twice", k)
		}
		seen[k] = true
	}
	return nil
}

// applyUpdateObjectTags replaces the tags of one version: the one named by
// version_id, or the key's newest version. A hide marker has no tags to
// set: by id that is MethodNotAllowed, as the newest version ObjectNotFound
// with the marker's details (what S3 answers for a GET of either).
func (w *writer) applyUpdateObjectTags(index uint64, op *fsmv1.UpdateObjectTags) *Result {
	tree, ok := w.objects(op.GetBucketId())
	if !ok {
		return refuse(errs.E(errs.BucketNotFound, opUpdateObjectTags, nil).WithBucket(op.GetBucketId()))
	}
	var v *metadatav1.ObjectVersion
	var vk []byte
	var err error
	if id := op.GetVersionId(); id != "" {
		v, vk, err = tree.byID(id)
		must(err)
		if v == nil || (op.GetKey() != "" && v.GetKey() != op.GetKey()) || v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_START {
			return refuse(errs.Errorf(errs.VersionNotFound, opUpdateObjectTags, "no version %s", id).WithBucket(op.GetBucketId()).WithKey(op.GetKey()))
		}
		if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
			return refuse(errs.Errorf(errs.MethodNotAllowed, opUpdateObjectTags, "a hide marker (delete marker) has no tags").
				WithBucket(op.GetBucketId()).WithKey(v.GetKey()).WithDetail("delete_marker", "true").WithDetail("version_id", id))
		}
	} else {
		v, vk, err = tree.latest(op.GetKey())
		must(err)
		if v == nil || v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_UPLOAD {
			e := errs.E(errs.ObjectNotFound, opUpdateObjectTags, nil).WithBucket(op.GetBucketId()).WithKey(op.GetKey())
			if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
				e.WithDetail("delete_marker", "true").WithDetail("version_id", v.GetVersionId())
			}
			return refuse(e)
		}
	}
	v.Tags = op.GetTags()
	w.rewriteVersion(index, tree, v, vk)
	return &Result{Version: v}
}
