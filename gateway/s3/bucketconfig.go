package s3

import (
	"encoding/xml"
	"net/http"
	"strings"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Bucket settings that map onto B2 bucket fields: versioning (always on),
// canned ACLs (bucketType), default encryption and Object Lock.

// updateBucket applies one settings change and returns the updated bucket.
func (h *Handler) updateBucket(r *http.Request, c *call, u *metadatav1.UpdateBucketRequest) (*metadatav1.Bucket, error) {
	u.BucketId = c.bucket.GetBucketId()
	resp, err := h.meta.UpdateBucket(r.Context(), u)
	if err != nil {
		return nil, err
	}
	return resp.GetBucket(), nil
}

type versioningPut struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Status    string   `xml:"Status"`
	MfaDelete string   `xml:"MfaDelete"`
}

// putBucketVersioning accepts Enabled (buckets are always versioned, as on
// B2) and refuses Suspended, which B2 cannot do (spec/s3.md §4).
func (h *Handler) putBucketVersioning(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.PutBucketVersioning"
	body, err := h.configBody(r, c, maxConfigBody, false)
	if err != nil {
		return err
	}
	var v versioningPut
	if err := decodeXML(body, &v); err != nil {
		return err
	}
	switch v.MfaDelete {
	case "", "Disabled":
	case "Enabled":
		return errs.Errorf(errs.Unimplemented, op, "MFA Delete is not supported.")
	default:
		return errs.Errorf(errs.MalformedBody, op, "The MfaDelete value must be Enabled or Disabled.")
	}
	switch v.Status {
	case "", "Enabled":
	case "Suspended":
		if c.bucket.GetFileLock().GetEnabled() {
			return errs.Errorf(errs.InvalidBucketState, op, "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
		}
		return errs.Errorf(errs.InvalidArgument, op, "Versioning cannot be suspended: buckets are always versioned.").
			WithDetail("argument_name", "Status")
	default:
		return errs.Errorf(errs.MalformedBody, op, "The versioning status must be Enabled or Suspended.")
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// ACLs: two canned states only (spec/s3.md §6.8).

const allUsersURI = "http://acs.amazonaws.com/groups/global/AllUsers"

type aclGrantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

type aclGrant struct {
	Grantee    aclGrantee `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type accessControlPolicy struct {
	XMLName xml.Name   `xml:"AccessControlPolicy"`
	NS      string     `xml:"xmlns,attr"`
	Owner   owner      `xml:"Owner"`
	Grants  []aclGrant `xml:"AccessControlList>Grant"`
}

// aclPut is an AccessControlPolicy as clients send it; the grantee's
// xsi:type is not needed (a URI means a group, an ID or email a user).
type aclPut struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Grants  []struct {
		Grantee struct {
			ID           string `xml:"ID"`
			URI          string `xml:"URI"`
			EmailAddress string `xml:"EmailAddress"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

func aclPolicy(b *metadatav1.Bucket) accessControlPolicy {
	own := owner{ID: b.GetAccountId()}
	p := accessControlPolicy{NS: s3NS, Owner: own, Grants: []aclGrant{{
		Grantee:    aclGrantee{XMLNSXSI: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: own.ID, DisplayName: own.DisplayName},
		Permission: "FULL_CONTROL",
	}}}
	if bucketACL(b) == "public-read" {
		p.Grants = append(p.Grants, aclGrant{
			Grantee:    aclGrantee{XMLNSXSI: "http://www.w3.org/2001/XMLSchema-instance", Type: "Group", URI: allUsersURI},
			Permission: "READ",
		})
	}
	return p
}

// requestedACL is the canned ACL a Put*Acl asks for, from x-amz-acl or an
// AccessControlPolicy body that amounts to one.
func (h *Handler) requestedACL(r *http.Request, c *call, op string) (string, error) {
	for name := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-grant-") {
			return "", errs.Errorf(errs.Unimplemented, op, "Only the canned ACLs private and public-read are supported.")
		}
	}
	body, err := h.configBody(r, c, maxConfigBody, false)
	if err != nil {
		return "", err
	}
	if canned := r.Header.Get("x-amz-acl"); canned != "" {
		if len(strings.TrimSpace(string(body))) > 0 {
			return "", errs.Errorf(errs.InvalidRequest, op, "Specify either x-amz-acl or an AccessControlPolicy body, not both.")
		}
		if canned != "private" && canned != "public-read" {
			return "", errs.Errorf(errs.InvalidArgument, op, "Only the canned ACLs private and public-read are supported.").
				WithDetail("argument_name", "x-amz-acl")
		}
		return canned, nil
	}
	var p aclPut
	if err := decodeXML(body, &p); err != nil {
		return "", err
	}
	acl := "private"
	for _, g := range p.Grants {
		switch {
		case g.Grantee.URI == "" && g.Grantee.EmailAddress == "" && (g.Grantee.ID == "" || g.Grantee.ID == c.bucket.GetAccountId()):
			// The owner's own grant: always FULL_CONTROL here.
		case g.Grantee.URI == allUsersURI && g.Permission == "READ":
			acl = "public-read"
		default:
			return "", errs.Errorf(errs.Unimplemented, op, "Only the canned ACLs private and public-read are supported.")
		}
	}
	return acl, nil
}

func (h *Handler) getBucketACL(w http.ResponseWriter, _ *http.Request, c *call) error {
	writeXML(w, http.StatusOK, aclPolicy(c.bucket))
	return nil
}

func (h *Handler) putBucketACL(w http.ResponseWriter, r *http.Request, c *call) error {
	acl, err := h.requestedACL(r, c, "s3.PutBucketAcl")
	if err != nil {
		return err
	}
	typ := metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE
	if acl == "public-read" {
		typ = metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC
	}
	if typ != c.bucket.GetType() {
		if _, err := h.updateBucket(r, c, &metadatav1.UpdateBucketRequest{Type: &typ}); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getObjectACL answers the bucket's ACL for an existing object: objects
// inherit it (B2 has no per-object ACL).
func (h *Handler) getObjectACL(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := h.objectVersion(r, c); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, aclPolicy(c.bucket))
	return nil
}

// putObjectACL accepts only the bucket's own ACL; any other is refused
// with 403, as B2 does.
func (h *Handler) putObjectACL(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.PutObjectAcl"
	if _, err := h.objectVersion(r, c); err != nil {
		return err
	}
	acl, err := h.requestedACL(r, c, op)
	if err != nil {
		return err
	}
	if acl != bucketACL(c.bucket) {
		return errs.Errorf(errs.PermissionDenied, op, "Object ACLs must equal the bucket's ACL (%s).", bucketACL(c.bucket))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// objectVersion reads the version a request names (versionId, or the
// current one); a delete marker is not an object.
func (h *Handler) objectVersion(r *http.Request, c *call) (*metadatav1.ObjectVersion, error) {
	versionID := r.URL.Query().Get("versionId")
	resp, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{
		BucketId: c.bucket.GetBucketId(), Key: c.req.Key, VersionId: versionID,
	})
	if err != nil {
		if e := errs.As(err); e != nil {
			e.WithKey(c.req.Key)
			if versionID != "" && e.Kind == errs.ObjectNotFound {
				e.WithDetail("by_version", "true")
			}
		}
		return nil, err
	}
	v := resp.GetVersion()
	switch v.GetAction() {
	case metadatav1.VersionAction_VERSION_ACTION_UPLOAD:
		return v, nil
	case metadatav1.VersionAction_VERSION_ACTION_HIDE:
		return nil, errs.E(errs.MethodNotAllowed, "s3.object", nil).WithDetail("delete_marker", "true").WithDetail("version_id", v.GetVersionId())
	}
	return nil, errs.E(errs.VersionNotFound, "s3.object", nil).WithKey(c.req.Key)
}

// Default encryption: SSE-B2, shown to S3 as AES256 (spec/s3.md §6.6).

type sseRule struct {
	Apply struct {
		SSEAlgorithm   string `xml:"SSEAlgorithm"`
		KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
	} `xml:"ApplyServerSideEncryptionByDefault"`
	BucketKeyEnabled *bool `xml:"BucketKeyEnabled"`
}

type sseConfiguration struct {
	XMLName xml.Name  `xml:"ServerSideEncryptionConfiguration"`
	NS      string    `xml:"xmlns,attr,omitempty"`
	Rules   []sseRule `xml:"Rule"`
}

func (h *Handler) getBucketEncryption(w http.ResponseWriter, _ *http.Request, c *call) error {
	if c.bucket.GetDefaultEncryption().GetMode() != metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 {
		return errs.E(errs.NoSuchConfiguration, "s3.GetBucketEncryption", nil).WithDetail("config", "encryption").WithBucket(c.req.Bucket)
	}
	rule := sseRule{}
	rule.Apply.SSEAlgorithm = "AES256"
	no := false
	rule.BucketKeyEnabled = &no
	writeXML(w, http.StatusOK, sseConfiguration{NS: s3NS, Rules: []sseRule{rule}})
	return nil
}

func (h *Handler) putBucketEncryption(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.PutBucketEncryption"
	body, err := h.configBody(r, c, maxConfigBody, false)
	if err != nil {
		return err
	}
	var cfg sseConfiguration
	if err := decodeXML(body, &cfg); err != nil {
		return err
	}
	if len(cfg.Rules) != 1 {
		return errs.Errorf(errs.MalformedBody, op, "A server-side encryption configuration has exactly one rule.")
	}
	switch alg := cfg.Rules[0].Apply.SSEAlgorithm; {
	case alg == "AES256":
	case strings.HasPrefix(alg, "aws:kms"):
		return errs.Errorf(errs.Unimplemented, op, "Server-side encryption with KMS keys is not supported.")
	default:
		return errs.Errorf(errs.MalformedBody, op, "The SSE algorithm must be AES256.")
	}
	if _, err := h.updateBucket(r, c, &metadatav1.UpdateBucketRequest{DefaultEncryption: &metadatav1.ServerSideEncryption{
		Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2, Algorithm: "AES256",
	}}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucketEncryption(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := h.updateBucket(r, c, &metadatav1.UpdateBucketRequest{DefaultEncryption: &metadatav1.ServerSideEncryption{
		Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_NONE,
	}}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
