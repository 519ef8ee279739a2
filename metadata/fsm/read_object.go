package fsm

import (
	"bytes"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const (
	opGetObject          = "metadata.GetObject"
	opListObjects        = "metadata.ListObjects"
	opListObjectVersions = "metadata.ListObjectVersions"
)

// Object returns the current version of key. When the newest non-START
// version is a hide marker the error is ObjectNotFound with the details
// delete_marker="true" and version_id=<marker id>, so the S3 front-end can
// answer x-amz-delete-marker.
func (r *Reader) Object(bucketID, key string) (*metadatav1.ObjectVersion, error) {
	tree, ok := r.s.objects(bucketID)
	if !ok {
		return nil, errs.E(errs.BucketNotFound, opGetObject, nil).WithBucket(bucketID)
	}
	cur, err := currentOf(tree, key)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		cur.IsLatest = true
		return cur, attachInline(tree, cur)
	}
	notFound := errs.E(errs.ObjectNotFound, opGetObject, nil).WithBucket(bucketID).WithKey(key)
	latest, _, err := tree.latest(key)
	if err != nil {
		return nil, err
	}
	if latest.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
		notFound.WithDetail("delete_marker", "true").WithDetail("version_id", latest.GetVersionId())
	}
	return nil, notFound
}

// Version returns one version by id (of any action). key, when not empty,
// must be the version's key. IsLatest is set when it is the newest non-START
// version of its key.
func (r *Reader) Version(bucketID, key, versionID string) (*metadatav1.ObjectVersion, error) {
	tree, ok := r.s.objects(bucketID)
	if !ok {
		return nil, errs.E(errs.BucketNotFound, opGetObject, nil).WithBucket(bucketID)
	}
	v, vk, err := tree.byID(versionID)
	if err != nil {
		return nil, err
	}
	if v == nil || (key != "" && v.GetKey() != key) {
		return nil, errs.Errorf(errs.VersionNotFound, opGetObject, "no version %s", versionID).WithBucket(bucketID).WithKey(key)
	}
	_, latestKey, err := tree.latest(v.Key)
	if err != nil {
		return nil, err
	}
	v.IsLatest = bytes.Equal(vk, latestKey)
	return v, attachInline(tree, v)
}

// commonPrefix returns prefix + the rest of key up to and including the first
// delimiter after prefix, or nil when key is not grouped.
func commonPrefix(key, prefix, delim []byte) []byte {
	if len(delim) == 0 {
		return nil
	}
	if i := bytes.Index(key[len(prefix):], delim); i >= 0 {
		return key[:len(prefix)+i+len(delim)]
	}
	return nil
}

// ListObjects lists the current version of each key (and the common
// prefixes) strictly after req.StartAfter, in key order, at most
// req.PageSize entries counting both kinds. It walks only the current index
// and jumps over each common prefix with one seek, so its cost depends on
// the page, not on the bucket.
func (r *Reader) ListObjects(req *metadatav1.ListObjectsRequest) (*metadatav1.ListObjectsResponse, error) {
	tree, ok := r.s.objects(req.GetBucketId())
	if !ok {
		return nil, errs.E(errs.BucketNotFound, opListObjects, nil).WithBucket(req.GetBucketId())
	}
	out := &metadatav1.ListObjectsResponse{}
	limit := int(req.GetPageSize())
	if limit <= 0 {
		return out, nil
	}
	prefix, delim, after := []byte(req.GetPrefix()), []byte(req.GetDelimiter()), []byte(req.GetStartAfter())
	seek := prefix
	if bytes.Compare(after, seek) > 0 {
		seek = after
	}
	n := 0
	c := tree.current.Cursor()
	k, data := c.Seek(seek)
	for k != nil && bytes.HasPrefix(k, prefix) {
		if cp := commonPrefix(k, prefix, delim); cp != nil {
			if bytes.Compare(cp, after) > 0 {
				if n == limit {
					out.Truncated = true
					break
				}
				out.CommonPrefixes = append(out.CommonPrefixes, string(cp))
				out.NextStartAfter = string(cp)
				n++
			}
			end := prefixEnd(cp)
			if end == nil {
				break
			}
			k, data = c.Seek(end)
			continue
		}
		if bytes.Compare(k, after) > 0 {
			if n == limit {
				out.Truncated = true
				break
			}
			v, err := decodeVersion(data)
			if err != nil {
				return nil, err
			}
			v.IsLatest = true
			out.Objects = append(out.Objects, v)
			out.NextStartAfter = v.Key
			n++
		}
		k, data = c.Next()
	}
	return out, nil
}

