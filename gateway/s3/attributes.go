package s3

import (
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// GetObjectAttributes: what HEAD tells and what it cannot (the parts of a
// multipart object and their checksums), in one XML document, selected by
// x-amz-object-attributes. Everything comes from the version's metadata
// record; no byte is read.

// objectAttributeNames are the attributes a request may select.
var objectAttributeNames = map[string]bool{
	"ETag": true, "Checksum": true, "ObjectParts": true, "StorageClass": true, "ObjectSize": true,
}

// maxAttributeParts is the default and largest x-amz-max-parts.
const maxAttributeParts = 1000

type attributesChecksum struct {
	checksumFields
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type attributesPart struct {
	checksumFields
	PartNumber int32 `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

type attributesParts struct {
	IsTruncated          bool             `xml:"IsTruncated"`
	MaxParts             int              `xml:"MaxParts"`
	NextPartNumberMarker int32            `xml:"NextPartNumberMarker"`
	PartNumberMarker     int32            `xml:"PartNumberMarker"`
	Parts                []attributesPart `xml:"Part"`
	PartsCount           int              `xml:"PartsCount"`
}

type objectAttributes struct {
	XMLName      xml.Name            `xml:"GetObjectAttributesResponse"`
	NS           string              `xml:"xmlns,attr"`
	ETag         string              `xml:"ETag,omitempty"`
	Checksum     *attributesChecksum `xml:"Checksum,omitempty"`
	ObjectParts  *attributesParts    `xml:"ObjectParts,omitempty"`
	StorageClass string              `xml:"StorageClass,omitempty"`
	ObjectSize   *int64              `xml:"ObjectSize,omitempty"`
}

// parseObjectAttributes reads x-amz-object-attributes: a comma-separated
// list (the header may also repeat). Names are case-sensitive, as on S3.
func parseObjectAttributes(h http.Header) (map[string]bool, error) {
	const op = "s3.GetObjectAttributes"
	want := map[string]bool{}
	for _, v := range h.Values("X-Amz-Object-Attributes") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !objectAttributeNames[name] {
				return nil, errs.Errorf(errs.InvalidArgument, op, "Invalid attribute name specified.").
					WithDetail("argument_name", "x-amz-object-attributes").WithDetail("argument_value", v)
			}
			want[name] = true
		}
	}
	if len(want) == 0 {
		return nil, errs.Errorf(errs.InvalidRequest, op,
			"The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	return want, nil
}

// partsHeader reads an optional non-negative integer header.
func partsHeader(h http.Header, name, what string, def int) (int, error) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errs.Errorf(errs.InvalidArgument, "s3.GetObjectAttributes", "Provided %s not an integer or within integer range", what).
			WithDetail("argument_name", name).WithDetail("argument_value", v)
	}
	return n, nil
}

func (h *Handler) getObjectAttributes(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.GetObjectAttributes"
	if err := objects.ValidateKey(c.req.Key); err != nil {
		return err
	}
	want, err := parseObjectAttributes(r.Header)
	if err != nil {
		return err
	}
	maxParts, err := partsHeader(r.Header, "X-Amz-Max-Parts", "max-parts", maxAttributeParts)
	if err != nil {
		return err
	}
	marker, err := partsHeader(r.Header, "X-Amz-Part-Number-Marker", "part-number-marker", 0)
	if err != nil {
		return err
	}
	maxParts = min(maxParts, maxAttributeParts)
	// An SSE-C object's attributes need its key, as a HEAD does.
	_, customerKey, err := writeEncryption(r.Header, false)
	if err != nil {
		return err
	}
	read := objects.Encryption{}
	if customerKey != nil {
		read = objects.Encryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C, CustomerKey: customerKey}
	}
	versionID := r.URL.Query().Get("versionId")
	resp, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{
		BucketId: c.bucket.GetBucketId(), Key: c.req.Key, VersionId: versionID,
	})
	if err != nil {
		return err
	}
	v := resp.GetVersion()
	switch v.GetAction() {
	case metadatav1.VersionAction_VERSION_ACTION_UPLOAD:
	case metadatav1.VersionAction_VERSION_ACTION_HIDE:
		w.Header().Set("Last-Modified", httpTime(v.GetCreateTimeUnixNanos()))
		return errs.E(errs.MethodNotAllowed, op, nil).WithDetail("delete_marker", "true").WithDetail("version_id", v.GetVersionId())
	default:
		return errs.E(errs.VersionNotFound, op, nil).WithKey(c.req.Key)
	}
	if err := objects.CheckReadKey(v.GetEncryption(), read); err != nil {
		return err
	}
	out := objectAttributes{NS: s3NS}
	if want["ETag"] {
		out.ETag = v.GetEtag() // unquoted here, unlike every header and listing
	}
	if want["Checksum"] && len(v.GetChecksums()) > 0 {
		sums, typ := checksumFieldsOf(v.GetChecksums())
		out.Checksum = &attributesChecksum{checksumFields: sums, ChecksumType: typ}
	}
	if want["ObjectParts"] {
		out.ObjectParts = attributeParts(v, int32(min(marker, 10000)), maxParts)
	}
	if want["StorageClass"] {
		out.StorageClass = storageClassName(v.GetStorageClass())
	}
	if want["ObjectSize"] {
		size := v.GetSize()
		out.ObjectSize = &size
	}
	w.Header().Set("Last-Modified", httpTime(v.GetCreateTimeUnixNanos()))
	w.Header().Set("x-amz-version-id", v.GetVersionId())
	writeXML(w, http.StatusOK, out)
	return nil
}

// attributeParts is the ObjectParts of a multipart object (nil for a
// single-part one, which S3 reports without it): the part count always,
// and, as S3 does, the parts themselves only when they carry additional
// checksums — a page of up to maxParts after marker.
func attributeParts(v *metadatav1.ObjectVersion, marker int32, maxParts int) *attributesParts {
	segs := v.GetSegments()
	multipart := false
	for _, s := range segs {
		if s.GetPartNumber() != 0 {
			multipart = true
		}
	}
	if !multipart {
		return nil
	}
	out := &attributesParts{MaxParts: maxParts, PartNumberMarker: marker, PartsCount: len(segs)}
	if len(segs[0].GetChecksums()) == 0 {
		return out
	}
	sorted := append([]*metadatav1.Segment(nil), segs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].GetPartNumber() < sorted[j].GetPartNumber() })
	for _, s := range sorted {
		if s.GetPartNumber() <= marker {
			continue
		}
		if len(out.Parts) == maxParts {
			out.IsTruncated = true
			break
		}
		sums, _ := checksumFieldsOf(s.GetChecksums())
		out.Parts = append(out.Parts, attributesPart{checksumFields: sums, PartNumber: s.GetPartNumber(), Size: s.GetSize()})
		out.NextPartNumberMarker = s.GetPartNumber()
	}
	return out
}
