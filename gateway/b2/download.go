package b2

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/objects"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Downloads by name (/file/<bucket>/<name>) and by id
// (b2_download_file_by_id), spec/b2-native.md §6. Public buckets need no
// token. Private ones take an account token, or — by name only — a
// download authorization, in the Authorization header or the Authorization
// query parameter (what browsers use, cors.md §1.6).

// downloadTokenOf is the token a download carries, header first.
func downloadTokenOf(r *http.Request) string {
	if t := r.Header.Get("Authorization"); t != "" {
		return t
	}
	return r.URL.Query().Get("Authorization")
}

// authenticateDownload verifies the download's token if it has one;
// without one the caller is anonymous (public buckets only, decided later).
func (h *Handler) authenticateDownload(r *http.Request, c *call, kinds []authv1.TokenKind) error {
	token := downloadTokenOf(r)
	if token == "" {
		c.principal = &authv1.Principal{Anonymous: true}
		return nil
	}
	return h.verify(r, c, token, kinds, "")
}

func (h *Handler) downloadByName(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	if err := objects.ValidateKey(c.route.Name); err != nil {
		return err
	}
	var bucket *metadatav1.Bucket
	resp, err := h.meta.GetBucket(ctx, &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_Name{Name: c.route.Bucket}})
	switch {
	case err == nil:
		bucket = resp.GetBucket()
	case errs.Is(err, errs.BucketNotFound), errs.Is(err, errs.InvalidBucketName), errs.Is(err, errs.InvalidArgument):
		// Decide first: a caller who may not read learns nothing.
	default:
		return err
	}
	access := &authv1.Access{Capability: policy.ReadFiles, BucketName: c.route.Bucket, Name: c.route.Name}
	if bucket != nil {
		access.BucketId = bucket.GetBucketId()
		access.BucketPublic = bucket.GetType() == metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC
	}
	if err := h.decide(c, access); err != nil {
		return err
	}
	if bucket == nil {
		return errs.E(errs.BucketNotFound, "b2.download", nil).WithBucket(c.route.Bucket)
	}
	got, err := h.meta.GetObject(ctx, &metadatav1.GetObjectRequest{BucketId: bucket.GetBucketId(), Key: c.route.Name})
	if err != nil {
		return err
	}
	return h.serveVersion(w, r, c, bucket, got.GetVersion())
}

type downloadByIDRequest struct {
	FileID string `json:"fileId"`
}

func (q *downloadByIDRequest) check() error {
	if q.FileID == "" {
		return required("fileId")
	}
	return nil
}

func (h *Handler) downloadByID(w http.ResponseWriter, r *http.Request, c *call) error {
	var q downloadByIDRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	bucketID := bucketOfFileID(q.FileID)
	var bucket *metadatav1.Bucket
	if bucketID != "" {
		b, err := h.bucketByID(r, bucketID)
		switch {
		case err == nil:
			bucket = b
		case errs.Is(err, errs.BucketNotFound):
		default:
			return err
		}
	}
	access := &authv1.Access{Capability: policy.ReadFiles, BucketId: bucketID}
	if bucket != nil {
		access.BucketPublic = bucket.GetType() == metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC
	}
	if err := policy.DecideAnyName(c.principal, access, h.now()); err != nil {
		return err
	}
	if bucket == nil {
		return errs.Errorf(errs.ObjectNotFound, "b2.download", "file not present")
	}
	got, err := h.meta.GetObject(r.Context(), &metadatav1.GetObjectRequest{BucketId: bucketID, VersionId: q.FileID})
	if err != nil {
		return err
	}
	v := got.GetVersion()
	access.Name = v.GetKey()
	if err := h.decide(c, access); err != nil {
		return err
	}
	return h.serveVersion(w, r, c, bucket, v)
}

// serveVersion writes a version's bytes (or a range of them) with B2's
// download headers (spec/b2-native.md §6.3).
func (h *Handler) serveVersion(w http.ResponseWriter, r *http.Request, c *call, bucket *metadatav1.Bucket, v *metadatav1.ObjectVersion) error {
	if v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_UPLOAD {
		return errs.Errorf(errs.ObjectNotFound, "b2.download", "file not present")
	}
	enc, err := requestSSE(r.Header)
	if err != nil {
		return err
	}
	if enc.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 {
		return errs.Errorf(errs.InvalidArgument, "b2.download", "X-Bz-Server-Side-Encryption is not a download header")
	}
	if err := objects.CheckReadKey(v.GetEncryption(), enc); err != nil {
		if e := errs.As(err); e != nil && e.Kind == errs.PermissionDenied {
			// A wrong customer key: b2sdk reads 403 access_denied on a
			// download as an SSE-C key error.
			return withCode(e, 403, "access_denied")
		}
		return err
	}
	rng, partial := objects.Range{Start: 0, Length: v.GetSize()}, false
	if rh := r.Header.Get("Range"); rh != "" {
		if rng, partial, err = objects.ParseRange(rh, v.GetSize(), false); err != nil {
			return err
		}
	}
	overrides, err := downloadOverrides(r, c)
	if err != nil {
		return err
	}
	h.setDownloadHeaders(w.Header(), c, bucket, v, overrides)
	return h.objects.ServeRange(w, r, v, rng, partial, objects.ReadOptions{Encryption: enc})
}

