package s3

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	"github.com/coffer-project/coffer/authd/sigv4"
	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// POST Object: a browser uploads a file with an HTML form (multipart/
// form-data) to the bucket's URL. The form's fields carry the key, the
// object's headers and a policy signed with SigV4; the file is the last
// part. The fields are read first (bounded), the policy's signature is
// verified through the credential cache (authd on a miss), the policy's
// conditions are checked, and only then is the file streamed — never
// buffered — through the same digest-checking object layer as PutObject,
// with the policy's content-length-range enforced as the bytes pass.
// Nothing is stored unless every check passed and the file ended cleanly.

const opPost = "s3.PostObject"

// maxPostFields bounds the form's fields before the file (S3: 20 KB).
const maxPostFields = 20 << 10

// postForm is a form read up to its file.
type postForm struct {
	// fields are the form's fields by lower-case name; a repeated field's
	// values are joined with commas, as S3's policy matching expects.
	fields map[string]string
	file   io.Reader
	// fileName is the file's name without any directory (${filename}).
	fileName string
}

func malformedPOST() error {
	return errs.Errorf(errs.InvalidArgument, opPost, "The body of your POST request is not well-formed multipart/form-data.").
		WithDetail("s3_code", "MalformedPOSTRequest")
}

func missingField(name string) error {
	return errs.Errorf(errs.InvalidArgument, opPost,
		"Bucket POST must contain a field named '%s'.  If it is specified, please check the order of the fields.", name).
		WithDetail("argument_name", name).WithDetail("argument_value", "")
}

