package s3

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// maxCompleteBody bounds a CompleteMultipartUpload body (spec/reliability.md
// §3.8): 10,000 parts with every checksum fit comfortably.
const maxCompleteBody = 2 << 20

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// checksumFields are the per-algorithm checksum elements S3 puts in parts
// and results.
type checksumFields struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumMD5       string `xml:"ChecksumMD5,omitempty"`
	ChecksumSHA512    string `xml:"ChecksumSHA512,omitempty"`
	ChecksumXXHASH64  string `xml:"ChecksumXXHASH64,omitempty"`
	ChecksumXXHASH3   string `xml:"ChecksumXXHASH3,omitempty"`
	ChecksumXXHASH128 string `xml:"ChecksumXXHASH128,omitempty"`
}

// field is the element of alg.
func (f *checksumFields) field(alg metadatav1.ChecksumAlgorithm) *string {
	switch alg {
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32:
		return &f.ChecksumCRC32
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C:
		return &f.ChecksumCRC32C
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME:
		return &f.ChecksumCRC64NVME
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA1:
		return &f.ChecksumSHA1
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256:
		return &f.ChecksumSHA256
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_MD5:
		return &f.ChecksumMD5
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA512:
		return &f.ChecksumSHA512
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH64:
		return &f.ChecksumXXHASH64
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH3:
		return &f.ChecksumXXHASH3
	case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_XXHASH128:
		return &f.ChecksumXXHASH128
	}
	return nil
}

func (f *checksumFields) set(alg metadatav1.ChecksumAlgorithm, v string) {
	if p := f.field(alg); p != nil {
		*p = v
	}
}

func (f *checksumFields) list() []*metadatav1.Checksum {
	var out []*metadatav1.Checksum
	for _, alg := range objects.Algorithms() {
		if v := strings.TrimSpace(*f.field(alg)); v != "" {
			out = append(out, &metadatav1.Checksum{Algorithm: alg, Value: v})
		}
	}
	return out
}

func checksumFieldsOf(sums []*metadatav1.Checksum) (checksumFields, string) {
	var f checksumFields
	typ := ""
	for _, s := range sums {
		f.set(s.GetAlgorithm(), s.GetValue())
		typ = checksumTypeName(s.GetType())
	}
	return f, typ
}

func checksumTypeName(t metadatav1.ChecksumType) string {
	switch t {
	case metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE:
		return "COMPOSITE"
	case metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT:
		return "FULL_OBJECT"
	}
	return ""
}

type completeMultipartUpload struct {
	XMLName xml.Name        `xml:"CompleteMultipartUpload"`
	Parts   []completedPart `xml:"Part"`
}

type completedPart struct {
	PartNumber string `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	checksumFields
}

type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumFields
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	checksumFields
}

type partEntry struct {
	PartNumber   int32  `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumFields
}

type listPartsResult struct {
	XMLName              xml.Name    `xml:"ListPartsResult"`
	NS                   string      `xml:"xmlns,attr"`
	Bucket               string      `xml:"Bucket"`
	Key                  string      `xml:"Key"`
	UploadID             string      `xml:"UploadId"`
	Initiator            owner       `xml:"Initiator"`
	Owner                owner       `xml:"Owner"`
	StorageClass         string      `xml:"StorageClass"`
	PartNumberMarker     int32       `xml:"PartNumberMarker"`
	NextPartNumberMarker int32       `xml:"NextPartNumberMarker,omitempty"`
	MaxParts             int         `xml:"MaxParts"`
	IsTruncated          bool        `xml:"IsTruncated"`
	ChecksumAlgorithm    string      `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string      `xml:"ChecksumType,omitempty"`
	Parts                []partEntry `xml:"Part"`
}

type uploadEntry struct {
	Key               string `xml:"Key"`
	UploadID          string `xml:"UploadId"`
	Initiator         owner  `xml:"Initiator"`
	Owner             owner  `xml:"Owner"`
	StorageClass      string `xml:"StorageClass"`
	Initiated         string `xml:"Initiated"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"ListMultipartUploadsResult"`
	NS                 string         `xml:"xmlns,attr"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string         `xml:"Prefix"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
	Uploads            []uploadEntry  `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

// parseCompleteXML decodes a CompleteMultipartUpload body into part
// references. It checks the document alone: well-formed, the right root,
// 1 to 10,000 parts, numeric part numbers, 32-hex ETags (quotes optional),
// well-formed checksums. Order and existence are checked against the
// stored parts by the object layer (objects.ValidatePartRefs and
// CompleteUpload).
func parseCompleteXML(body []byte) ([]*metadatav1.PartRef, error) {
	const op = "s3.CompleteMultipartUpload"
	var doc completeMultipartUpload
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, errs.E(errs.MalformedBody, op, err)
	}
	// Nothing but whitespace and comments may follow the document.
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errs.E(errs.MalformedBody, op, err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errs.Errorf(errs.MalformedBody, op, "Unexpected content after the document.")
			}
		default:
			return nil, errs.Errorf(errs.MalformedBody, op, "Unexpected content after the document.")
		}
	}
	if len(doc.Parts) == 0 || len(doc.Parts) > objects.MaxPartNumber {
		return nil, errs.Errorf(errs.MalformedBody, op, "A completion lists 1 to 10000 parts.")
	}
	refs := make([]*metadatav1.PartRef, 0, len(doc.Parts))
	for _, p := range doc.Parts {
		n, ok := parseDecimal(strings.TrimSpace(p.PartNumber), objects.MaxPartNumber)
		if !ok {
			return nil, errs.Errorf(errs.MalformedBody, op, "PartNumber must be an integer between 1 and 10000.")
		}
		etag := strings.TrimSpace(p.ETag)
		etag = strings.TrimSuffix(strings.TrimPrefix(etag, `"`), `"`)
		if !isHex(etag, 32) {
			return nil, errs.Errorf(errs.InvalidPart, op, "The ETag of part %d is not a part ETag.", n).WithDetail("part_number", p.PartNumber)
		}
		sums := p.list()
		for _, s := range sums {
			if !validChecksum(s.GetAlgorithm(), s.GetValue()) {
				return nil, errs.Errorf(errs.InvalidPart, op, "The %s checksum of part %d is not valid.", objects.AlgorithmName(s.GetAlgorithm()), n)
			}
		}
		refs = append(refs, &metadatav1.PartRef{PartNumber: int32(n), Md5: strings.ToLower(etag), Checksums: sums})
	}
	return refs, nil
}

// parseDecimal parses a decimal integer in 1..max without sign or spaces.
func parseDecimal(s string, max int) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 1 && n <= max
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
