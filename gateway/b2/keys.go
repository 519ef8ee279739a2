package b2

import (
	"net/http"
	"strings"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Application keys and download authorizations (spec/b2-native.md §6.5,
// §10). authd creates and checks them; this front-end authorizes the caller
// and renders each version's shape.

// Limits on keys and download authorizations.
const (
	maxKeyDuration      = 86_400_000 // seconds: 1000 days
	maxDownloadDuration = 604_800    // seconds: 7 days
	defaultKeyCount     = 100
	maxKeyCount         = 10000
)

type createKeyRequest struct {
	AccountID              string    `json:"accountId"`
	Capabilities           *[]string `json:"capabilities"`
	KeyName                string    `json:"keyName"`
	ValidDurationInSeconds *num      `json:"validDurationInSeconds"`
	// v1–v3 name one bucket, v4 a list; both are accepted on every version.
	BucketID   *string   `json:"bucketId"`
	BucketIDs  *[]string `json:"bucketIds"`
	NamePrefix *string   `json:"namePrefix"`
	req        *authv1.CreateKeyRequest
}

func (q *createKeyRequest) check() (err error) {
	q.req, err = q.parse()
	return err
}

func (q *createKeyRequest) parse() (*authv1.CreateKeyRequest, error) {
	if q.AccountID == "" {
		return nil, required("accountId")
	}
	if q.Capabilities == nil || len(*q.Capabilities) == 0 {
		return nil, required("capabilities")
	}
	if q.KeyName == "" {
		return nil, required("keyName")
	}
	d, err := intParam("validDurationInSeconds", q.ValidDurationInSeconds, 0, 1, maxKeyDuration)
	if err != nil {
		return nil, err
	}
	out := &authv1.CreateKeyRequest{Name: q.KeyName, Capabilities: *q.Capabilities, ValidDurationSeconds: d}
	switch {
	case q.BucketID != nil && q.BucketIDs != nil:
		return nil, bad("give bucketId or bucketIds, not both")
	case q.BucketID != nil && *q.BucketID != "":
		out.BucketIds = []string{*q.BucketID}
	case q.BucketIDs != nil:
		out.BucketIds = *q.BucketIDs
	}
	if len(out.BucketIds) > 100 {
		return nil, bad("a key may name at most 100 buckets")
	}
	if q.NamePrefix != nil {
		out.NamePrefix = *q.NamePrefix
	}
	return out, nil
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var q createKeyRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	req := q.req
	if err := checkAccount(c, q.AccountID); err != nil {
		return err
	}
	if err := h.decide(c, &authv1.Access{Capability: policy.WriteKeys}); err != nil {
		return err
	}
	for _, id := range req.GetBucketIds() {
		if _, err := h.bucketByID(r, id); err != nil {
			return err
		}
	}
	// authd checks the caller's token again: minting a key always takes
	// the credentials of a key that may, never just reach.
	req.AccountToken = c.token
	resp, err := h.auth.CreateKey(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, keyOf(c.route.Version, resp.GetKey(), resp.GetSecret()))
}

type listKeysRequest struct {
	AccountID             string `json:"accountId"`
	MaxKeyCount           *num   `json:"maxKeyCount"`
	StartApplicationKeyID string `json:"startApplicationKeyId"`
	count                 int64
}

func (q *listKeysRequest) check() (err error) {
	if q.AccountID == "" {
		return required("accountId")
	}
	q.count, err = countParam("maxKeyCount", q.MaxKeyCount, defaultKeyCount, maxKeyCount)
	return err
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	var q listKeysRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	n := q.count
	if err := checkAccount(c, q.AccountID); err != nil {
		return err
	}
	if err := h.decide(c, &authv1.Access{Capability: policy.ListKeys}); err != nil {
		return err
	}
	resp, err := h.auth.ListKeys(r.Context(), &authv1.ListKeysRequest{PageSize: int32(n), StartKeyId: q.StartApplicationKeyID, AccountToken: c.token})
	if err != nil {
		return err
	}
	out := struct {
		Keys                 []keyJSON `json:"keys"`
		NextApplicationKeyID *string   `json:"nextApplicationKeyId"`
	}{Keys: []keyJSON{}}
	for _, k := range resp.GetKeys() {
		out.Keys = append(out.Keys, keyOf(c.route.Version, k, ""))
	}
	if next := resp.GetNextKeyId(); next != "" {
		out.NextApplicationKeyID = &next
	}
	return writeJSON(w, out)
}

type deleteKeyRequest struct {
	ApplicationKeyID string `json:"applicationKeyId"`
}

func (q *deleteKeyRequest) check() error {
	if q.ApplicationKeyID == "" {
		return required("applicationKeyId")
	}
	return nil
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var q deleteKeyRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	if err := h.decide(c, &authv1.Access{Capability: policy.DeleteKeys}); err != nil {
		return err
	}
	resp, err := h.auth.DeleteKey(r.Context(), &authv1.DeleteKeyRequest{KeyId: q.ApplicationKeyID, AccountToken: c.token})
	if err != nil {
		return err
	}
	return writeJSON(w, keyOf(c.route.Version, resp.GetKey(), ""))
}

type getDownloadAuthorizationRequest struct {
	BucketID               string  `json:"bucketId"`
	FileNamePrefix         *string `json:"fileNamePrefix"`
	ValidDurationInSeconds *num    `json:"validDurationInSeconds"`
	// The b2Content* overrides the token binds (download.go).
	B2ContentDisposition string `json:"b2ContentDisposition"`
	B2ContentLanguage    string `json:"b2ContentLanguage"`
	B2Expires            string `json:"b2Expires"`
	B2CacheControl       string `json:"b2CacheControl"`
	B2ContentEncoding    string `json:"b2ContentEncoding"`
	B2ContentType        string `json:"b2ContentType"`
	duration             int64
}

func (q *getDownloadAuthorizationRequest) check() (err error) {
	if q.BucketID == "" {
		return required("bucketId")
	}
	if q.FileNamePrefix == nil {
		return required("fileNamePrefix")
	}
	if q.ValidDurationInSeconds == nil {
		return required("validDurationInSeconds")
	}
	if q.duration, err = intParam("validDurationInSeconds", q.ValidDurationInSeconds, 0, 1, maxDownloadDuration); err != nil {
		return err
	}
	total := 0
	for _, v := range []string{q.B2ContentDisposition, q.B2ContentLanguage, q.B2Expires, q.B2CacheControl, q.B2ContentEncoding, q.B2ContentType} {
		if strings.ContainsAny(v, "\r\n") {
			return errs.Errorf(errs.InvalidArgument, "b2.getDownloadAuthorization", "b2Content* values must be single header values")
		}
		total += len(v)
	}
	if total > maxOverrideBytes {
		return errs.Errorf(errs.InvalidArgument, "b2.getDownloadAuthorization", "b2Content* values must total at most %d bytes", maxOverrideBytes)
	}
	return nil
}

// maxOverrideBytes bounds the b2Content* values a download authorization
// carries (they travel inside the token).
const maxOverrideBytes = 2048

func (q *getDownloadAuthorizationRequest) overrides() *authv1.DownloadOverrides {
	return &authv1.DownloadOverrides{
		ContentDisposition: q.B2ContentDisposition, ContentLanguage: q.B2ContentLanguage, Expires: q.B2Expires,
		CacheControl: q.B2CacheControl, ContentEncoding: q.B2ContentEncoding, ContentType: q.B2ContentType,
	}
}

func (h *Handler) getDownloadAuthorization(w http.ResponseWriter, r *http.Request, c *call) error {
	var q getDownloadAuthorizationRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	d := q.duration
	if _, err := h.authorizedBucket(r, c, q.BucketID, policy.ShareFiles, *q.FileNamePrefix); err != nil {
		return err
	}
	resp, err := h.auth.CreateDownloadAuthorization(r.Context(), &authv1.CreateDownloadAuthorizationRequest{
		AccountToken: c.token, BucketId: q.BucketID, FileNamePrefix: *q.FileNamePrefix, ValidDurationSeconds: d,
		Overrides: q.overrides(),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, struct {
		BucketID           string `json:"bucketId"`
		FileNamePrefix     string `json:"fileNamePrefix"`
		AuthorizationToken string `json:"authorizationToken"`
	}{q.BucketID, *q.FileNamePrefix, resp.GetAuthorizationToken()})
}
