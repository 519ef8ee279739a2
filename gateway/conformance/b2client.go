package conformance

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// B2Target is a B2 Native API endpoint (the realm clients authorize at)
// and an application key with every capability.
type B2Target struct {
	Endpoint string // http://host:port
	KeyID    string
	Key      string
}

// B2 is a raw B2 Native API client for one API version: it sends exactly
// the requests the suite describes and returns the status and JSON, so
// shapes and error codes are checked as received (the blazer tests cover a
// real client's view).
type B2 struct {
	t       testing.TB
	Version int
	HTTP    *http.Client
	// From b2_authorize_account.
	AccountID   string
	Token       string
	APIURL      string
	DownloadURL string
	// Auth is the raw authorize response.
	Auth map[string]any
}

// B2Response is a B2 call's answer.
type B2Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r *B2Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object (%d): %v: %s", r.Status, err, truncateBody(r.Body))
	}
	return m
}

// Into decodes the body into v.
func (r *B2Response) Into(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, truncateBody(r.Body))
	}
}

func truncateBody(b []byte) string {
	if len(b) > 512 {
		return string(b[:512]) + "…"
	}
	return string(b)
}

// NewB2 authorizes with tg's key on API version ver.
func NewB2(t testing.TB, tg B2Target, ver int) *B2 {
	return NewB2WithKey(t, tg.Endpoint, tg.KeyID, tg.Key, ver)
}

// NewB2WithKey authorizes with another key.
func NewB2WithKey(t testing.TB, endpoint, keyID, key string, ver int) *B2 {
	t.Helper()
	c := &B2{t: t, Version: ver, HTTP: &http.Client{Timeout: 5 * time.Minute}}
	resp := c.Authorize(endpoint, keyID, key, http.MethodGet)
	if resp.Status != 200 {
		t.Fatalf("b2_authorize_account v%d: %d %s", ver, resp.Status, resp.Body)
	}
	c.Auth = resp.JSON(t)
	c.AccountID, _ = c.Auth["accountId"].(string)
	c.Token, _ = c.Auth["authorizationToken"].(string)
	storage := c.Auth
	if ver >= 3 {
		info, _ := c.Auth["apiInfo"].(map[string]any)
		storage, _ = info["storageApi"].(map[string]any)
	}
	c.APIURL, _ = storage["apiUrl"].(string)
	c.DownloadURL, _ = storage["downloadUrl"].(string)
	if c.Token == "" || c.APIURL == "" || c.DownloadURL == "" {
		t.Fatalf("authorize v%d lacks token or URLs: %s", ver, resp.Body)
	}
	return c
}

// Authorize calls b2_authorize_account with Basic credentials by method
// (GET, or POST with {} as old clients send it).
func (c *B2) Authorize(endpoint, keyID, key, method string) *B2Response {
	c.t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, fmt.Sprintf("%s/b2api/v%d/b2_authorize_account", endpoint, c.Version), body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(keyID+":"+key)))
	return c.Do(req)
}

// Do sends a request and reads the whole answer.
func (c *B2) Do(req *http.Request) *B2Response {
	c.t.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", req.Method, req.URL, err)
	}
	return &B2Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Call POSTs a JSON call with the client's token.
func (c *B2) Call(name string, body any) *B2Response {
	c.t.Helper()
	return c.CallWith(c.Token, name, body)
}

// CallWith POSTs a JSON call with another token ("" for none).
func (c *B2) CallWith(token, name string, body any) *B2Response {
	c.t.Helper()
	var data []byte
	switch b := body.(type) {
	case []byte:
		data = b
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/b2api/v%d/%s", c.APIURL, c.Version, name), bytes.NewReader(data))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

// Get calls a JSON call by GET with query parameters.
func (c *B2) Get(name string, params url.Values) *B2Response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/b2api/v%d/%s?%s", c.APIURL, c.Version, name, params.Encode()), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", c.Token)
	return c.Do(req)
}

// Must calls name and fails the test unless it answers 200; it returns the
// JSON object.
func (c *B2) Must(name string, body any) map[string]any {
	c.t.Helper()
	resp := c.Call(name, body)
	if resp.Status != 200 {
		c.t.Fatalf("%s: %d %s", name, resp.Status, truncateBody(resp.Body))
	}
	return resp.JSON(c.t)
}