// ListObjectVersions lists every version in key order, newest first within a
// key: uploads and hide markers, and START versions when
// req.IncludeUnfinished. Paging resumes after (KeyMarker, VersionIdMarker),
// or at it when req.Inclusive (B2 paging); an empty version marker means
// after (or at the first of) every version of KeyMarker, and a version marker
// that no longer exists resumes at the first remaining version of KeyMarker
// (so a client may delete what a page returned before asking for the next
// one). A version marker of another key is InvalidArgument. The next markers
// name the last entry returned, or with Inclusive the first entry not returned.
func (r *Reader) ListObjectVersions(req *metadatav1.ListObjectVersionsRequest) (*metadatav1.ListObjectVersionsResponse, error) {
	tree, ok := r.s.objects(req.GetBucketId())
	if !ok {
		return nil, errs.E(errs.BucketNotFound, opListObjectVersions, nil).WithBucket(req.GetBucketId())
	}
	out := &metadatav1.ListObjectVersionsResponse{}
	limit := int(req.GetPageSize())
	if limit <= 0 {
		return out, nil
	}
	prefix, delim, marker := []byte(req.GetPrefix()), []byte(req.GetDelimiter()), []byte(req.GetKeyMarker())
	inclusive := req.GetInclusive()

	var seek, skip []byte
	switch {
	case len(marker) == 0:
	case req.GetVersionIdMarker() == "" && inclusive:
		seek = versionsOf(req.GetKeyMarker())
	case req.GetVersionIdMarker() == "":
		seek = afterVersionsOf(req.GetKeyMarker())
	default:
		vk := tree.ids.Get([]byte(req.GetVersionIdMarker()))
		if vk == nil {
			// The marker version is gone (typically: the client deleted
			// what the previous page returned). Resume at the first
			// remaining version of the marker key rather than fail.
			seek = versionsOf(req.GetKeyMarker())
			break
		}
		if key, _, ok := splitVersionKey(vk); !ok || !bytes.Equal(key, marker) {
			return nil, errs.Errorf(errs.InvalidArgument, opListObjectVersions, "version id marker %q is not a version of %q", req.GetVersionIdMarker(), marker)
		}
		seek = bytes.Clone(vk)
		if !inclusive {
			skip = seek
		}
	}
	if bytes.Compare(prefix, seek) > 0 {
		seek, skip = prefix, nil
	}
	// A common prefix is after the marker when it sorts after the marker key
	// (or equal to it, when resuming inclusively at a common prefix).
	cpAfterMarker := func(cp []byte) bool {
		c := bytes.Compare(cp, marker)
		return c > 0 || (c == 0 && inclusive && req.GetVersionIdMarker() == "")
	}

	n := 0
	var curKey, latestKey []byte
	first := true
	c := tree.versions.Cursor()
	k, data := c.Seek(seek)
	if skip != nil && bytes.Equal(k, skip) {
		k, data = c.Next()
	}
	for k != nil {
		key, _, ok := splitVersionKey(k)
		if !ok {
			return nil, errs.Errorf(errs.Internal, opListObjectVersions, "malformed version key %q", k)
		}
		if !bytes.HasPrefix(key, prefix) {
			break
		}
		if cp := commonPrefix(key, prefix, delim); cp != nil {
			if cpAfterMarker(cp) {
				if n == limit {
					out.Truncated = true
					if inclusive {
						out.NextKeyMarker, out.NextVersionIdMarker = string(cp), ""
					}
					break
				}
				out.CommonPrefixes = append(out.CommonPrefixes, string(cp))
				if !inclusive {
					out.NextKeyMarker, out.NextVersionIdMarker = string(cp), ""
				}
				n++
			}
			end := prefixEnd(cp)
			if end == nil {
				break
			}
			k, data = c.Seek(end)
			first = false
			continue
		}
		if !bytes.Equal(key, curKey) {
			curKey = bytes.Clone(key)
			latestKey = nil
			if first {
				// The page may start in the middle of this key's versions.
				var err error
				if _, latestKey, err = tree.latest(string(key)); err != nil {
					return nil, err
				}
			}
		}
		first = false
		v, err := decodeVersion(data)
		if err != nil {
			return nil, err
		}
		isStart := v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_START
		if !isStart && latestKey == nil {
			latestKey = bytes.Clone(k)
		}
		if !isStart || req.GetIncludeUnfinished() {
			if n == limit {
				out.Truncated = true
				if inclusive {
					out.NextKeyMarker, out.NextVersionIdMarker = v.Key, v.VersionId
				}
				break
			}
			v.IsLatest = !isStart && bytes.Equal(k, latestKey)
			out.Versions = append(out.Versions, v)
			if !inclusive {
				out.NextKeyMarker, out.NextVersionIdMarker = v.Key, v.VersionId
			}
			n++
		}
		k, data = c.Next()
	}
	if !out.Truncated && !inclusive {
		out.NextKeyMarker, out.NextVersionIdMarker = "", ""
	}
	return out, nil
}
