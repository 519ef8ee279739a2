package b2

import (
	"net/http"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// File lock calls (spec/b2-native.md §5.17, §5.18). Metadata enforces the
// rules: compliance only extends, governance shortens only with
// bypassGovernance, and deleting a protected version is refused.

type fileRetentionJSON struct {
	Mode                 *string `json:"mode"`
	RetainUntilTimestamp *num    `json:"retainUntilTimestamp"`
}

type updateFileRetentionRequest struct {
	FileName         string             `json:"fileName"`
	FileID           string             `json:"fileId"`
	FileRetention    *fileRetentionJSON `json:"fileRetention"`
	BypassGovernance bool               `json:"bypassGovernance"`
	retention        *metadatav1.Retention
}

func (q *updateFileRetentionRequest) check() (err error) {
	q.retention, err = q.parse()
	return err
}

func (q *updateFileRetentionRequest) parse() (*metadatav1.Retention, error) {
	if q.FileName == "" {
		return nil, required("fileName")
	}
	if q.FileID == "" {
		return nil, required("fileId")
	}
	if q.FileRetention == nil {
		return nil, required("fileRetention")
	}
	mode, err := parseRetentionMode(q.FileRetention.Mode)
	if err != nil {
		return nil, err
	}
	out := &metadatav1.Retention{Mode: mode}
	if mode == metadatav1.RetentionMode_RETENTION_MODE_UNSPECIFIED {
		if q.FileRetention.RetainUntilTimestamp != nil {
			return nil, bad("retainUntilTimestamp needs a mode")
		}
		return out, nil
	}
	until, err := intParam("retainUntilTimestamp", q.FileRetention.RetainUntilTimestamp, -1, 1, 1<<53)
	if err != nil {
		return nil, err
	}
	if until < 0 {
		return nil, required("retainUntilTimestamp")
	}
	out.RetainUntilUnixMillis = until
	return out, nil
}

// lockTarget authorizes a file lock change on (fileName, fileId).
func (h *Handler) lockTarget(c *call, name, fileID, capability string, bypass bool) (string, error) {
	bucketID := bucketOfFileID(fileID)
	if bucketID == "" {
		return "", errs.Errorf(errs.VersionNotFound, "b2.fileLock", "File not present")
	}
	access := &authv1.Access{Capability: capability, BucketId: bucketID, Name: name}
	if err := h.decide(c, access); err != nil {
		return "", err
	}
	if bypass {
		access.Capability = policy.BypassGovernance
		if err := h.decide(c, access); err != nil {
			return "", err
		}
	}
	return bucketID, nil
}

func (h *Handler) updateFileRetention(w http.ResponseWriter, r *http.Request, c *call) error {
	var q updateFileRetentionRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	ret := q.retention
	bucketID, err := h.lockTarget(c, q.FileName, q.FileID, policy.WriteFileRetentions, q.BypassGovernance)
	if err != nil {
		return err
	}
	resp, err := h.meta.UpdateObjectRetention(r.Context(), &metadatav1.UpdateObjectRetentionRequest{
		BucketId: bucketID, Key: q.FileName, VersionId: q.FileID, Retention: ret,
		BypassGovernance: q.BypassGovernance, RequestId: c.id,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, struct {
		FileName      string        `json:"fileName"`
		FileID        string        `json:"fileId"`
		FileRetention retentionJSON `json:"fileRetention"`
	}{q.FileName, q.FileID, retentionOf(resp.GetVersion().GetRetention())})
}

type updateFileLegalHoldRequest struct {
	FileName  string `json:"fileName"`
	FileID    string `json:"fileId"`
	LegalHold string `json:"legalHold"`
	hold      metadatav1.LegalHold
}

func (q *updateFileLegalHoldRequest) check() error {
	if q.FileName == "" {
		return required("fileName")
	}
	if q.FileID == "" {
		return required("fileId")
	}
	switch q.LegalHold {
	case "on":
		q.hold = metadatav1.LegalHold_LEGAL_HOLD_ON
	case "off":
		q.hold = metadatav1.LegalHold_LEGAL_HOLD_OFF
	case "":
		return required("legalHold")
	default:
		return bad(`legalHold must be "on" or "off"`)
	}
	return nil
}

func (h *Handler) updateFileLegalHold(w http.ResponseWriter, r *http.Request, c *call) error {
	var q updateFileLegalHoldRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	hold := q.hold
	bucketID, err := h.lockTarget(c, q.FileName, q.FileID, policy.WriteFileLegalHolds, false)
	if err != nil {
		return err
	}
	resp, err := h.meta.UpdateObjectLegalHold(r.Context(), &metadatav1.UpdateObjectLegalHoldRequest{
		BucketId: bucketID, Key: q.FileName, VersionId: q.FileID, LegalHold: hold, RequestId: c.id,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, struct {
		FileName  string `json:"fileName"`
		FileID    string `json:"fileId"`
		LegalHold any    `json:"legalHold"`
	}{q.FileName, q.FileID, legalHoldName(resp.GetVersion().GetLegalHold())})
}
