package browsertest

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/clustertest"
)

// TestBrowserCORS loads a page from one origin in Chromium and calls the
// gateway at another (another port), asserting the browser's verdict for
// each case of issue 8.
func TestBrowserCORS(t *testing.T) {
	browser := NewBrowser(t)
	c := clustertest.Start(t)
	page := NewPage(t, "127.0.0.1")
	stranger := NewPage(t, "localhost")
	ctx := context.Background()
	tg := conformance.Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	s3c := tg.AWS(t)

	// A public-read bucket with S3 rules for the page's origin only.
	pub := conformance.BucketName("browser")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &pub, ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conformance.EmptyBucket(context.Background(), t, s3c, pub) })
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &pub, Key: aws.String("hello.txt"), Body: strings.NewReader("hello browser")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &pub, CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
		ID: aws.String("page"), AllowedOrigins: []string{page.Origin}, AllowedMethods: []string{"GET", "HEAD", "PUT"},
		AllowedHeaders: []string{"x-custom", "content-type"}, ExposeHeaders: []string{"x-amz-version-id"}, MaxAgeSeconds: aws.Int32(5),
	}}}}); err != nil {
		t.Fatal(err)
	}
	obj := c.Endpoint + "/" + pub + "/hello.txt"

	t.Run("SimpleGetAllowed", func(t *testing.T) {
		r := browser.Fetch(t, page, obj, "")
		if !r.OK || r.Status != 200 || r.Body != "hello browser" {
			t.Fatalf("the page could not read an allowed object: %+v", r)
		}
	})
	t.Run("SimpleGetOtherOriginBlocked", func(t *testing.T) {
		if r := browser.Fetch(t, stranger, obj, ""); !r.Blocked() {
			t.Fatalf("an origin no rule allows read the object: %+v", r)
		}
	})
	t.Run("PreflightAllowed", func(t *testing.T) {
		r := browser.Fetch(t, page, obj, `{headers: {"X-Custom": "1"}}`)
		if !r.OK || r.Body != "hello browser" {
			t.Fatalf("a preflighted GET with an allowed header failed: %+v", r)
		}
	})
	t.Run("PreflightDenied", func(t *testing.T) {
		if r := browser.Fetch(t, page, obj, `{headers: {"X-Other": "1"}}`); !r.Blocked() {
			t.Fatalf("a preflighted GET with a header no rule allows went through: %+v", r)
		}
	})
	t.Run("ExposedHeaders", func(t *testing.T) {
		r := browser.Fetch(t, page, obj, "", "x-amz-version-id", "x-amz-request-id")
		if !r.OK || r.Headers["x-amz-version-id"] == "" {
			t.Fatalf("the exposed header is not readable: %+v", r)
		}
		if v, ok := r.Headers["x-amz-request-id"]; ok {
			t.Fatalf("a header the rule does not expose was readable: %q", v)
		}
	})
	t.Run("PresignedPut", func(t *testing.T) {
		ps := s3.NewPresignClient(s3c)
		req, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &pub, Key: aws.String("from-browser.txt"), ContentType: aws.String("text/plain")},
			s3.WithPresignExpires(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		r := browser.Fetch(t, page, req.URL, `{method: "PUT", headers: {"Content-Type": "text/plain"}, body: "written by a page"}`)
		if !r.OK || r.Status != 200 {
			t.Fatalf("presigned PUT from the page: %+v", r)
		}
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &pub, Key: aws.String("from-browser.txt")})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(body) != "written by a page" {
			t.Fatalf("stored %q", body)
		}
		if r := browser.Fetch(t, stranger, req.URL, `{method: "PUT", headers: {"Content-Type": "text/plain"}, body: "x"}`); !r.Blocked() {
			t.Fatalf("a presigned PUT from an origin no rule allows went through: %+v", r)
		}
	})

	// B2: a private bucket, a native rule for downloads by name, and a
	// download-authorization token in the URL.
	t.Run("B2PrivateDownloadByName", func(t *testing.T) {
		b2 := conformance.NewB2(t, conformance.B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}, 2)
		bucket := b2.CreateBucket("b2browser", "allPrivate", map[string]any{"corsRules": []map[string]any{{
			"corsRuleName": "pagedownloads", "allowedOrigins": []string{page.Origin},
			"allowedOperations": []string{"b2_download_file_by_name"}, "allowedHeaders": []string{"range", "x-requested-with"}, "maxAgeSeconds": 5,
		}}})
		id, name := bucket["bucketId"].(string), bucket["bucketName"].(string)
		b2.Upload(id, "docs/report.txt", []byte("private report"), nil)
		auth := b2.Must("b2_get_download_authorization", map[string]any{"bucketId": id, "fileNamePrefix": "docs/", "validDurationInSeconds": 600})
		tok := auth["authorizationToken"].(string)
		u := fmt.Sprintf("%s/file/%s/docs/report.txt?Authorization=%s", b2.DownloadURL, name, url.QueryEscape(tok))
		// X-Requested-With is not CORS-safelisted (a simple Range is, in
		// current Chromium), so each of these requests needs a preflight.
		preflighted := `{headers: {"Range": "bytes=0-6", "X-Requested-With": "coffer"}}`
		r := browser.Fetch(t, page, u, preflighted)
		if !r.OK || r.Status != 206 || r.Body != "private" {
			t.Fatalf("B2 download by name with a download token: %+v", r)
		}
		if r := browser.Fetch(t, stranger, u, ""); !r.Blocked() {
			t.Fatalf("an origin no rule allows read a private file: %+v", r)
		}
		// The account token in the URL is refused on the preflight (B2's rule).
		acct := fmt.Sprintf("%s/file/%s/docs/report.txt?Authorization=%s", b2.DownloadURL, name, url.QueryEscape(b2.Token))
		if r := browser.Fetch(t, page, acct, preflighted); !r.Blocked() {
			t.Fatalf("a preflight with the account token in the URL went through: %+v", r)
		}
	})
}
