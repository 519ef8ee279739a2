package s3

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// maxListKeys is S3's page size limit; larger max-keys values are clamped.
const maxListKeys = 1000

// listParams are the query parameters listings share.
type listParams struct {
	prefix, delimiter string
	maxKeys           int
	encode            func(string) string
	encodingType      string
}

func parseListParams(q url.Values) (listParams, error) {
	const op = "s3.List"
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: maxListKeys, encode: func(s string) string { return s }}
	if v, ok := q["max-keys"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return p, errs.Errorf(errs.InvalidArgument, op, "Provided max-keys not an integer or within integer range").WithDetail("argument_name", "max-keys")
		}
		p.maxKeys = min(n, maxListKeys)
	}
	switch et := q.Get("encoding-type"); et {
	case "":
	case "url":
		p.encode, p.encodingType = urlEncodeKey, "url"
	default:
		return p, errs.Errorf(errs.InvalidArgument, op, "Invalid Encoding Method specified in Request")
	}
	return p, nil
}

// urlEncodeKey percent-encodes every byte except A–Z a–z 0–9 - . _ ~ / —
// safe for every client's decoder (spec/s3.md §5).
func urlEncodeKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
	}
	return b.String()
}

// Continuation tokens are opaque to clients: base64 of the last key or
// common prefix returned. A forged token cannot widen access — it only moves
// the start of a listing whose prefix filter and authorization still apply.
func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !utf8.Valid(b) {
		return "", errs.Errorf(errs.InvalidArgument, "s3.List", "The continuation token provided is incorrect")
	}
	return string(b), nil
}

func (h *Handler) list(r *http.Request, c *call, p listParams, startAfter string) (*metadatav1.ListObjectsResponse, error) {
	if p.maxKeys == 0 {
		return &metadatav1.ListObjectsResponse{}, nil
	}
	return h.meta.ListObjects(r.Context(), &metadatav1.ListObjectsRequest{
		BucketId: c.bucket.GetBucketId(), Prefix: p.prefix, Delimiter: p.delimiter,
		StartAfter: startAfter, PageSize: int32(p.maxKeys),
	})
}

func toObjects(p listParams, vs []*metadatav1.ObjectVersion, own *owner) []object {
	out := make([]object, 0, len(vs))
	for _, v := range vs {
		algs, typ := checksumListing(v.GetChecksums())
		out = append(out, object{
			Key: p.encode(v.GetKey()), LastModified: xmlTime(v.GetCreateTimeUnixNanos()),
			ETag: `"` + v.GetEtag() + `"`, ChecksumAlgorithm: algs, ChecksumType: typ,
			Size: v.GetSize(), StorageClass: storageClassName(v.GetStorageClass()), Owner: own,
		})
	}
	return out
}

// checksumListing names the algorithms of a version's stored checksums and
// their type, as listings show them.
func checksumListing(sums []*metadatav1.Checksum) ([]string, string) {
	var algs []string
	typ := ""
	for _, s := range sums {
		if name := objects.AlgorithmName(s.GetAlgorithm()); name != "" {
			algs = append(algs, name)
			typ = checksumTypeName(s.GetType())
		}
	}
	return algs, typ
}

func toPrefixes(p listParams, ps []string) []commonPrefix {
	out := make([]commonPrefix, 0, len(ps))
	for _, s := range ps {
		out = append(out, commonPrefix{Prefix: p.encode(s)})
	}
	return out
}

