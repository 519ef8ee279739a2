package s3

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// metaPrefix is the user-metadata header prefix.
const metaPrefix = "X-Amz-Meta-"

// maxUserMetadata is S3's limit on the total size of x-amz-meta-* names and values.
const maxUserMetadata = 2048

// contentHeaders map standard headers to the B2 file-info keys that store
// them, so the native API shows them and downloads emit them (spec/s3.md §4.1).
var contentHeaders = []struct{ header, info string }{
	{"Content-Disposition", "b2-content-disposition"},
	{"Content-Language", "b2-content-language"},
	{"Expires", "b2-expires"},
	{"Cache-Control", "b2-cache-control"},
	{"Content-Encoding", "b2-content-encoding"},
}

// responseOverrides are GetObject's response-* query parameters.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

// objectInfo collects user metadata and content headers into B2 file info.
func objectInfo(h http.Header) (map[string]string, error) {
	info := map[string]string{}
	size := 0
	for name, values := range h {
		if !strings.HasPrefix(name, metaPrefix) || len(values) == 0 {
			continue
		}
		key := strings.ToLower(name[len(metaPrefix):])
		if key == "" || strings.HasPrefix(key, "b2-") {
			return nil, errs.Errorf(errs.InvalidArgument, "s3.metadata", "Invalid user metadata name %q.", name)
		}
		val := strings.Join(values, ",")
		size += len(key) + len(val)
		info[key] = val
	}
	if size > maxUserMetadata {
		return nil, errs.Errorf(errs.MetadataTooLarge, "s3.metadata",
			"Your metadata headers exceed the maximum allowed metadata size").WithDetail("max_size_allowed", strconv.Itoa(maxUserMetadata))
	}
	for _, ch := range contentHeaders {
		v := h.Get(ch.header)
		if ch.header == "Content-Encoding" {
			v = stripAWSChunked(v)
		}
		if v != "" {
			info[ch.info] = v
		}
	}
	return info, nil
}

// stripAWSChunked removes the aws-chunked token from a Content-Encoding list:
// it describes the transfer, not the stored object.
func stripAWSChunked(v string) string {
	var keep []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, "aws-chunked") {
			keep = append(keep, t)
		}
	}
	return strings.Join(keep, ",")
}

// setObjectHeaders writes a version's metadata as response headers.
func setObjectHeaders(hd http.Header, v *metadatav1.ObjectVersion) {
	ct := v.GetContentType()
	if ct == "" {
		ct = "binary/octet-stream"
	}
	hd.Set("Content-Type", ct)
	hd.Set("ETag", `"`+v.GetEtag()+`"`)
	hd.Set("Last-Modified", httpTime(v.GetCreateTimeUnixNanos()))
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("x-amz-version-id", v.GetVersionId())
	hd.Set("x-amz-storage-class", "STANDARD")
	setTagCount(hd, v)
	for key, val := range v.GetInfo() {
		if strings.HasPrefix(key, "b2-") {
			continue
		}
		// Set directly: Go would canonicalise "x-amz-meta-foo_bar" oddly, and
		// clients match the prefix case-insensitively anyway.
		hd["x-amz-meta-"+key] = []string{val}
	}
	for _, ch := range contentHeaders {
		if val := v.GetInfo()[ch.info]; val != "" {
			hd.Set(ch.header, val)
		}
	}
}

// setChecksumHeaders writes the x-amz-checksum-* headers of stored checksums.
func setChecksumHeaders(hd http.Header, sums []*metadatav1.Checksum) {
	for _, s := range sums {
		name := objects.AlgorithmName(s.GetAlgorithm())
		if name == "" {
			continue
		}
		hd.Set("x-amz-checksum-"+strings.ToLower(name), s.GetValue())
		if s.GetType() == metadatav1.ChecksumType_CHECKSUM_TYPE_COMPOSITE {
			hd.Set("x-amz-checksum-type", "COMPOSITE")
		} else {
			hd.Set("x-amz-checksum-type", "FULL_OBJECT")
		}
	}
}

// digestLen is the raw length of each algorithm's digest.
var digestLen = map[metadatav1.ChecksumAlgorithm]int{
	metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32:     4,
	metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32C:    4,
	metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC64NVME: 8,
	metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA1:      20,
	metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256:    32,
}

// checksumRequest works out which additional checksum a write carries: a
// header value, a trailer (named by x-amz-trailer), or neither.
type checksumRequest struct {
	alg     metadatav1.ChecksumAlgorithm
	header  string // the value from the header, if any
	trailer string // the lower-case trailer name, if any
}

func parseChecksumRequest(h http.Header, streamingTrailer bool) (checksumRequest, error) {
	const op = "s3.checksum"
	var cr checksumRequest
	for _, alg := range objects.Algorithms() {
		name := "x-amz-checksum-" + strings.ToLower(objects.AlgorithmName(alg))
		v := h.Get(name)
		if v == "" {
			continue
		}
		if cr.alg != 0 {
			return cr, errs.Errorf(errs.InvalidRequest, op, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(raw) != digestLen[alg] {
			return cr, errs.Errorf(errs.InvalidRequest, op, "Value for %s header is invalid.", name)
		}
		cr.alg, cr.header = alg, v
	}
	if t := strings.ToLower(strings.TrimSpace(h.Get("x-amz-trailer"))); t != "" {
		if cr.alg != 0 {
			return cr, errs.Errorf(errs.InvalidRequest, op, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		alg, ok := objects.ParseAlgorithm(strings.TrimPrefix(t, "x-amz-checksum-"))
		if !ok || !strings.HasPrefix(t, "x-amz-checksum-") {
			return cr, errs.Errorf(errs.InvalidRequest, op, "The value specified in the x-amz-trailer header is not supported.")
		}
		if !streamingTrailer {
			return cr, errs.Errorf(errs.InvalidRequest, op, "x-amz-trailer requires an aws-chunked body with a trailer.")
		}
		cr.alg, cr.trailer = alg, t
	}
	if sdk := h.Get("x-amz-sdk-checksum-algorithm"); sdk != "" {
		alg, ok := objects.ParseAlgorithm(sdk)
		if !ok {
			return cr, errs.Errorf(errs.InvalidRequest, op, "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		if cr.alg == 0 {
			return cr, errs.Errorf(errs.InvalidRequest, op,
				"x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
		}
		if alg != cr.alg {
			return cr, errs.Errorf(errs.InvalidRequest, op, "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
	}
	return cr, nil
}
