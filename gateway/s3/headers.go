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
		val := decodeMetaValue(strings.Join(values, ","))
		size += len(key) + len(val)
		info[key] = val
	}
	if size > maxUserMetadata {
		return nil, errs.Errorf(errs.MetadataTooLarge, "s3.metadata",
			"Your metadata headers exceed the maximum allowed metadata size.").
			WithDetail("size", strconv.Itoa(size)).WithDetail("max_size_allowed", strconv.Itoa(maxUserMetadata))
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

// storageClasses are the x-amz-storage-class values coffer keeps. Both
// are stored alike (B2 has one class); REDUCED_REDUNDANCY is accepted and
// reported back as MinIO does, so clients that ask for it work. The
// archive and tiering classes would promise what coffer does not do.
var storageClasses = map[string]metadatav1.StorageClass{
	"STANDARD":           metadatav1.StorageClass_STORAGE_CLASS_UNSPECIFIED,
	"REDUCED_REDUNDANCY": metadatav1.StorageClass_STORAGE_CLASS_REDUCED_REDUNDANCY,
}

// storageClassHeader parses x-amz-storage-class (absent: STANDARD).
func storageClassHeader(h http.Header, op string) (metadatav1.StorageClass, error) {
	v := h.Get("x-amz-storage-class")
	if v == "" {
		return metadatav1.StorageClass_STORAGE_CLASS_UNSPECIFIED, nil
	}
	sc, ok := storageClasses[v]
	if !ok {
		return 0, errs.E(errs.InvalidStorageClass, op, nil)
	}
	return sc, nil
}

// storageClassName is S3's name of a stored class.
func storageClassName(sc metadatav1.StorageClass) string {
	if sc == metadatav1.StorageClass_STORAGE_CLASS_REDUCED_REDUNDANCY {
		return "REDUCED_REDUNDANCY"
	}
	return "STANDARD"
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
	// S3 (and MinIO) send the class for every class but STANDARD.
	if sc := v.GetStorageClass(); sc != metadatav1.StorageClass_STORAGE_CLASS_UNSPECIFIED {
		hd.Set("x-amz-storage-class", storageClassName(sc))
	}
	setTagCount(hd, v)
	for key, val := range v.GetInfo() {
		if strings.HasPrefix(key, "b2-") {
			continue
		}
		// Set directly: Go would canonicalise "x-amz-meta-foo_bar" oddly, and
		// clients match the prefix case-insensitively anyway.
		hd["x-amz-meta-"+key] = []string{encodeMetaValue(val)}
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
	if err := checkChecksumHeaderNames(h); err != nil {
		return cr, err
	}
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
		if err != nil || len(raw) != objects.DigestLen(alg) {
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
	// x-amz-checksum-algorithm without a value asks the server to compute
	// and store that checksum: minio-go's default PutObject sends just that
	// (its own auto-checksum header suppresses its trailer) and reads the
	// checksum back from the response, as MinIO answers.
	if v := h.Get("x-amz-checksum-algorithm"); v != "" {
		alg, ok := objects.ParseAlgorithm(v)
		switch {
		case !ok:
			return cr, errUnsupportedAlgorithm(op)
		case cr.alg == 0:
			cr.alg = alg
		case alg != cr.alg:
			return cr, errs.Errorf(errs.InvalidRequest, op, "Value for x-amz-checksum-algorithm header is invalid.")
		}
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

// checksumHeaderWords are the x-amz-checksum-* headers that name no
// algorithm.
var checksumHeaderWords = map[string]bool{"type": true, "mode": true, "algorithm": true}

// checkChecksumHeaderNames refuses an x-amz-checksum-* header that names an
// algorithm we do not know: a checksum the client asked for is never
// silently left unverified.
func checkChecksumHeaderNames(h http.Header) error {
	for name := range h {
		lower := strings.ToLower(name)
		rest, ok := strings.CutPrefix(lower, "x-amz-checksum-")
		if !ok || checksumHeaderWords[rest] {
			continue
		}
		if _, known := objects.ParseAlgorithm(rest); !known {
			return errs.Errorf(errs.InvalidRequest, "s3.checksum", "The algorithm type you specified in x-amz-checksum- header is invalid.")
		}
	}
	return nil
}

// errUnsupportedAlgorithm is S3's answer to an x-amz-checksum-algorithm it
// does not know.
func errUnsupportedAlgorithm(op string) error {
	return errs.Errorf(errs.InvalidRequest, op, "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [%s]",
		strings.Join(objects.AlgorithmNames(), ", "))
}
