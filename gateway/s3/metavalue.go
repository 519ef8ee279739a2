package s3

import (
	"mime"
	"strings"
	"unicode/utf8"
)

// User metadata values are stored as Unicode (they are B2 file info too),
// but HTTP header values are bytes, and clients disagree on their charset:
// Python's http.client (boto3, aws-cli, s3cmd), Node and Java read response
// header bytes as ISO-8859-1, as HTTP historically defines them, while Go
// reads them as UTF-8. S3 decodes RFC 2047 encoded-words on the way in and
// encodes non-ASCII values as RFC 2047 on the way out ("mail-safe"), which
// no SDK decodes. We keep S3's input rule and, on output, send a value
// whose characters all fit in ISO-8859-1 as those bytes — so boto3's
// `Hello Worldé` round-trips (ceph s3-tests'
// test_object_set_get_unicode_metadata) — and anything wider as S3 does,
// RFC 2047.

// decodeMetaValue turns a received x-amz-meta-* value into the stored
// Unicode string: RFC 2047 encoded-words are decoded (as S3 does), and
// bytes that are not UTF-8 are read as ISO-8859-1, HTTP's own charset.
func decodeMetaValue(v string) string {
	if strings.Contains(v, "=?") {
		if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
			v = d
		}
	}
	if utf8.ValidString(v) {
		return v
	}
	return latin1ToUTF8(v)
}

// encodeMetaValue is the header form of a stored value (see above).
func encodeMetaValue(v string) string {
	latin1 := true
	ascii := true
	for _, r := range v {
		if r >= utf8.RuneSelf {
			ascii = false
		}
		if r > 0xff {
			latin1 = false
			break
		}
	}
	switch {
	case ascii:
		return v
	case latin1:
		b := make([]byte, 0, len(v))
		for _, r := range v {
			b = append(b, byte(r))
		}
		return string(b)
	}
	return mime.BEncoding.Encode("UTF-8", v)
}

func latin1ToUTF8(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		b.WriteRune(rune(v[i]))
	}
	return b.String()
}
