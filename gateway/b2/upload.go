package b2

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"hash"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/gateway/objects"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Uploads: b2_get_upload_url hands out a URL and an upload token bound to
// the bucket; b2_upload_file streams the body through the object layer's
// digest-checking reader (spec/b2-native.md §5.1, §5.2). Any gateway accepts
// any upload URL: the token carries the authority, not the URL (§6.4).

// X-Bz-Content-Sha1 values other than a hex digest.
const (
	sha1AtEnd       = "hex_digits_at_end"
	sha1DoNotVerify = "do_not_verify"
)

// autoContentType asks the server to pick the type from the name.
const autoContentType = "b2/x-auto"

type getUploadURLRequest struct {
	BucketID string `json:"bucketId"`
}

func (q *getUploadURLRequest) check() error {
	if q.BucketID == "" {
		return required("bucketId")
	}
	return nil
}

type uploadURLResponse struct {
	BucketID           string `json:"bucketId,omitempty"`
	FileID             string `json:"fileId,omitempty"`
	UploadURL          string `json:"uploadUrl"`
	AuthorizationToken string `json:"authorizationToken"`
}

// nonce makes each upload URL unique; it carries no authority.
func nonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// uploadURL builds an upload URL for target on the call's API version.
func (h *Handler) uploadURL(r *http.Request, c *call, kind, target string) string {
	return h.apiBase(r) + APIPrefix + "v" + itoa(c.route.Version) + "/" + kind + "/" + target + "/" + nonce()
}

func (h *Handler) getUploadURL(w http.ResponseWriter, r *http.Request, c *call) error {
	var q getUploadURLRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	if err := h.decideAnyName(c, &authv1.Access{Capability: policy.WriteFiles, BucketId: q.BucketID}); err != nil {
		return err
	}
	if _, err := h.bucketByID(r, q.BucketID); err != nil {
		return err
	}
	tok, err := h.auth.CreateUploadToken(r.Context(), &authv1.CreateUploadTokenRequest{AccountToken: c.token, Target: q.BucketID})
	if err != nil {
		return err
	}
	return writeJSON(w, uploadURLResponse{
		BucketID: q.BucketID, UploadURL: h.uploadURL(r, c, "b2_upload_file", q.BucketID),
		AuthorizationToken: tok.GetAuthorizationToken(),
	})
}

// uploadHeaders is what an upload's headers say about its body.
type uploadHeaders struct {
	name        string
	contentType string
	info        map[string]string
	expect      objects.Expect
	// atEnd: the body ends with the hex SHA-1 of what precedes it.
	atEnd bool
	// unverified: the client sent do_not_verify.
	unverified bool
	// encryption is what the request asks for (SSE-B2, or SSE-C with its
	// key); the zero value means the bucket's default.
	encryption objects.Encryption
	// retention and legalHold are a new file's lock settings, which need
	// the extra capabilities.
	retention    *metadatav1.Retention
	legalHold    metadatav1.LegalHold
	capabilities []string
}

// requestSSE reads an upload's or download's encryption headers:
// X-Bz-Server-Side-Encryption: AES256 for SSE-B2, or the SSE-C triple.
func requestSSE(h http.Header) (objects.Encryption, error) {
	const op = "b2.sse"
	alg := h.Get("X-Bz-Server-Side-Encryption-Customer-Algorithm")
	key := h.Get("X-Bz-Server-Side-Encryption-Customer-Key")
	md5 := h.Get("X-Bz-Server-Side-Encryption-Customer-Key-Md5")
	sse := h.Get("X-Bz-Server-Side-Encryption")
	switch {
	case sse != "" && (alg != "" || key != ""):
		return objects.Encryption{}, errs.Errorf(errs.InvalidArgument, op, "SSE-B2 and SSE-C cannot be combined")
	case sse != "":
		if sse != "AES256" {
			return objects.Encryption{}, errs.Errorf(errs.InvalidArgument, op, "X-Bz-Server-Side-Encryption must be AES256")
		}
		return objects.Encryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2}, nil
	case alg != "" || key != "" || md5 != "":
		return objects.NewCustomerKey(alg, key, md5, false)
	}
	return objects.Encryption{}, nil
}

// lockHeaders reads a new file's X-Bz-File-Retention-* and
// X-Bz-File-Legal-Hold headers.
func lockHeaders(h http.Header) (*metadatav1.Retention, metadatav1.LegalHold, []string, error) {
	var ret *fileRetentionJSON
	mode, until := h.Get("X-Bz-File-Retention-Mode"), h.Get("X-Bz-File-Retention-Retain-Until-Timestamp")
	if mode != "" || until != "" {
		ret = &fileRetentionJSON{}
		if mode != "" {
			ret.Mode = &mode
		}
		if until != "" {
			n := num(until)
			ret.RetainUntilTimestamp = &n
		}
	}
	var hold *string
	if v := h.Get("X-Bz-File-Legal-Hold"); v != "" {
		hold = &v
	}
	return lockSettings(ret, hold)
}