// readPostForm reads a multipart/form-data body up to its file part.
func readPostForm(r *http.Request) (*postForm, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, errs.Errorf(errs.PreconditionFailed, opPost, "Bucket POST must be of the enclosure-type multipart/form-data.").
			WithDetail("condition", "Bucket POST must be of the enclosure-type-multipart/form-data").WithDetail(s3Text, "true")
	}
	if params["boundary"] == "" {
		return nil, malformedPOST()
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	form := &postForm{fields: map[string]string{}}
	budget := int64(maxPostFields)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errs.Errorf(errs.InvalidArgument, opPost, "POST requires exactly one file upload per request.").
				WithDetail("argument_name", "file").WithDetail("argument_value", "0")
		}
		if err != nil {
			return nil, malformedPOST()
		}
		name := strings.ToLower(part.FormName())
		if name == "" {
			return nil, malformedPOST()
		}
		if name == "file" {
			form.file = part
			form.fileName = part.FileName()
			if i := strings.LastIndexAny(form.fileName, `/\`); i >= 0 {
				form.fileName = form.fileName[i+1:]
			}
			return form, nil
		}
		value, err := io.ReadAll(io.LimitReader(part, budget+1))
		if err != nil {
			return nil, malformedPOST()
		}
		if budget -= int64(len(value)); budget < 0 {
			return nil, errs.Errorf(errs.InvalidArgument, opPost, "Your POST request fields preceeding the upload file was too large.").
				WithDetail("s3_code", "MaxPostPreDataLengthExceeded")
		}
		if old, ok := form.fields[name]; ok {
			form.fields[name] = old + "," + string(value)
		} else {
			form.fields[name] = string(value)
		}
	}
}

// postAuthFields are the fields of a SigV4-signed form.
var postAuthFields = []string{"policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"}

// authenticatePost verifies the form's signature of its policy and sets
// the caller's principal. A form with no authentication field at all is
// anonymous, which no coffer bucket lets write; one with some but not all
// of them lacks a field; SigV2 forms are refused as SigV2 headers are.
func (h *Handler) authenticatePost(r *http.Request, c *call, fields map[string]string) error {
	if _, v2 := fields["awsaccesskeyid"]; v2 {
		return errs.Errorf(errs.InvalidRequest, opPost, "Please use AWS4-HMAC-SHA256.")
	}
	if _, token := fields["x-amz-security-token"]; token {
		return errs.Errorf(errs.InvalidRequest, opPost, "session tokens (X-Amz-Security-Token) are not supported")
	}
	some := false
	for _, f := range postAuthFields {
		if _, ok := fields[f]; ok {
			some = true
		}
	}
	if !some {
		return errs.Errorf(errs.PermissionDenied, opPost, "Access Denied")
	}
	for _, f := range postAuthFields {
		if _, ok := fields[f]; !ok {
			return missingField(f)
		}
	}
	resp, err := h.creds.VerifyPostPolicy(r.Context(), sigv4.PostFields{
		Algorithm: fields["x-amz-algorithm"], Credential: fields["x-amz-credential"], Date: fields["x-amz-date"],
		Signature: fields["x-amz-signature"], Policy: fields["policy"],
	})
	if err != nil {
		return err
	}
	c.principal = resp.GetPrincipal()
	c.ex.KeyID = c.principal.GetKeyId()
	return nil
}

// postHeaderFields are the form fields that stand for request headers;
// x-amz-meta-* fields do too.
var postHeaderFields = map[string]bool{
	"cache-control": true, "content-disposition": true, "content-encoding": true, "content-language": true,
	"expires": true, "content-md5": true,
	"x-amz-storage-class": true, "x-amz-server-side-encryption": true,
	"x-amz-server-side-encryption-customer-algorithm": true, "x-amz-server-side-encryption-customer-key": true,
	"x-amz-server-side-encryption-customer-key-md5": true,
	"x-amz-object-lock-mode":                        true, "x-amz-object-lock-retain-until-date": true, "x-amz-object-lock-legal-hold": true,
	"x-amz-checksum-algorithm": true,
}

// postFieldsUnderstood are the other x-amz-* fields a form may carry.
var postFieldsUnderstood = map[string]bool{
	"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true, "x-amz-signature": true,
}

// formHeaders turns a form's fields into the request headers they stand
// for, so that a form's object headers are parsed and checked exactly as a
// PutObject's are. An x-amz-* field coffer does not implement is refused,
// never ignored.
func formHeaders(fields map[string]string) (http.Header, error) {
	hd := http.Header{}
	for name, v := range fields {
		switch {
		case strings.HasPrefix(name, "x-amz-meta-"), postHeaderFields[name]:
			hd.Set(name, v)
		case strings.HasPrefix(name, "x-amz-checksum-"):
			hd.Set(name, v)
		case name == "acl":
			hd.Set("x-amz-acl", v)
		case strings.HasPrefix(name, "x-amz-") && !postFieldsUnderstood[name]:
			return nil, errs.Errorf(errs.Unimplemented, opPost, "The form field %s is not supported.", name)
		}
	}
	return hd, nil
}

// sizeRange enforces a policy's content-length-range on the file as it
// streams: past the maximum it fails at once, below the minimum at EOF.
type sizeRange struct {
	r        io.Reader
	min, max int64
	n        int64
}

func (s *sizeRange) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.n > s.max {
		return 0, errs.Errorf(errs.EntityTooLarge, opPost, "Your proposed upload exceeds the maximum allowed size").
			WithDetail("max_size_allowed", strconv.FormatInt(s.max, 10)).WithDetail(s3Text, "true")
	}
	if errors.Is(err, io.EOF) && s.n < s.min {
		return n, errs.Errorf(errs.EntityTooSmall, opPost, "Your proposed upload is smaller than the minimum allowed size").
			WithDetail("proposed_size", strconv.FormatInt(s.n, 10)).WithDetail("min_size_allowed", strconv.FormatInt(s.min, 10)).
			WithDetail(s3Text, "true")
	}
	return n, err
}

type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// postObject serves a browser-form upload. It runs without the header
// authentication every other operation gets first (serve): the form's
// credentials are in its body, and are checked here before the bucket's
// existence is revealed or a byte of the file is read.
func (h *Handler) postObject(w http.ResponseWriter, r *http.Request, c *call) error {
	form, err := readPostForm(r)
	if err != nil {
		return err
	}
	fields := form.fields
	for name, v := range fields {
		fields[name] = strings.ReplaceAll(v, "${filename}", form.fileName)
	}
	key, ok := fields["key"]
	if !ok {
		return missingField("key")
	}
	c.req.Key, c.ex.Key = key, key
	if err := h.authenticatePost(r, c, fields); err != nil {
		return err
	}
	if c.bucket == nil {
		return errs.E(errs.BucketNotFound, opPost, nil).WithBucket(c.req.Bucket)
	}
	pol, err := parsePostPolicy(fields["policy"])
	if err != nil {
		return err
	}
	if err := pol.check(time.Now(), c.bucket.GetName(), fields); err != nil {
		return err
	}
	if err := h.allow(c, policy.WriteFiles, key); err != nil {
		return err
	}
	if err := objects.ValidateKey(key); err != nil {
		return err
	}
	in, err := h.postInput(r, c, form, key)
	if err != nil {
		return err
	}
	if pol.sizeSet {
		in.Body = &sizeRange{r: in.Body, min: pol.minSize, max: pol.maxSize}
	}
	v, err := h.objects.Put(r.Context(), in)
	if err != nil {
		return err
	}
	return h.postAnswer(w, r, c, fields, v)
}

// postInput builds the write a form asks for: its object headers parsed
// as PutObject's are, its tags, and the file with every digest it names.
func (h *Handler) postInput(r *http.Request, c *call, form *postForm, key string) (objects.PutInput, error) {
	fields := form.fields
	hd, err := formHeaders(fields)
	if err != nil {
		return objects.PutInput{}, err
	}
	fake := &http.Request{Header: hd}
	storageClass, err := storageClassHeader(hd, opPost)
	if err != nil {
		return objects.PutInput{}, err
	}
	if acl := hd.Get("x-amz-acl"); acl != "" && acl != bucketACL(c.bucket) {
		return objects.PutInput{}, errs.Errorf(errs.PermissionDenied, opPost, "Object ACLs must equal the bucket's ACL (%s).", bucketACL(c.bucket))
	}
	info, err := objectInfo(hd)
	if err != nil {
		return objects.PutInput{}, err
	}
	sse, customerKey, err := writeEncryption(hd, true)
	if err != nil {
		return objects.PutInput{}, err
	}
	retention, hold, err := h.objectLockHeaders(fake, c, opPost, false)
	if err != nil {
		return objects.PutInput{}, err
	}
	var tags []*metadatav1.Tag
	if doc, ok := fields["tagging"]; ok {
		if tags, err = tagsFromXML([]byte(doc)); err != nil {
			return objects.PutInput{}, err
		}
	}
	expect := objects.Expect{Size: -1}
	if md5 := hd.Get("Content-MD5"); md5 != "" {
		if raw, err := base64.StdEncoding.DecodeString(md5); err != nil || len(raw) != 16 {
			return objects.PutInput{}, errs.E(errs.InvalidDigest, opPost, nil)
		}
		expect.ContentMD5 = md5
	}
	// x-amz-checksum-algorithm without a value asks for the checksum to be
	// computed and stored; with an x-amz-checksum-<alg> value, to match it.
	algName := hd.Get("x-amz-checksum-algorithm")
	hd.Del("x-amz-checksum-algorithm")
	cr, err := parseChecksumRequest(hd, false)
	if err != nil {
		return objects.PutInput{}, err
	}
	expect.Algorithm = cr.alg
	if cr.header != "" {
		v := cr.header
		expect.Checksum = func() string { return v }
	}
	if algName != "" {
		alg, ok := objects.ParseAlgorithm(algName)
		if !ok || (cr.alg != 0 && alg != cr.alg) {
			return objects.PutInput{}, errs.Errorf(errs.InvalidRequest, opPost, "Value for x-amz-checksum-algorithm is invalid.")
		}
		expect.Algorithm = alg // computed and stored, as S3 does when no value is given
	}
	ct := fields["content-type"]
	if ct == "" {
		ct = "binary/octet-stream"
	}
	return objects.PutInput{
		Bucket: c.bucket, Key: key, Body: form.file, Expect: expect, ContentType: ct, Info: info,
		Encryption: sse, CustomerKey: customerKey, Retention: retention, LegalHold: hold, Tags: tags,
		StorageClass: storageClass,
	}, nil
}

// postAnswer answers a stored upload as the form asked: a 303 to
// success_action_redirect (with bucket, key and ETag added to its query)
// when that is a URL S3 can use, else success_action_status — 200 or 204
// empty, 201 with a PostResponse document — defaulting to 204.
func (h *Handler) postAnswer(w http.ResponseWriter, r *http.Request, c *call, fields map[string]string, v *metadatav1.ObjectVersion) error {
	hd := w.Header()
	etag := `"` + v.GetEtag() + `"`
	hd.Set("ETag", etag)
	hd.Set("x-amz-version-id", v.GetVersionId())
	location := objectURL(r, c, v.GetKey())
	hd.Set("Location", location)
	setEncryptionHeaders(hd, v.GetEncryption())
	setChecksumHeaders(hd, v.GetChecksums())
	redirect, ok := fields["success_action_redirect"]
	if !ok {
		redirect = fields["redirect"]
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		q := u.Query()
		q.Set("bucket", c.bucket.GetName())
		q.Set("key", v.GetKey())
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		hd.Set("Location", u.String())
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	switch fields["success_action_status"] {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		writeXML(w, http.StatusCreated, postResponse{Location: location, Bucket: c.bucket.GetName(), Key: v.GetKey(), ETag: etag})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// objectURL is the URL of an object as the request addressed its bucket.
func objectURL(r *http.Request, c *call, key string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	path := "/" + strings.Join(segs, "/")
	if !c.req.VirtualHost {
		path = "/" + url.PathEscape(c.bucket.GetName()) + path
	}
	return scheme + "://" + r.Host + path
}
