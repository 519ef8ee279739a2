package fsm

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Support for the lifecycle worker (metadata/lifecycle.go). The worker scans
// on the leader and acts through ordinary commands; the commands carry the
// conditions its scan saw (HideObject.if_current_version_id,
// DeleteObjectVersion.lifecycle_cutoff_unix_nanos), and apply checks them
// again, so a version uploaded, deleted or un-hidden after the scan is never
// acted on by mistake.

// CommitTime is when v became its key's newest version: commit_time, or
// create_time for records written before commit_time existed.
func CommitTime(v *metadatav1.ObjectVersion) int64 {
	if t := v.GetCommitTimeUnixNanos(); t != 0 {
		return t
	}
	return v.GetCreateTimeUnixNanos()
}

// newerThan returns the version of v's key immediately newer than the one
// at vk, skipping START versions, or nil when vk is the newest. bbolt
// cursors walk backwards, so this costs a seek and a step or two.
func (t objectTree) newerThan(key string, vk []byte) (*metadatav1.ObjectVersion, error) {
	c := t.versions.Cursor()
	k, _ := c.Seek(vk)
	if k == nil || !bytes.Equal(k, vk) {
		return nil, nil
	}
	for k, data := c.Prev(); k != nil; k, data = c.Prev() {
		kk, _, ok := splitVersionKey(k)
		if !ok || string(kk) != key {
			return nil, nil
		}
		v, err := decodeVersion(data)
		if err != nil {
			return nil, err
		}
		if v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_START {
			return v, nil
		}
	}
	return nil, nil
}

// onlyVersion reports whether the version at vk is the only non-START
// version of key.
func (t objectTree) onlyVersion(key string, vk []byte) (bool, error) {
	c := t.versions.Cursor()
	for k, data := c.Seek(versionsOf(key)); k != nil; k, data = c.Next() {
		kk, _, ok := splitVersionKey(k)
		if !ok || string(kk) != key {
			break
		}
		if bytes.Equal(k, vk) {
			continue
		}
		v, err := decodeVersion(data)
		if err != nil {
			return false, err
		}
		if v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_START {
			return false, nil
		}
	}
	return true, nil
}

// lifecycleRefusal checks a lifecycle deletion of v (at vk) against cutoff:
// v must have stopped being current at or before cutoff (the next newer
// version's commit time), or be a hide marker that is its key's only
// version, committed at or before cutoff (S3's expired delete marker).
func lifecycleRefusal(tree objectTree, v *metadatav1.ObjectVersion, vk []byte, latest bool, cutoff int64) *errs.Error {
	if !latest {
		newer, err := tree.newerThan(v.Key, vk)
		must(err)
		if newer != nil && CommitTime(newer) <= cutoff {
			return nil
		}
	} else if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE && CommitTime(v) <= cutoff {
		alone, err := tree.onlyVersion(v.Key, vk)
		must(err)
		if alone {
			return nil
		}
	}
	return errs.Errorf(errs.PreconditionFailed, opDeleteObjectVersion, "version %s is not due for lifecycle deletion", v.VersionId).WithBucket(v.BucketId).WithKey(v.Key)
}

// Scan positions are opaque resume tokens: the raw key of the last entry a
// scan returned. Resuming strictly after it is immune to deletions made
// between two scans (the next entry is found by a seek, not by an id).

// VersionsAfter returns up to limit versions (every action) of the bucket
// whose key starts with prefix, strictly after position after (nil: from
// the first), in ListObjectVersions order, and the position of the last
// one ("" when the scan reached the end).
func (r *Reader) VersionsAfter(bucketID, prefix string, after []byte, limit int) ([]*metadatav1.ObjectVersion, []byte, error) {
	tree, ok := r.s.objects(bucketID)
	if !ok {
		return nil, nil, errs.E(errs.BucketNotFound, "metadata.Lifecycle", nil).WithBucket(bucketID)
	}
	var out []*metadatav1.ObjectVersion
	var last []byte
	err := scanAfter(tree.versions, []byte(prefix), after, limit, func(k, data []byte) error {
		v, err := decodeVersion(data)
		if err != nil {
			return err
		}
		out = append(out, v)
		last = bytes.Clone(k)
		return nil
	})
	if len(out) < limit {
		last = nil
	}
	return out, last, err
}

// UploadsAfter is VersionsAfter over the unfinished uploads only (u/ order:
// key, then oldest first).
func (r *Reader) UploadsAfter(bucketID, prefix string, after []byte, limit int) ([]*metadatav1.ObjectVersion, []byte, error) {
	tree, ok := r.s.objects(bucketID)
	if !ok {
		return nil, nil, errs.E(errs.BucketNotFound, "metadata.Lifecycle", nil).WithBucket(bucketID)
	}
	var out []*metadatav1.ObjectVersion
	var last []byte
	err := scanAfter(tree.uploads, []byte(prefix), after, limit, func(k, _ []byte) error {
		v, err := tree.uploadAt(k)
		if err != nil {
			return err
		}
		out = append(out, v)
		last = bytes.Clone(k)
		return nil
	})
	if len(out) < limit {
		last = nil
	}
	return out, last, err
}

// scanAfter calls fn for up to limit entries of b whose key starts with
// prefix, strictly after position after.
func scanAfter(b *bolt.Bucket, prefix, after []byte, limit int, fn func(k, v []byte) error) error {
	c := b.Cursor()
	seek := prefix
	if bytes.Compare(after, seek) > 0 {
		seek = after
	}
	n := 0
	for k, v := c.Seek(seek); k != nil && bytes.HasPrefix(k, prefix) && n < limit; k, v = c.Next() {
		if after != nil && bytes.Equal(k, after) {
			continue
		}
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	}
	return nil
}
