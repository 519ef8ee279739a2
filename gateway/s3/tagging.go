package s3

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Object tagging (Get/Put/DeleteObjectTagging, x-amz-tagging on writes,
// x-amz-tagging-count on reads). Tags live in the version's metadata
// record; metadata replaces them with one Raft command, so a tag change is
// atomic and never touches the bytes. Reading tags needs readFiles and
// changing them writeFiles: B2 has no tagging capabilities, and a tag is
// object metadata like x-amz-meta-*, which the same capabilities govern.

// maxTaggingBody bounds a PutObjectTagging body: ten tags of 128 + 256
// characters of up to 4 bytes each, XML-escaped, fit well within it.
const maxTaggingBody = 64 << 10

type tagXML struct {
	Key   *string `xml:"Key"`
	Value *string `xml:"Value"`
}

type tagSetXML struct {
	Tags []tagXML `xml:"Tag"`
}

// tagging is S3's Tagging document, in requests and responses.
type tagging struct {
	XMLName xml.Name   `xml:"Tagging"`
	NS      string     `xml:"xmlns,attr,omitempty"`
	TagSet  *tagSetXML `xml:"TagSet"`
}

// tagsFromXML parses a Tagging document (a PutObjectTagging body or the
// tagging field of a POST form) and checks the tag set.
func tagsFromXML(body []byte) ([]*metadatav1.Tag, error) {
	const op = "s3.Tagging"
	var doc tagging
	if err := decodeXML(body, &doc); err != nil {
		return nil, err
	}
	if doc.TagSet == nil {
		return nil, errs.Errorf(errs.MalformedBody, op, "The XML you provided was not well-formed or did not validate against our published schema")
	}
	tags := make([]*metadatav1.Tag, 0, len(doc.TagSet.Tags))
	for _, t := range doc.TagSet.Tags {
		if t.Key == nil {
			return nil, errs.Errorf(errs.MalformedBody, op, "The XML you provided was not well-formed or did not validate against our published schema")
		}
		tag := &metadatav1.Tag{Key: *t.Key}
		if t.Value != nil {
			tag.Value = *t.Value
		}
		tags = append(tags, tag)
	}
	if err := objects.ValidateTags(tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// tagsToXML renders a tag set; an empty one is an empty TagSet element.
func tagsToXML(tags []*metadatav1.Tag) tagging {
	doc := tagging{NS: s3NS, TagSet: &tagSetXML{Tags: make([]tagXML, 0, len(tags))}}
	for _, t := range tags {
		k, v := t.GetKey(), t.GetValue()
		doc.TagSet.Tags = append(doc.TagSet.Tags, tagXML{Key: &k, Value: &v})
	}
	return doc
}

// badTaggingHeader is S3's refusal of an x-amz-tagging header it cannot read.
func badTaggingHeader() error {
	return errs.Errorf(errs.InvalidArgument, "s3.Tagging",
		"The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.").
		WithDetail("argument_name", "x-amz-tagging")
}

// parseTaggingHeader reads x-amz-tagging: the tags as URL query parameters
// ("k1=v1&k2=v2", form-encoded). A key without "=" has an empty value; an
// empty key, bad percent-encoding or a key given twice is refused.
func parseTaggingHeader(v string) ([]*metadatav1.Tag, error) {
	if v == "" {
		return nil, nil
	}
	var tags []*metadatav1.Tag
	seen := map[string]bool{}
	for _, pair := range strings.Split(v, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil || key == "" {
			return nil, badTaggingHeader()
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, badTaggingHeader()
		}
		if seen[key] {
			return nil, badTaggingHeader()
		}
		seen[key] = true
		tags = append(tags, &metadatav1.Tag{Key: key, Value: value})
	}
	if err := objects.ValidateTags(tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// setTagCount writes x-amz-tagging-count when a version has tags.
func setTagCount(hd http.Header, v *metadatav1.ObjectVersion) {
	if n := len(v.GetTags()); n > 0 {
		hd.Set("x-amz-tagging-count", strconv.Itoa(n))
	}
}

// taggedVersion reads the version a tagging call names (versionId, or the
// current version), with GetObject's answers for what is not an object: a
// delete marker by id is 405, the current version being one is 404 with
// x-amz-delete-marker.
func (h *Handler) taggedVersion(r *http.Request, c *call, op string) (*metadatav1.ObjectVersion, error) {
	if err := objects.ValidateKey(c.req.Key); err != nil {
		return nil, err
	}
	versionID := r.URL.Query().Get("versionId")
	resp, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{
		BucketId: c.bucket.GetBucketId(), Key: c.req.Key, VersionId: versionID,
	})
	if err != nil {
		return nil, err
	}
	v := resp.GetVersion()
	switch v.GetAction() {
	case metadatav1.VersionAction_VERSION_ACTION_UPLOAD:
		return v, nil
	case metadatav1.VersionAction_VERSION_ACTION_HIDE:
		return nil, errs.E(errs.MethodNotAllowed, op, nil).WithDetail("delete_marker", "true").WithDetail("version_id", v.GetVersionId())
	}
	return nil, errs.E(errs.VersionNotFound, op, nil).WithKey(c.req.Key)
}

func (h *Handler) getObjectTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := h.taggedVersion(r, c, "s3.GetObjectTagging")
	if err != nil {
		return err
	}
	w.Header().Set("x-amz-version-id", v.GetVersionId())
	writeXML(w, http.StatusOK, tagsToXML(v.GetTags()))
	return nil
}

func (h *Handler) putObjectTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := objects.ValidateKey(c.req.Key); err != nil {
		return err
	}
	body, err := h.configBody(r, c, maxTaggingBody, true)
	if err != nil {
		return err
	}
	tags, err := tagsFromXML(body)
	if err != nil {
		return err
	}
	return h.updateTags(w, r, c, tags, http.StatusOK)
}

func (h *Handler) deleteObjectTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := objects.ValidateKey(c.req.Key); err != nil {
		return err
	}
	return h.updateTags(w, r, c, nil, http.StatusNoContent)
}

// updateTags replaces the tags of the version the request names. Metadata
// resolves "the current version" when it applies the change, so the tags
// land on the version that is current at that moment.
func (h *Handler) updateTags(w http.ResponseWriter, r *http.Request, c *call, tags []*metadatav1.Tag, status int) error {
	resp, err := h.meta.UpdateObjectTags(r.Context(), &metadatav1.UpdateObjectTagsRequest{
		BucketId: c.bucket.GetBucketId(), Key: c.req.Key, VersionId: r.URL.Query().Get("versionId"), Tags: tags,
	})
	if err != nil {
		return err
	}
	w.Header().Set("x-amz-version-id", resp.GetVersion().GetVersionId())
	w.WriteHeader(status)
	return nil
}