// WantB2Error fails unless resp is a B2 JSON error with status and code.
func WantB2Error(t testing.TB, resp *B2Response, status int, code string) {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("want %d %s, got %d: %s", status, code, resp.Status, truncateBody(resp.Body))
	}
	var e struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(resp.Body, &e); err != nil {
		t.Fatalf("error body is not B2 JSON: %v: %s", err, truncateBody(resp.Body))
	}
	if e.Status != status || (code != "" && e.Code != code) || e.Message == "" {
		t.Fatalf("want {status:%d, code:%s, message}, got %+v", status, code, e)
	}
}

// CreateBucket creates a bucket of type typ and deletes it (with every
// version) when the test ends.
func (c *B2) CreateBucket(prefix, typ string, extra map[string]any) map[string]any {
	c.t.Helper()
	req := map[string]any{"accountId": c.AccountID, "bucketName": BucketName(prefix), "bucketType": typ}
	for k, v := range extra {
		req[k] = v
	}
	b := c.Must("b2_create_bucket", req)
	id := b["bucketId"].(string)
	c.t.Cleanup(func() { c.EmptyAndDeleteBucket(id) })
	return b
}

// EmptyAndDeleteBucket removes every version and unfinished large file of
// a bucket, then the bucket.
func (c *B2) EmptyAndDeleteBucket(bucketID string) {
	c.t.Helper()
	for {
		resp := c.Call("b2_list_file_versions", map[string]any{"bucketId": bucketID, "maxFileCount": 1000})
		if resp.Status != 200 {
			c.t.Errorf("cleanup list %s: %d %s", bucketID, resp.Status, resp.Body)
			return
		}
		var page struct {
			Files []struct {
				FileID   string `json:"fileId"`
				FileName string `json:"fileName"`
			} `json:"files"`
		}
		resp.Into(c.t, &page)
		if len(page.Files) == 0 {
			break
		}
		for _, f := range page.Files {
			d := c.Call("b2_delete_file_version", map[string]any{"fileId": f.FileID, "fileName": f.FileName, "bypassGovernance": true})
			if d.Status != 200 {
				c.t.Errorf("cleanup delete %s: %d %s", f.FileName, d.Status, d.Body)
				return
			}
		}
	}
	if resp := c.Call("b2_delete_bucket", map[string]any{"accountId": c.AccountID, "bucketId": bucketID}); resp.Status != 200 {
		c.t.Errorf("cleanup delete bucket %s: %d %s", bucketID, resp.Status, resp.Body)
	}
}

// UploadURL returns a fresh upload URL and token for a bucket.
func (c *B2) UploadURL(bucketID string) (uploadURL, token string) {
	c.t.Helper()
	u := c.Must("b2_get_upload_url", map[string]any{"bucketId": bucketID})
	return u["uploadUrl"].(string), u["authorizationToken"].(string)
}

// UploadRaw POSTs body to an upload URL with the given headers (the
// Authorization header is the upload token).
func (c *B2) UploadRaw(uploadURL, token string, body []byte, headers map[string]string) *B2Response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, uploadURL, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.Do(req)
}

// Upload stores body as name (with X-Bz-Info-* from info) and returns the
// file object.
func (c *B2) Upload(bucketID, name string, body []byte, info map[string]string) map[string]any {
	c.t.Helper()
	uu, tok := c.UploadURL(bucketID)
	h := map[string]string{
		"X-Bz-File-Name":    EncodeB2Name(name),
		"Content-Type":      "text/plain",
		"X-Bz-Content-Sha1": SHA1Hex(body),
	}
	for k, v := range info {
		h["X-Bz-Info-"+k] = EncodeB2Name(v)
	}
	resp := c.UploadRaw(uu, tok, body, h)
	if resp.Status != 200 {
		c.t.Fatalf("upload %s: %d %s", name, resp.Status, resp.Body)
	}
	return resp.JSON(c.t)
}

// DownloadByName GETs (or HEADs) /file/<bucket>/<name> with the client's
// token (token "" for none) and extra headers.
func (c *B2) DownloadByName(method, bucket, name, token string, headers map[string]string) *B2Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.DownloadURL+"/file/"+bucket+"/"+EncodeB2Name(name), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.Do(req)
}

// DownloadByID GETs b2_download_file_by_id.
func (c *B2) DownloadByID(method, fileID, token string, headers map[string]string) *B2Response {
	c.t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("%s/b2api/v%d/b2_download_file_by_id?fileId=%s", c.DownloadURL, c.Version, url.QueryEscape(fileID)), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.Do(req)
}

// SHA1Hex is the hex SHA-1 of b.
func SHA1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// EncodeB2Name percent-encodes a file name as B2 clients do: every byte
// but the unreserved set and '/'.
func EncodeB2Name(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || strings.IndexByte("-._~/", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}
