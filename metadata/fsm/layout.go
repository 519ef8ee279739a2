package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// The bbolt layout (see ../DESIGN.md). Object keys never contain bytes below
// 0x20, so 0x00 is a safe separator in composite keys and the byte order of a
// composite key is the UTF-8 order of the object key it starts with.
//
//	meta/           "applied" → uint64 BE (same transaction as the state), "account" → Account
//	buckets/        bucketID → Bucket
//	bucket_names/   lower(name) → bucketID               (names unique case-insensitively)
//	keys/           keyID → ApplicationKey
//	blobs/          blobID 0x00 bucketID 0x00 versionID → ""   (who references a blob)
//	objects/<bucketID>/
//	    v/          key 0x00 ^index(8 BE) → ObjectVersion   (every version, newest first per key)
//	    c/          key → ObjectVersion                     (current: newest version when it is an UPLOAD)
//	    i/          versionID → key 0x00 ^index             (version id → its v/ key)
//	    u/          key 0x00 index(8 BE) → ""               (unfinished uploads, oldest first per key)
//	    p/          uploadID 0x00 partNumber(4 BE) → Part   (parts of unfinished uploads)
//	    d/          versionID → bytes                       (inline data of small objects; made at the first)
//	requests/       requestID → AppliedRequest              (recent request ids, for safe retries)
//	request_log/    index(8 BE) → requestID                 (the same, in index order, for trimming)
//	members/        nodeID → Member                         (the address book: where each node's gRPC API is)
//	changes/        index(8 BE) → WatchResponse             (the watch log; not part of Digest)
//
// meta/ also holds "watch_floor": every change after that index is in changes/.
var (
	bktMeta        = []byte("meta")
	bktBuckets     = []byte("buckets")
	bktBucketNames = []byte("bucket_names")
	bktKeys        = []byte("keys")
	bktBlobs       = []byte("blobs")
	bktObjects     = []byte("objects")
	bktMembers     = []byte("members")
	bktChanges     = []byte("changes")
	bktRequests    = []byte("requests")
	bktRequestLog  = []byte("request_log")

	bktVersions = []byte("v")
	bktCurrent  = []byte("c")
	bktIDs      = []byte("i")
	bktUploads  = []byte("u")
	bktParts    = []byte("p")
	bktInline   = []byte("d")

	keyApplied = []byte("applied")
	keyAccount = []byte("account")
	keySchema  = []byte("schema")
	keyFloor   = []byte("watch_floor")
)

// schemaVersion is stored in meta/schema; a file with another version is
// refused, except version 1, which openDB migrates (see migrate).
const schemaVersion = 2

var topLevel = [][]byte{bktMeta, bktBuckets, bktBucketNames, bktKeys, bktBlobs, bktObjects, bktMembers, bktChanges, bktRequests, bktRequestLog}

// treeBuckets are the sub-buckets of every objects/<bucketID>/ tree.
var treeBuckets = [][]byte{bktVersions, bktCurrent, bktIDs, bktUploads, bktParts}

// marshalOpts makes stored bytes identical on every replica (map order).
var marshalOpts = proto.MarshalOptions{Deterministic: true}

// versionKey is the v/ key of the version of key written at index. The index
// is complemented so that a forward cursor meets the newest version first.
func versionKey(key string, index uint64) []byte {
	b := make([]byte, len(key)+9)
	copy(b, key)
	binary.BigEndian.PutUint64(b[len(key)+1:], ^index)
	return b
}

// splitVersionKey is the inverse of versionKey. ok is false for a malformed key.
func splitVersionKey(k []byte) (key []byte, index uint64, ok bool) {
	if len(k) < 9 || k[len(k)-9] != 0 {
		return nil, 0, false
	}
	return k[:len(k)-9], ^binary.BigEndian.Uint64(k[len(k)-8:]), true
}

// versionsOf is the seek position of the first (newest) version of key.
func versionsOf(key string) []byte { return append([]byte(key), 0) }

// afterVersionsOf is the seek position just past every version of key.
func afterVersionsOf(key string) []byte { return append([]byte(key), 1) }

// blobRef is the blobs/ key recording that version versionID of bucketID uses blobID.
func blobRef(blobID, bucketID, versionID string) []byte {
	return []byte(blobID + "\x00" + bucketID + "\x00" + versionID)
}

// partBlobRef is the blobs/ key recording that part partNumber of upload
// uploadID uses blobID: a fourth component (the decimal part number, so no
// 0x00 byte can appear in it) tells it from a version's reference.
func partBlobRef(blobID, bucketID, uploadID string, partNumber int32) []byte {
	return []byte(fmt.Sprintf("%s\x00%s\x00%s\x00%d", blobID, bucketID, uploadID, partNumber))
}

// uploadKey is the u/ key of the upload of key started at index. Unlike
// v/, the index is not complemented: uploads of a key list oldest first
// (S3 ListMultipartUploads order), and the v/ key is versionKey(key, index).
func uploadKey(key string, index uint64) []byte {
	b := make([]byte, len(key)+9)
	copy(b, key)
	binary.BigEndian.PutUint64(b[len(key)+1:], index)
	return b
}