// parseUploadHeaders reads the headers b2_upload_file and b2_upload_part
// share: Content-Length and X-Bz-Content-Sha1, plus for files the name,
// content type and file info.
func (h *Handler) parseUploadHeaders(r *http.Request, file bool) (*uploadHeaders, error) {
	const op = "b2.upload"
	u := &uploadHeaders{expect: objects.Expect{Size: r.ContentLength}}
	if r.ContentLength < 0 {
		return nil, errs.Errorf(errs.MissingContentLength, op, "Content-Length is required (chunked bodies are not accepted)")
	}
	switch sum := r.Header.Get("X-Bz-Content-Sha1"); {
	case sum == "":
		return nil, errs.Errorf(errs.InvalidArgument, op, "X-Bz-Content-Sha1 is required")
	case sum == sha1AtEnd:
		if r.ContentLength < 40 {
			return nil, errs.Errorf(errs.InvalidArgument, op, "with hex_digits_at_end the body must end with 40 hex digits")
		}
		u.atEnd = true
		u.expect.Size = r.ContentLength - 40
	case sum == sha1DoNotVerify:
		u.unverified = true
	case isHexSHA1(sum):
		u.expect.SHA1Hex = strings.ToLower(sum)
	default:
		return nil, errs.Errorf(errs.InvalidArgument, op, "X-Bz-Content-Sha1 must be 40 hex digits, hex_digits_at_end or do_not_verify")
	}
	if max := h.objects.MaxObjectSize; max > 0 && u.expect.Size > max {
		return nil, errs.Errorf(errs.EntityTooLarge, op, "the content is larger than %d bytes", max)
	}
	enc, err := requestSSE(r.Header)
	if err != nil {
		return nil, err
	}
	u.encryption = enc
	if !file {
		return u, nil
	}
	if u.retention, u.legalHold, u.capabilities, err = lockHeaders(r.Header); err != nil {
		return nil, err
	}
	if r.Header.Get("X-Bz-Custom-Upload-Timestamp") != "" {
		return nil, errs.Errorf(errs.Unimplemented, op, "custom upload timestamps are not supported")
	}
	name, err := decodeName(r.Header.Get("X-Bz-File-Name"))
	if err != nil {
		return nil, err
	}
	u.name = name
	raw, err := infoFromHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	// Encryption and file lock settings shrink the header budget.
	tight := enc.Encrypted() || u.retention != nil || u.legalHold != metadatav1.LegalHold_LEGAL_HOLD_UNSPECIFIED
	if u.info, err = parseFileInfo(name, raw, tight); err != nil {
		return nil, err
	}
	u.contentType = contentTypeFor(r.Header.Get("Content-Type"), name)
	return u, nil
}

// contentTypeFor resolves b2/x-auto (or no type) from the file name's
// extension, defaulting to application/octet-stream.
func contentTypeFor(ct, name string) string {
	if ct != "" && ct != autoContentType {
		return ct
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// body returns the request body to store: as is, or with the trailing hex
// SHA-1 of hex_digits_at_end split off and checked at EOF.
func (u *uploadHeaders) body(r io.Reader) io.Reader {
	if !u.atEnd {
		return r
	}
	return &trailingSHA1{r: r, remaining: u.expect.Size, h: sha1.New()}
}

// uploadFile is b2_upload_file at an upload URL.
func (h *Handler) uploadFile(w http.ResponseWriter, r *http.Request, c *call) error {
	release, err := h.uploads.acquire(c.token)
	if err != nil {
		return err
	}
	defer release()
	u, err := h.parseUploadHeaders(r, true)
	if err != nil {
		return err
	}
	bucket, err := h.authorizedBucket(r, c, c.route.Target, policy.WriteFiles, u.name)
	if err != nil {
		return err
	}
	for _, capability := range u.capabilities {
		if err := h.decide(c, &authv1.Access{Capability: capability, BucketId: c.route.Target, Name: u.name}); err != nil {
			return err
		}
	}
	v, err := h.objects.Put(r.Context(), objects.PutInput{
		Bucket: bucket, Key: u.name, Body: u.body(r.Body), Expect: u.expect,
		ContentType: u.contentType, Info: u.info,
		Encryption: u.encryption.Metadata(), CustomerKey: u.encryption.CustomerKey,
		Retention: u.retention, LegalHold: u.legalHold, SHA1Unverified: u.unverified,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, fileOf(c.principal, c.route.Version, c.accountID(), v))
}

// trailingSHA1 passes on the first remaining bytes of r and checks that the
// 40 bytes after them are the hex SHA-1 of what it passed. A mismatch is
// the reader's error in place of io.EOF, so the object layer aborts the
// write and nothing is committed.
type trailingSHA1 struct {
	r         io.Reader
	remaining int64
	h         hash.Hash
	err       error
}

func (t *trailingSHA1) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if t.remaining == 0 {
		t.err = t.finish()
		return 0, t.err
	}
	if int64(len(p)) > t.remaining {
		p = p[:t.remaining]
	}
	n, err := t.r.Read(p)
	t.h.Write(p[:n])
	t.remaining -= int64(n)
	if err == io.EOF && t.remaining > 0 {
		t.err = errs.Errorf(errs.IncompleteBody, "b2.upload", "the body ended before Content-Length bytes")
		return n, t.err
	}
	if err != nil && err != io.EOF {
		t.err = err
		return n, err
	}
	return n, nil
}

func (t *trailingSHA1) finish() error {
	const op = "b2.upload"
	var trailer [40]byte
	if _, err := io.ReadFull(t.r, trailer[:]); err != nil {
		return errs.Errorf(errs.IncompleteBody, op, "the body ended before its trailing SHA-1")
	}
	var extra [1]byte
	if n, _ := t.r.Read(extra[:]); n > 0 {
		return errs.Errorf(errs.InvalidRequest, op, "the body is longer than Content-Length")
	}
	got := hex.EncodeToString(t.h.Sum(nil))
	if !isHexSHA1(string(trailer[:])) || !strings.EqualFold(got, string(trailer[:])) {
		return errs.Errorf(errs.BadDigest, op, "Sha1 did not match data received")
	}
	return io.EOF
}
