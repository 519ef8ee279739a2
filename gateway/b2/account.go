package b2

import (
	"io"
	"net/http"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// The b2_authorize_account response differs most between versions
// (spec/b2-native.md §2.2, §11): v1 and v2 are flat, v3 groups the storage
// fields under apiInfo.storageApi, v4 moves the key's scope into
// storageApi.allowed with a list of buckets.

// allowedV2 is v1–v3's key scope (v1 has no bucketName).
type allowedV2 struct {
	Capabilities []string `json:"capabilities"`
	BucketID     *string  `json:"bucketId"`
	BucketName   any      `json:"bucketName,omitempty"`
	NamePrefix   *string  `json:"namePrefix"`
}

// authorizeV2 is the flat v1/v2 response.
type authorizeV2 struct {
	AccountID               string    `json:"accountId"`
	AuthorizationToken      string    `json:"authorizationToken"`
	Allowed                 allowedV2 `json:"allowed"`
	APIURL                  string    `json:"apiUrl"`
	DownloadURL             string    `json:"downloadUrl"`
	S3APIURL                string    `json:"s3ApiUrl"`
	RecommendedPartSize     int64     `json:"recommendedPartSize"`
	AbsoluteMinimumPartSize int64     `json:"absoluteMinimumPartSize"`
	// MinimumPartSize is v1's name for the recommended size; CLI 1.3.0
	// indexes it, so it is sent on v1 (and is harmless on v2).
	MinimumPartSize int64  `json:"minimumPartSize"`
	KeyExpiration   *int64 `json:"applicationKeyExpirationTimestamp"`
}

// storageAPIV3 is v3's apiInfo.storageApi.
type storageAPIV3 struct {
	InfoType                string   `json:"infoType"`
	APIURL                  string   `json:"apiUrl"`
	DownloadURL             string   `json:"downloadUrl"`
	S3APIURL                string   `json:"s3ApiUrl"`
	RecommendedPartSize     int64    `json:"recommendedPartSize"`
	AbsoluteMinimumPartSize int64    `json:"absoluteMinimumPartSize"`
	Capabilities            []string `json:"capabilities"`
	BucketID                *string  `json:"bucketId"`
	BucketName              *string  `json:"bucketName"`
	NamePrefix              *string  `json:"namePrefix"`
}

// bucketRef names one bucket of a v4 key scope; name is null for a bucket
// that was deleted.
type bucketRef struct {
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

// allowedV4 is v4's key scope; buckets is null for an unrestricted key.
type allowedV4 struct {
	Capabilities []string     `json:"capabilities"`
	Buckets      *[]bucketRef `json:"buckets"`
	NamePrefix   *string      `json:"namePrefix"`
}

// storageAPIV4 is v4's apiInfo.storageApi.
type storageAPIV4 struct {
	APIURL                  string    `json:"apiUrl"`
	DownloadURL             string    `json:"downloadUrl"`
	S3APIURL                string    `json:"s3ApiUrl"`
	RecommendedPartSize     int64     `json:"recommendedPartSize"`
	AbsoluteMinimumPartSize int64     `json:"absoluteMinimumPartSize"`
	Allowed                 allowedV4 `json:"allowed"`
}

// authorizeV3 is the grouped v3/v4 response.
type authorizeV3 struct {
	AccountID          string `json:"accountId"`
	AuthorizationToken string `json:"authorizationToken"`
	KeyExpiration      *int64 `json:"applicationKeyExpirationTimestamp"`
	APIInfo            struct {
		StorageAPI any `json:"storageApi"`
	} `json:"apiInfo"`
}

// authorizeAccount is b2_authorize_account: Basic credentials in, an
// account token and the endpoints out. GET as documented, POST with {} as
// b2sdk and the old CLI send it.
func (h *Handler) authorizeAccount(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "b2.authorizeAccount"
	id, secret, err := basicAuth(r)
	if err != nil {
		return err
	}
	// Whatever the body holds ({} from old clients), it carries nothing.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxJSONBody))
	resp, err := h.auth.AuthorizeAccount(r.Context(), &authv1.AuthorizeAccountRequest{KeyId: id, Secret: secret})
	if err != nil {
		return err
	}
	p := resp.GetPrincipal()
	c.principal = p
	c.ex.KeyID = p.GetKeyId()
	ver := c.route.Version
	if ver < 4 && len(p.GetBucketIds()) > 1 {
		return withCode(errs.Errorf(errs.PermissionDenied, op,
			"this application key is restricted to several buckets; use API version v4"), 401, "unsupported")
	}
	api, base := h.apiBase(r), h.publicBase(r)
	part := h.cfg.RecommendedPartSize
	caps := nonNil(p.GetCapabilities())
	var prefix *string
	if np := p.GetNamePrefix(); np != "" {
		prefix = &np
	}
	var keyExp *int64
	if exp := p.GetExpirationTimeUnixMillis(); exp != 0 {
		keyExp = &exp
	}
	refs, err := h.bucketRefs(r, p.GetBucketIds())
	if err != nil {
		return err
	}
	var bucketID, bucketName *string
	if len(refs) == 1 {
		bucketID, bucketName = &refs[0].ID, refs[0].Name
	}
	switch ver {
	case 1, 2:
		out := authorizeV2{
			AccountID: p.GetAccountId(), AuthorizationToken: resp.GetAuthorizationToken(),
			Allowed: allowedV2{Capabilities: caps, BucketID: bucketID, NamePrefix: prefix},
			APIURL:  api, DownloadURL: base, S3APIURL: base,
			RecommendedPartSize: part, AbsoluteMinimumPartSize: absoluteMinimumPartSize,
			MinimumPartSize: part, KeyExpiration: keyExp,
		}
		if ver == 2 {
			// v1 had no bucketName; v2 sends it, null when unrestricted.
			if bucketName != nil {
				out.Allowed.BucketName = *bucketName
			} else {
				out.Allowed.BucketName = jsonNull
			}
		}
		return writeJSON(w, out)
	}
	out := authorizeV3{AccountID: p.GetAccountId(), AuthorizationToken: resp.GetAuthorizationToken(), KeyExpiration: keyExp}
	if ver == 3 {
		out.APIInfo.StorageAPI = storageAPIV3{
			InfoType: "storageApi", APIURL: api, DownloadURL: base, S3APIURL: base,
			RecommendedPartSize: part, AbsoluteMinimumPartSize: absoluteMinimumPartSize,
			Capabilities: caps, BucketID: bucketID, BucketName: bucketName, NamePrefix: prefix,
		}
		return writeJSON(w, out)
	}
	allowed := allowedV4{Capabilities: caps, NamePrefix: prefix}
	if len(refs) > 0 {
		allowed.Buckets = &refs
	}
	out.APIInfo.StorageAPI = storageAPIV4{
		APIURL: api, DownloadURL: base, S3APIURL: base,
		RecommendedPartSize: part, AbsoluteMinimumPartSize: absoluteMinimumPartSize,
		Allowed: allowed,
	}
	return writeJSON(w, out)
}

// bucketRefs names a key's buckets; a bucket that no longer exists keeps
// its id with a null name, as B2 shows it.
func (h *Handler) bucketRefs(r *http.Request, ids []string) ([]bucketRef, error) {
	refs := make([]bucketRef, 0, len(ids))
	for _, id := range ids {
		ref := bucketRef{ID: id}
		resp, err := h.meta.GetBucket(r.Context(), &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: id}})
		switch {
		case err == nil:
			name := resp.GetBucket().GetName()
			ref.Name = &name
		case !errs.Is(err, errs.BucketNotFound):
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}
