package console_test

import (
	"encoding/base64"
	"net/http"

	"github.com/coffer-project/coffer/gateway/conformance"
)

func basic(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}

// uploadAs stores body as name with a content type and file info, through
// the B2 API.
func (e *env) uploadAs(bucketID, name, contentType string, body []byte, info map[string]string) map[string]any {
	e.t.Helper()
	uu, tok := e.b2.UploadURL(bucketID)
	h := map[string]string{
		"X-Bz-File-Name":    conformance.EncodeB2Name(name),
		"Content-Type":      contentType,
		"X-Bz-Content-Sha1": conformance.SHA1Hex(body),
	}
	for k, v := range info {
		h["X-Bz-Info-"+k] = conformance.EncodeB2Name(v)
	}
	resp := e.b2.UploadRaw(uu, tok, body, h)
	if resp.Status != 200 {
		e.t.Fatalf("upload %s: %d %s", name, resp.Status, resp.Body)
	}
	return resp.JSON(e.t)
}

// httpGetAuth GETs url with an Authorization header.
func httpGetAuth(url, token string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", token)
	return http.DefaultClient.Do(req)
}