func (h *Handler) listObjectsV2(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	start := q.Get("start-after")
	// A continuation token that was sent is echoed, even empty (boto3's
	// ContinuationToken='' reads back '').
	var token *string
	if _, ok := q["continuation-token"]; ok {
		t := q.Get("continuation-token")
		token = &t
		if t != "" {
			if start, err = decodeToken(t); err != nil {
				return err
			}
		}
	}
	resp, err := h.list(r, c, p, start)
	if err != nil {
		return err
	}
	var own *owner
	if q.Get("fetch-owner") == "true" {
		own = &owner{ID: c.bucket.GetAccountId()}
	}
	res := listBucketResultV2{
		NS: s3NS, Name: c.bucket.GetName(), Prefix: p.encode(p.prefix), Delimiter: p.encode(p.delimiter),
		MaxKeys: p.maxKeys, IsTruncated: resp.GetTruncated(), ContinuationToken: token,
		StartAfter: p.encode(q.Get("start-after")), EncodingType: p.encodingType,
		Contents: toObjects(p, resp.GetObjects(), own), CommonPrefixes: toPrefixes(p, resp.GetCommonPrefixes()),
	}
	res.KeyCount = len(res.Contents) + len(res.CommonPrefixes)
	if resp.GetTruncated() {
		res.NextContinuationToken = encodeToken(resp.GetNextStartAfter())
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func (h *Handler) listObjectsV1(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	resp, err := h.list(r, c, p, q.Get("marker"))
	if err != nil {
		return err
	}
	// boto3 decodes Delimiter, Marker, NextMarker and the keys of a v1
	// listing, not its Prefix (which it compares with what it sent: ceph's
	// test_bucket_list_prefix_unreadable): the prefix goes back as given.
	res := listBucketResultV1{
		NS: s3NS, Name: c.bucket.GetName(), Prefix: p.prefix, Marker: p.encode(q.Get("marker")),
		Delimiter: p.encode(p.delimiter), MaxKeys: p.maxKeys, IsTruncated: resp.GetTruncated(),
		EncodingType:   p.encodingType,
		Contents:       toObjects(p, resp.GetObjects(), &owner{ID: c.bucket.GetAccountId()}),
		CommonPrefixes: toPrefixes(p, resp.GetCommonPrefixes()),
	}
	if resp.GetTruncated() {
		// S3 sends NextMarker only with a delimiter; sending it always is
		// harmless and saves clients from guessing (spec/s3.md §5).
		res.NextMarker = p.encode(resp.GetNextStartAfter())
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func (h *Handler) listObjectVersions(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	keyMarker, versionMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if versionMarker != "" && keyMarker == "" {
		return errs.Errorf(errs.InvalidArgument, "s3.ListObjectVersions", "A version-id marker cannot be specified without a key marker.")
	}
	res := listVersionsResult{
		NS: s3NS, Name: c.bucket.GetName(), Prefix: p.encode(p.prefix), KeyMarker: p.encode(keyMarker),
		VersionIDMarker: versionMarker, Delimiter: p.encode(p.delimiter), MaxKeys: p.maxKeys,
		EncodingType: p.encodingType,
	}
	if p.maxKeys > 0 {
		resp, err := h.meta.ListObjectVersions(r.Context(), &metadatav1.ListObjectVersionsRequest{
			BucketId: c.bucket.GetBucketId(), Prefix: p.prefix, Delimiter: p.delimiter,
			KeyMarker: keyMarker, VersionIdMarker: versionMarker, PageSize: int32(p.maxKeys),
		})
		if err != nil {
			return err
		}
		own := owner{ID: c.bucket.GetAccountId()}
		for _, v := range resp.GetVersions() {
			e := versionEntry{Key: p.encode(v.GetKey()), VersionID: v.GetVersionId(), IsLatest: v.GetIsLatest(),
				LastModified: xmlTime(v.GetCreateTimeUnixNanos()), Owner: own}
			if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
				e.XMLName.Local = "DeleteMarker"
			} else {
				size := v.GetSize()
				e.XMLName.Local, e.ETag, e.Size, e.StorageClass = "Version", `"`+v.GetEtag()+`"`, &size, storageClassName(v.GetStorageClass())
				e.ChecksumAlgorithm, e.ChecksumType = checksumListing(v.GetChecksums())
			}
			res.Entries = append(res.Entries, e)
		}
		res.CommonPrefixes = toPrefixes(p, resp.GetCommonPrefixes())
		res.IsTruncated = resp.GetTruncated()
		if res.IsTruncated {
			res.NextKeyMarker = p.encode(resp.GetNextKeyMarker())
			res.NextVersionIDMarker = resp.GetNextVersionIdMarker()
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}
