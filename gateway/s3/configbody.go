package s3

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"

	"github.com/coffer-project/coffer/gateway/objects"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Limits on configuration bodies (spec/reliability.md §3.8).
const (
	maxCORSBody          = 64 << 10
	maxDeleteObjectsBody = 2 << 20
	maxDeleteObjectsKeys = 1000
)

// configBody reads a bounded configuration or DeleteObjects body with every
// digest the client announced verified: the signed payload hash, aws-chunked
// signatures, Content-MD5 and x-amz-checksum-* (which on these requests
// describe the XML itself). requireDigest refuses a body with neither
// Content-MD5 nor a checksum, as S3 does for DeleteObjects, PutBucketCors,
// lifecycle and Object Lock settings — new SDKs send a CRC32 instead of
// Content-MD5, and either is accepted.
func (h *Handler) configBody(r *http.Request, c *call, limit int64, requireDigest bool) ([]byte, error) {
	const op = "s3.body"
	body, expect, err := h.requestBody(r, c)
	if err != nil {
		return nil, err
	}
	if requireDigest && expect.ContentMD5 == "" && expect.Algorithm == metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED {
		return nil, errs.Errorf(errs.InvalidRequest, op, "Missing required header for this request: Content-MD5 or x-amz-checksum-*")
	}
	if expect.Size > limit {
		return nil, errs.Errorf(errs.MalformedBody, op, "The request body is too large.")
	}
	d := objects.NewReader(body, expect, limit)
	defer d.Close()
	out, err := io.ReadAll(d)
	if err != nil {
		if errs.KindOf(err) == errs.EntityTooLarge {
			return nil, errs.Errorf(errs.MalformedBody, op, "The request body is too large.")
		}
		if errs.As(err) == nil {
			return nil, errs.E(errs.IncompleteBody, op, err)
		}
		return nil, err
	}
	return out, nil
}

// decodeXML decodes a configuration document into v, a fixed struct whose
// XMLName names the required root element (any namespace). Unknown elements
// are skipped; anything that is not well-formed, has another root, or
// carries trailing content is MalformedXML.
func decodeXML(body []byte, v any) error {
	const op = "s3.xml"
	if len(bytes.TrimSpace(body)) == 0 {
		return errs.Errorf(errs.MalformedBody, op, "The XML you provided was not well-formed or did not validate against our published schema")
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		return errs.E(errs.MalformedBody, op, err)
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errs.E(errs.MalformedBody, op, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errs.Errorf(errs.MalformedBody, op, "The XML you provided was not well-formed or did not validate against our published schema")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errs.Errorf(errs.MalformedBody, op, "The XML you provided was not well-formed or did not validate against our published schema")
		}
	}
}
