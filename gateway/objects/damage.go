package objects

import (
	"errors"
	"io"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// When metadata says a version exists but its bytes cannot be read, the
// truth is a server fault, not a missing object: a sync tool told 404
// would conclude the object is gone and delete its own copy. So a blob
// that is missing, corrupt or shorter than its version says becomes
// DataLoss (500 InternalError / internal_error in the dialects), is logged
// at ERROR with its blob id, and is reported to blobstore, which verifies
// it and rebuilds what it can (blobstore/DESIGN.md, "Healing").

// DamageReporter is implemented by a Blobs that can have a blob checked and
// repaired by the nodes holding it (blobstore/client). Reports must not
// block the caller.
type DamageReporter interface {
	ReportDamage(p *metadatav1.BlobPlacement, err error)
}

// unreadable turns a read failure of a segment's blob into the error the
// client gets. Failures that say the bytes are not there (missing, corrupt,
// short) become DataLoss, logged and reported; transient ones (a node
// down, the client gone) pass unchanged.
func (l *Layer) unreadable(v *metadatav1.ObjectVersion, seg *metadatav1.Segment, err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	switch errs.KindOf(err) {
	case errs.ObjectNotFound, errs.DataLoss, errs.InvalidRange:
	default:
		return err
	}
	p := seg.GetPlacement()
	l.log.Error("object bytes unreadable; blob reported to blobstore", "bucket_id", v.GetBucketId(), "key", v.GetKey(),
		"version_id", v.GetVersionId(), "blob_id", p.GetBlobId(), "err", err)
	if r, ok := l.blobs.(DamageReporter); ok {
		r.ReportDamage(p, err)
	}
	return errs.E(errs.DataLoss, "objects.Open", err).WithDetail("blob_id", p.GetBlobId())
}
