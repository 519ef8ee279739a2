package conformance

import (
	"context"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// testFidelityUnicodeMetadata: a non-ASCII metadata value round-trips for
// boto3 (which writes header values as Latin-1 and reads them back the
// same way, ceph's test_object_set_get_unicode_metadata) and for
// aws-sdk-go-v2 (which writes UTF-8).
func testFidelityUnicodeMetadata(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-meta")
	var got struct{ Meta1, Listed string }
	tg.Boto3(t, `
b = `+pythonString(b)+`
def set_unicode_metadata(**kwargs):
    kwargs["params"]["headers"]["x-amz-meta-meta1"] = u"Hello World\xe9"
s3.meta.events.register("before-call.s3.PutObject", set_unicode_metadata)
s3.put_object(Bucket=b, Key="foo", Body="bar")
r = s3.get_object(Bucket=b, Key="foo")
h = s3.head_object(Bucket=b, Key="foo")
out({"Meta1": r["Metadata"]["meta1"], "Listed": h["Metadata"]["meta1"]})
`, &got)
	if got.Meta1 != "Hello Worldé" || got.Listed != "Hello Worldé" {
		t.Fatalf("boto3 metadata round trip: GET %q HEAD %q", got.Meta1, got.Listed)
	}
	// Go reads header bytes as they are: a Latin-1-representable value
	// comes back as ISO-8859-1 bytes, a wider one as S3's RFC 2047 form.
	for _, v := range []string{"Zürich", "Zürich ✓ 東京"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("go"), Body: strings.NewReader("x"),
			Metadata: map[string]string{"city": v}}); err != nil {
			t.Fatal(err)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("go")})
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeHeaderValue(h.Metadata["city"]); got != v {
			t.Fatalf("aws-sdk-go-v2 metadata %q came back as %q (%q)", v, h.Metadata["city"], got)
		}
	}
	// RFC 2047 input is decoded before it is stored (as S3 does), and raw
	// ISO-8859-1 bytes are read as such.
	for _, in := range []string{"=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?=", "Hello World\xe9"} {
		raw := tg.Signed(t, http.MethodPut, "/"+b+"/enc", []byte("x"), http.Header{"X-Amz-Meta-Meta1": {in}})
		if raw.Status != 200 {
			t.Fatalf("PUT with metadata %q: %d %s", in, raw.Status, raw.Body)
		}
		tg.Boto3(t, "out(s3.head_object(Bucket="+pythonString(b)+", Key='enc')['Metadata']['meta1'])", &got.Meta1)
		if got.Meta1 != "Hello Worldé" {
			t.Fatalf("metadata sent as %q read back by boto3 as %q", in, got.Meta1)
		}
	}
}

// decodeHeaderValue reads a header value as RFC 2047 encoded-words if it
// is one, else as ISO-8859-1 bytes.
func decodeHeaderValue(v string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil && d != v {
		return d
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		b.WriteRune(rune(v[i]))
	}
	return b.String()
}
