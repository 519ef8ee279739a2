package fsm

import (
	"bytes"
	"fmt"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

const (
	opListUploads = "metadata.ListUploads"
	opListParts   = "metadata.ListParts"
)

// uploadAt returns the START version a u/ key points at.
func (t objectTree) uploadAt(uk []byte) (*metadatav1.ObjectVersion, error) {
	key, index, ok := splitUploadKey(uk)
	if !ok {
		return nil, fmt.Errorf("fsm: malformed upload key %q", uk)
	}
	data := t.versions.Get(versionKey(string(key), index))
	if data == nil {
		return nil, fmt.Errorf("fsm: upload index points at a missing version %q", uk)
	}
	return decodeVersion(data)
}

// Upload returns the unfinished upload uploadID of a bucket;
// UploadNotFound when there is none (never started, aborted or completed).
func (r *Reader) Upload(bucketID, uploadID string) (*metadatav1.ObjectVersion, error) {
	tree, ok := r.s.objects(bucketID)
	if !ok {
		return nil, uploadNotFound(opGetUpload, bucketID, uploadID)
	}
	up, _, err := tree.upload(uploadID)
	if err != nil {
		return nil, err
	}
	if up == nil {
		return nil, uploadNotFound(opGetUpload, bucketID, uploadID)
	}
	return up, nil
}

// ListUploads lists unfinished uploads in key order, oldest first within a
// key, with S3 ListMultipartUploads paging: after (key_marker,
// upload_id_marker), or after every upload of key_marker when the upload
// marker is empty; with Inclusive (B2 startFileId) at the marker instead,
// and the next markers then name the first upload not returned. An upload
// marker that no longer exists resumes at the first remaining upload of
// key_marker. Common prefixes work as in ListObjects and count against the
// page size.
func (r *Reader) ListUploads(req *metadatav1.ListUploadsRequest) (*metadatav1.ListUploadsResponse, error) {
	tree, ok := r.s.objects(req.GetBucketId())
	if !ok {
		return nil, errs.E(errs.BucketNotFound, opListUploads, nil).WithBucket(req.GetBucketId())
	}
	out := &metadatav1.ListUploadsResponse{}
	limit := int(req.GetPageSize())
	if limit <= 0 {
		return out, nil
	}
	prefix, delim, marker := []byte(req.GetPrefix()), []byte(req.GetDelimiter()), []byte(req.GetKeyMarker())
	inclusive := req.GetInclusive()
	var seek, skip []byte
	switch {
	case len(marker) == 0:
	case req.GetUploadIdMarker() == "" && inclusive:
		seek = versionsOf(req.GetKeyMarker())
	case req.GetUploadIdMarker() == "":
		seek = afterVersionsOf(req.GetKeyMarker())
	default:
		seek = versionsOf(req.GetKeyMarker())
		up, vk, err := tree.upload(req.GetUploadIdMarker())
		if err != nil {
			return nil, err
		}
		if up != nil {
			if key, index, ok := splitVersionKey(vk); ok && bytes.Equal(key, marker) {
				seek = uploadKey(string(key), index)
				if !inclusive {
					skip = seek
				}
			}
		}
	}
	if bytes.Compare(prefix, seek) > 0 {
		seek, skip = prefix, nil
	}
	cpAfterMarker := func(cp []byte) bool {
		c := bytes.Compare(cp, marker)
		return c > 0 || (c == 0 && inclusive && req.GetUploadIdMarker() == "")
	}
	n := 0
	c := tree.uploads.Cursor()
	k, _ := c.Seek(seek)
	if skip != nil && bytes.Equal(k, skip) {
		k, _ = c.Next()
	}
	for k != nil {
		key, _, ok := splitUploadKey(k)
		if !ok {
			return nil, errs.Errorf(errs.Internal, opListUploads, "malformed upload key %q", k)
		}
		if !bytes.HasPrefix(key, prefix) {
			break
		}
		if cp := commonPrefix(key, prefix, delim); cp != nil {
			if cpAfterMarker(cp) {
				if n == limit {
					out.Truncated = true
					if inclusive {
						out.NextKeyMarker, out.NextUploadIdMarker = string(cp), ""
					}
					break
				}
				out.CommonPrefixes = append(out.CommonPrefixes, string(cp))
				if !inclusive {
					out.NextKeyMarker, out.NextUploadIdMarker = string(cp), ""
				}
				n++
			}
			end := prefixEnd(cp)
			if end == nil {
				break
			}
			k, _ = c.Seek(end)
			continue
		}
		up, err := tree.uploadAt(k)
		if err != nil {
			return nil, err
		}
		if n == limit {
			out.Truncated = true
			if inclusive {
				out.NextKeyMarker, out.NextUploadIdMarker = up.Key, up.VersionId
			}
			break
		}
		out.Uploads = append(out.Uploads, up)
		if !inclusive {
			out.NextKeyMarker, out.NextUploadIdMarker = up.Key, up.VersionId
		}
		n++
		k, _ = c.Next()
	}
	if !out.Truncated {
		out.NextKeyMarker, out.NextUploadIdMarker = "", ""
	}
	return out, nil
}

// ListParts returns up to limit parts of an upload from part number start
// (inclusive) and the number to continue at (0 when this page is the last).
func (r *Reader) ListParts(bucketID, uploadID string, start int32, limit int) ([]*metadatav1.Part, int32, error) {
	tree, ok := r.s.objects(bucketID)
	if !ok {
		return nil, 0, uploadNotFound(opListParts, bucketID, uploadID)
	}
	up, _, err := tree.upload(uploadID)
	if err != nil {
		return nil, 0, err
	}
	if up == nil {
		return nil, 0, uploadNotFound(opListParts, bucketID, uploadID)
	}
	var out []*metadatav1.Part
	p := partsOf(uploadID)
	c := tree.parts.Cursor()
	for k, data := c.Seek(partKey(uploadID, max(start, 0))); k != nil && bytes.HasPrefix(k, p) && len(k) == len(p)+4; k, data = c.Next() {
		part, err := decodePart(data)
		if err != nil {
			return nil, 0, err
		}
		if len(out) == limit {
			return out, part.PartNumber, nil
		}
		out = append(out, part)
	}
	return out, 0, nil
}