// setDownloadHeaders writes the headers of a download.
func (h *Handler) setDownloadHeaders(hd http.Header, c *call, bucket *metadatav1.Bucket, v *metadatav1.ObjectVersion, overrides map[string]string) {
	ct := v.GetContentType()
	if ct == "" {
		ct = "application/octet-stream"
	}
	hd.Set("Content-Type", ct)
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("X-Bz-File-Name", encodeHeader(v.GetKey()))
	hd.Set("X-Bz-File-Id", v.GetVersionId())
	sha := v.GetContentSha1()
	if sha == "" {
		sha = "none"
	}
	hd.Set("X-Bz-Content-Sha1", sha)
	hd.Set("X-Bz-Upload-Timestamp", millis(v.GetCreateTimeUnixNanos()))
	info := v.GetInfo()
	for key, val := range info {
		if strings.HasPrefix(key, "b2-") {
			continue
		}
		// Set directly: Go would canonicalise the info name.
		hd[infoHeaderPrefix+key] = []string{encodeHeader(val)}
	}
	for _, ci := range contentInfo {
		if val := info[ci.info]; val != "" {
			hd.Set(ci.header, val)
		}
	}
	if hd.Get("Cache-Control") == "" {
		// The bucket's cache-control info applies to files without their own.
		if cc := bucket.GetInfo()["cache-control"]; cc != "" {
			hd.Set("Cache-Control", cc)
		}
	}
	switch sse := v.GetEncryption(); sse.GetMode() {
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2:
		hd.Set("X-Bz-Server-Side-Encryption", "AES256")
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C:
		hd.Set("X-Bz-Server-Side-Encryption-Customer-Algorithm", "AES256")
		hd.Set("X-Bz-Server-Side-Encryption-Customer-Key-Md5", sse.GetCustomerKeyMd5())
	}
	if bucket.GetFileLock().GetEnabled() {
		var hidden []string
		if hasCapability(c.principal, policy.ReadFileRetentions) {
			if m := modeName(v.GetRetention().GetMode()); m != "" {
				hd.Set("X-Bz-File-Retention-Mode", m)
				hd.Set("X-Bz-File-Retention-Retain-Until-Timestamp", strconv.FormatInt(v.GetRetention().GetRetainUntilUnixMillis(), 10))
			}
		} else {
			hidden = append(hidden, "X-Bz-File-Retention-Mode", "X-Bz-File-Retention-Retain-Until-Timestamp")
		}
		if hasCapability(c.principal, policy.ReadFileLegalHolds) {
			if lh, ok := legalHoldName(v.GetLegalHold()).(string); ok {
				hd.Set("X-Bz-File-Legal-Hold", lh)
			}
		} else {
			hidden = append(hidden, "X-Bz-File-Legal-Hold")
		}
		if len(hidden) > 0 {
			hd.Set("X-Bz-Client-Unauthorized-To-Read", strings.Join(hidden, ","))
		}
	}
	for header, val := range overrides {
		hd.Set(header, val)
	}
}

// overrideParams are the b2Content* query parameters of a download, with
// the header each sets and its field in a download authorization.
var overrideParams = []struct {
	param, header string
	bound         func(*authv1.DownloadOverrides) string
}{
	{"b2ContentDisposition", "Content-Disposition", (*authv1.DownloadOverrides).GetContentDisposition},
	{"b2ContentLanguage", "Content-Language", (*authv1.DownloadOverrides).GetContentLanguage},
	{"b2Expires", "Expires", (*authv1.DownloadOverrides).GetExpires},
	{"b2CacheControl", "Cache-Control", (*authv1.DownloadOverrides).GetCacheControl},
	{"b2ContentEncoding", "Content-Encoding", (*authv1.DownloadOverrides).GetContentEncoding},
	{"b2ContentType", "Content-Type", (*authv1.DownloadOverrides).GetContentType},
}

// downloadOverrides works out the response headers a download's b2Content*
// parameters set. B2 takes them only from a caller with a token: anonymous
// ones on a public bucket would let anyone serve an uploaded file as, say,
// inline HTML from the store's origin. A download authorization minted with
// some of them binds them: its values apply, and a request asking for
// another value is refused.
func downloadOverrides(r *http.Request, c *call) (map[string]string, error) {
	const op = "b2.download"
	q := r.URL.Query()
	out := map[string]string{}
	for _, o := range overrideParams {
		asked, bound := q.Get(o.param), o.bound(c.overrides)
		switch {
		case asked != "" && c.principal.GetAnonymous():
			return nil, errs.Errorf(errs.PermissionDenied, op, "%s requires an authorization token", o.param)
		case bound != "" && asked != "" && asked != bound:
			return nil, errs.Errorf(errs.PermissionDenied, op, "%s does not match the download authorization", o.param)
		case bound != "":
			out[o.header] = bound
		case asked != "":
			out[o.header] = asked
		}
	}
	return out, nil
}

func hasCapability(p *authv1.Principal, capability string) bool {
	for _, c := range p.GetCapabilities() {
		if c == capability {
			return true
		}
	}
	return false
}
