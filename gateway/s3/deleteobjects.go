package s3

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"sync"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// deleteObjectsWorkers bounds the deletions of one DeleteObjects request
// in flight: each is a Raft commit, so a few at a time keep a 1000-key
// request short without letting one client monopolise metadata.
const deleteObjectsWorkers = 8

type deleteObjectsIn struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       *string `xml:"Key"`
		VersionID string  `xml:"VersionId"`
	} `xml:"Object"`
}

type deletedEntry struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type deleteErrorEntry struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

type deleteResult struct {
	XMLName xml.Name           `xml:"DeleteResult"`
	NS      string             `xml:"xmlns,attr"`
	Deleted []deletedEntry     `xml:"Deleted"`
	Errors  []deleteErrorEntry `xml:"Error"`
}

// deleteTarget is one key (and optional version) to delete.
type deleteTarget struct {
	key, versionID string
}

// parseDeleteObjects parses a Delete document: 1 to 1000 objects, each
// with a key.
func parseDeleteObjects(body []byte) (quiet bool, targets []deleteTarget, err error) {
	const op = "s3.DeleteObjects"
	var in deleteObjectsIn
	if err := decodeXML(body, &in); err != nil {
		return false, nil, err
	}
	if len(in.Objects) == 0 || len(in.Objects) > maxDeleteObjectsKeys {
		return false, nil, errs.Errorf(errs.MalformedBody, op, "A Delete request names 1 to %d objects.", maxDeleteObjectsKeys)
	}
	targets = make([]deleteTarget, 0, len(in.Objects))
	for _, o := range in.Objects {
		if o.Key == nil {
			return false, nil, errs.Errorf(errs.MalformedBody, op, "Every Object needs a Key.")
		}
		targets = append(targets, deleteTarget{key: *o.Key, versionID: strings.TrimSpace(o.VersionID)})
	}
	return in.Quiet, targets, nil
}

// deleteObjects deletes up to 1000 keys. Each key is authorized and
// deleted on its own, exactly as DeleteObject would (writeFiles to add a
// delete marker, deleteFiles to remove a version; Object Lock applies), and
// fails alone: the answer lists each outcome, and only failures in quiet
// mode.
func (h *Handler) deleteObjects(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := h.configBody(r, c, maxDeleteObjectsBody, true)
	if err != nil {
		return err
	}
	quiet, targets, err := parseDeleteObjects(body)
	if err != nil {
		return err
	}
	bypassAsked := strings.EqualFold(strings.TrimSpace(r.Header.Get("x-amz-bypass-governance-retention")), "true")
	deleted := make([]*deletedEntry, len(targets))
	failed := make([]*deleteErrorEntry, len(targets))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(deleteObjectsWorkers, len(targets)) {
		wg.Go(func() {
			for i := range next {
				d, err := h.deleteOne(r.Context(), c, targets[i], bypassAsked)
				if err != nil {
					ae, _ := toAPIError(err)
					failed[i] = &deleteErrorEntry{Key: targets[i].key, VersionID: targets[i].versionID, Code: ae.Code, Message: ae.Message}
					continue
				}
				deleted[i] = d
			}
		})
	}
	for i := range targets {
		next <- i
	}
	close(next)
	wg.Wait()
	res := deleteResult{NS: s3NS}
	for i := range targets {
		if failed[i] != nil {
			res.Errors = append(res.Errors, *failed[i])
		} else if !quiet {
			res.Deleted = append(res.Deleted, *deleted[i])
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// deleteOne deletes one key or version on behalf of a DeleteObjects call.
func (h *Handler) deleteOne(ctx context.Context, c *call, t deleteTarget, bypassAsked bool) (*deletedEntry, error) {
	if err := objects.ValidateKey(t.key); err != nil {
		return nil, err
	}
	out := &deletedEntry{Key: t.key, VersionID: t.versionID}
	if t.versionID == "" {
		if err := h.allow(c, policy.WriteFiles, t.key); err != nil {
			return nil, err
		}
		marker, err := h.objects.Hide(ctx, &metadatav1.HideObjectRequest{BucketId: c.bucket.GetBucketId(), Key: t.key})
		switch {
		case err == nil:
			out.DeleteMarker, out.DeleteMarkerVersionID = true, marker.GetVersionId()
		case errs.Is(err, errs.ObjectNotFound):
		default:
			return nil, err
		}
		return out, nil
	}
	if err := h.allow(c, policy.DeleteFiles, t.key); err != nil {
		return nil, err
	}
	bypass := false
	if bypassAsked {
		if err := h.allow(c, policy.BypassGovernance, t.key); err != nil {
			return nil, err
		}
		bypass = true
	}
	v, err := h.objects.DeleteVersion(ctx, &metadatav1.DeleteObjectVersionRequest{
		BucketId: c.bucket.GetBucketId(), Key: t.key, VersionId: t.versionID, BypassGovernance: bypass,
	})
	switch {
	case err == nil:
		if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
			out.DeleteMarker, out.DeleteMarkerVersionID = true, v.GetVersionId()
		}
	case errs.Is(err, errs.VersionNotFound), errs.Is(err, errs.ObjectNotFound):
		// Deleting what is not there succeeds, as on S3.
	default:
		return nil, err
	}
	return out, nil
}