// splitUploadKey is the inverse of uploadKey.
func splitUploadKey(k []byte) (key []byte, index uint64, ok bool) {
	if len(k) < 9 || k[len(k)-9] != 0 {
		return nil, 0, false
	}
	return k[:len(k)-9], binary.BigEndian.Uint64(k[len(k)-8:]), true
}

// partKey is the p/ key of part n of an upload; partsOf is the seek
// position of the upload's first part.
func partKey(uploadID string, n int32) []byte {
	b := make([]byte, len(uploadID)+5)
	copy(b, uploadID)
	binary.BigEndian.PutUint32(b[len(uploadID)+1:], uint32(n))
	return b
}

func partsOf(uploadID string) []byte { return append([]byte(uploadID), 0) }

// prefixEnd returns the smallest byte string greater than every string that
// starts with p, or nil when there is none (p is empty or all 0xFF). Valid
// UTF-8 never contains 0xFF, so for keys and prefixes this always succeeds.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// nameKey is the bucket_names/ key of a bucket name (B2: unique case-insensitively).
func nameKey(name string) []byte { return []byte(strings.ToLower(name)) }

// txState holds the lookups shared by the apply path (write transaction) and
// the Reader (read transaction).
type txState struct {
	tx *bolt.Tx
}

// objectTree is the objects/<bucketID>/ bucket with its sub-buckets.
type objectTree struct {
	versions, current, ids, uploads, parts *bolt.Bucket
	// root is objects/<bucketID>/; inline is its d/, nil until the first
	// inline version of the bucket.
	root, inline *bolt.Bucket
}

func (s txState) get(bkt, key []byte, m proto.Message) (bool, error) {
	v := s.tx.Bucket(bkt).Get(key)
	if v == nil {
		return false, nil
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return false, fmt.Errorf("fsm: decode %s/%q: %w", bkt, key, err)
	}
	return true, nil
}

func (s txState) account() (*metadatav1.Account, error) {
	a := &metadatav1.Account{}
	ok, err := s.get(bktMeta, keyAccount, a)
	if !ok {
		return nil, err
	}
	return a, nil
}

func (s txState) bucket(id string) (*metadatav1.Bucket, error) {
	b := &metadatav1.Bucket{}
	ok, err := s.get(bktBuckets, []byte(id), b)
	if !ok {
		return nil, err
	}
	return b, nil
}

func (s txState) bucketByName(name string) (*metadatav1.Bucket, error) {
	id := s.tx.Bucket(bktBucketNames).Get(nameKey(name))
	if id == nil {
		return nil, nil
	}
	return s.bucket(string(id))
}

func (s txState) key(id string) (*metadatav1.ApplicationKey, error) {
	k := &metadatav1.ApplicationKey{}
	ok, err := s.get(bktKeys, []byte(id), k)
	if !ok {
		return nil, err
	}
	return k, nil
}

// objects returns the object tree of a bucket, or ok=false when the bucket
// does not exist.
func (s txState) objects(bucketID string) (objectTree, bool) {
	b := s.tx.Bucket(bktObjects).Bucket([]byte(bucketID))
	if b == nil {
		return objectTree{}, false
	}
	return objectTree{
		versions: b.Bucket(bktVersions), current: b.Bucket(bktCurrent), ids: b.Bucket(bktIDs),
		uploads: b.Bucket(bktUploads), parts: b.Bucket(bktParts),
		root: b, inline: b.Bucket(bktInline),
	}, true
}

func decodeVersion(data []byte) (*metadatav1.ObjectVersion, error) {
	v := &metadatav1.ObjectVersion{}
	if err := proto.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("fsm: decode version: %w", err)
	}
	return v, nil
}

// hasVersions reports whether key has any version at all (any action).
func (t objectTree) hasVersions(key string) bool {
	k, _ := t.versions.Cursor().Seek(versionsOf(key))
	kk, _, ok := splitVersionKey(k)
	return ok && string(kk) == key
}

// latest returns the newest version of key that is not a START (an
// unfinished upload never shadows an upload or a hide marker), with its v/ key;
// nil when there is none.
func (t objectTree) latest(key string) (*metadatav1.ObjectVersion, []byte, error) {
	c := t.versions.Cursor()
	for k, data := c.Seek(versionsOf(key)); k != nil; k, data = c.Next() {
		kk, _, ok := splitVersionKey(k)
		if !ok || string(kk) != key {
			return nil, nil, nil
		}
		v, err := decodeVersion(data)
		if err != nil {
			return nil, nil, err
		}
		if v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_START {
			return v, bytes.Clone(k), nil
		}
	}
	return nil, nil, nil
}

// byID returns a version by id with its v/ key, or nil.
func (t objectTree) byID(versionID string) (*metadatav1.ObjectVersion, []byte, error) {
	vk := t.ids.Get([]byte(versionID))
	if vk == nil {
		return nil, nil, nil
	}
	data := t.versions.Get(vk)
	if data == nil {
		return nil, nil, fmt.Errorf("fsm: version index points at a missing version %q", versionID)
	}
	v, err := decodeVersion(data)
	if err != nil {
		return nil, nil, err
	}
	return v, bytes.Clone(vk), nil
}
