package fsm

import (
	"bytes"
	"encoding/binary"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Reader is a consistent read-only view of the state. It is valid only inside
// the View callback that handed it out, and is not safe for concurrent use.
// Lookups return nil (no error) for an absent record; listings and object
// reads return domain errors (*errs.Error) such as BucketNotFound.
type Reader struct {
	s txState
}

// AppliedIndex is the Raft index this view reflects.
func (r *Reader) AppliedIndex() uint64 {
	if v := r.s.tx.Bucket(bktMeta).Get(keyApplied); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// Account returns the account, or nil before InitAccount.
func (r *Reader) Account() (*metadatav1.Account, error) { return r.s.account() }

// Bucket returns a bucket by id, or nil.
func (r *Reader) Bucket(id string) (*metadatav1.Bucket, error) { return r.s.bucket(id) }

// BucketByName returns a bucket by name (case-insensitively), or nil.
func (r *Reader) BucketByName(name string) (*metadatav1.Bucket, error) {
	return r.s.bucketByName(name)
}

// BucketCount is the number of buckets.
func (r *Reader) BucketCount() int { return r.s.tx.Bucket(bktBucketNames).Stats().KeyN }

// ListBuckets returns up to limit buckets in (case-folded) name order,
// strictly after the page token, and the token of the next page ("" when
// this page is the last).
func (r *Reader) ListBuckets(pageToken string, limit int) ([]*metadatav1.Bucket, string, error) {
	var out []*metadatav1.Bucket
	c := r.s.tx.Bucket(bktBucketNames).Cursor()
	k, id := c.Seek([]byte(pageToken))
	if k != nil && pageToken != "" && string(k) == pageToken {
		k, id = c.Next()
	}
	var last []byte
	for ; k != nil; k, id = c.Next() {
		if len(out) == limit {
			return out, string(last), nil
		}
		b, err := r.s.bucket(string(id))
		if err != nil {
			return nil, "", err
		}
		if b == nil {
			return nil, "", errs.Errorf(errs.Internal, "metadata.ListBuckets", "bucket name %q points at a missing bucket", k)
		}
		out = append(out, b)
		last = k
	}
	return out, "", nil
}

// Key returns an application key by id, or nil.
func (r *Reader) Key(id string) (*metadatav1.ApplicationKey, error) { return r.s.key(id) }

// ListKeys returns up to limit keys in key-id order from start (inclusive),
// and the id to start the next page at ("" when this page is the last).
func (r *Reader) ListKeys(start string, limit int) ([]*metadatav1.ApplicationKey, string, error) {
	var out []*metadatav1.ApplicationKey
	c := r.s.tx.Bucket(bktKeys).Cursor()
	for k, _ := c.Seek([]byte(start)); k != nil; k, _ = c.Next() {
		if len(out) == limit {
			return out, string(k), nil
		}
		key, err := r.s.key(string(k))
		if err != nil {
			return nil, "", err
		}
		out = append(out, key)
	}
	return out, "", nil
}

// BlobsReferenced returns the ids among blobIDs that a committed version
// references, in the order given.
func (r *Reader) BlobsReferenced(blobIDs []string) []string {
	var out []string
	c := r.s.tx.Bucket(bktBlobs).Cursor()
	for _, id := range blobIDs {
		p := append([]byte(id), 0)
		if k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) {
			out = append(out, id)
		}
	}
	return out
}

// VersionCount returns the number of versions (of any action) in a bucket,
// or -1 when the bucket does not exist.
func (r *Reader) VersionCount(bucketID string) int {
	tree, ok := r.s.objects(bucketID)
	if !ok {
		return -1
	}
	return tree.versions.Stats().KeyN
}
