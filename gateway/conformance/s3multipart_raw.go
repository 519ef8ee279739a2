package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// testMultipartRawErrors sends completion bodies no SDK would send.
func testMultipartRawErrors(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := mpBucket(t, c, "mp-raw")
	key := "raw-key"
	data := newMemData(140, 10)
	id, done, _ := uploadParts(ctx, t, c, b, key, data, splitParts(data.Size), nil)
	path := "/" + b + "/raw-key?uploadId=" + url.QueryEscape(id)
	part := func(n int) string {
		return fmt.Sprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", n, aws.ToString(done[0].ETag))
	}
	many := make([]string, 10001)
	for i := range many {
		many[i] = part(i + 1)
	}
	huge := "<CompleteMultipartUpload>" + part(1) + "<!--" + strings.Repeat("x", 2<<20) + "--></CompleteMultipartUpload>"
	for _, tc := range []struct {
		name, body string
		code       string
		status     int
	}{
		{"not xml", "garbage", "MalformedXML", 400},
		{"empty", "", "MalformedXML", 400},
		{"wrong root", "<Complete>" + part(1) + "</Complete>", "MalformedXML", 400},
		{"no parts", "<CompleteMultipartUpload></CompleteMultipartUpload>", "MalformedXML", 400},
		{"10,001 parts", "<CompleteMultipartUpload>" + strings.Join(many, "") + "</CompleteMultipartUpload>", "MalformedXML", 400},
		{"over 2 MiB", huge, "MalformedXML", 400},
		{"deep nesting", "<CompleteMultipartUpload>" + strings.Repeat("<Part>", 5000) + strings.Repeat("</Part>", 5000) + "</CompleteMultipartUpload>", "MalformedXML", 400},
		{"bad part number", "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>", "MalformedXML", 400},
		{"bad etag", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>nope</ETag></Part></CompleteMultipartUpload>", "InvalidPart", 400},
		{"unsorted", "<CompleteMultipartUpload>" + part(2) + part(1) + "</CompleteMultipartUpload>", "InvalidPartOrder", 400},
	} {
		resp := tg.Signed(t, http.MethodPost, path, []byte(tc.body), nil)
		if resp.Status != tc.status || resp.Code() != tc.code {
			t.Fatalf("%s: %d %s, want %d %s: %s", tc.name, resp.Status, resp.Code(), tc.status, tc.code, resp.Body)
		}
		if resp.Header.Get("x-amz-request-id") == "" {
			t.Fatalf("%s: no x-amz-request-id", tc.name)
		}
	}
	// A body that does not match its signed payload hash is refused.
	good := []byte("<CompleteMultipartUpload>" + part(1) + "</CompleteMultipartUpload>")
	other := sha256.Sum256([]byte("something else"))
	if r := tg.Signed(t, http.MethodPost, path, good, http.Header{"X-Amz-Content-Sha256": {hex.EncodeToString(other[:])}}); r.Status != 400 || r.Code() != "XAmzContentSHA256Mismatch" {
		t.Fatalf("payload hash mismatch on complete: %d %s", r.Status, r.Code())
	}
	// Nothing was created by any refused completion; a good one works.
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
	WantError(t, err, "", 404)
	if r := tg.Signed(t, http.MethodPost, path, good, nil); r.Status != 200 {
		t.Fatalf("complete with a hand-written body: %d %s", r.Status, r.Body)
	}
	// Anonymous multipart calls are refused.
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(m, tg.Endpoint+"/"+b+"/raw-key?uploads", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("anonymous %s ?uploads: %d", m, resp.StatusCode)
		}
	}
}
