package s3

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClassify(t *testing.T) {
	domains := []string{"s3.localhost", "localhost"}
	cases := []struct {
		method, target, host string
		header               map[string]string
		want                 Request
	}{
		{"GET", "/", "127.0.0.1:9000", nil, Request{Op: OpListBuckets}},
		{"PUT", "/bucket", "", nil, Request{Op: OpCreateBucket, Bucket: "bucket"}},
		{"PUT", "/bucket/", "", nil, Request{Op: OpCreateBucket, Bucket: "bucket"}},
		{"HEAD", "/bucket", "", nil, Request{Op: OpHeadBucket, Bucket: "bucket"}},
		{"DELETE", "/bucket", "", nil, Request{Op: OpDeleteBucket, Bucket: "bucket"}},
		{"GET", "/bucket?location", "", nil, Request{Op: OpGetBucketLocation, Bucket: "bucket"}},
		{"GET", "/bucket?versioning", "", nil, Request{Op: OpGetBucketVersioning, Bucket: "bucket"}},
		{"GET", "/bucket?list-type=2&prefix=a", "", nil, Request{Op: OpListObjectsV2, Bucket: "bucket"}},
		{"GET", "/bucket?prefix=a", "", nil, Request{Op: OpListObjects, Bucket: "bucket"}},
		{"GET", "/bucket?versions", "", nil, Request{Op: OpListObjectVersions, Bucket: "bucket"}},
		{"GET", "/bucket?uploads", "", nil, Request{Op: OpListMultipartUploads, Bucket: "bucket"}},
		{"POST", "/bucket?delete", "", nil, Request{Op: OpDeleteObjects, Bucket: "bucket"}},
		{"PUT", "/bucket?cors", "", nil, Request{Op: OpPutBucketCORS, Bucket: "bucket"}},
		{"DELETE", "/bucket?lifecycle", "", nil, Request{Op: OpDeleteBucketLifecycle, Bucket: "bucket"}},
		{"GET", "/bucket?tagging", "", nil, Request{Op: OpUnsupported, Bucket: "bucket"}},
		{"PUT", "/bucket/key", "", nil, Request{Op: OpPutObject, Bucket: "bucket", Key: "key"}},
		{"PUT", "/bucket/a%20b/c%2Bd", "", nil, Request{Op: OpPutObject, Bucket: "bucket", Key: "a b/c+d"}},
		{"PUT", "/bucket/a//b/../c/./d", "", nil, Request{Op: OpPutObject, Bucket: "bucket", Key: "a//b/../c/./d"}},
		{"PUT", "/bucket/key", "", map[string]string{"X-Amz-Copy-Source": "/b/k"}, Request{Op: OpCopyObject, Bucket: "bucket", Key: "key"}},
		{"PUT", "/bucket/key?partNumber=1&uploadId=u", "", nil, Request{Op: OpUploadPart, Bucket: "bucket", Key: "key"}},
		{"PUT", "/bucket/key?partNumber=1&uploadId=u", "", map[string]string{"X-Amz-Copy-Source": "/b/k"}, Request{Op: OpUploadPartCopy, Bucket: "bucket", Key: "key"}},
		{"GET", "/bucket/key", "", nil, Request{Op: OpGetObject, Bucket: "bucket", Key: "key"}},
		{"GET", "/bucket/key?x-id=GetObject", "", nil, Request{Op: OpGetObject, Bucket: "bucket", Key: "key"}},
		{"GET", "/bucket/key?uploadId=u", "", nil, Request{Op: OpListParts, Bucket: "bucket", Key: "key"}},
		{"GET", "/bucket/key?retention", "", nil, Request{Op: OpGetObjectRetention, Bucket: "bucket", Key: "key"}},
		{"HEAD", "/bucket/key", "", nil, Request{Op: OpHeadObject, Bucket: "bucket", Key: "key"}},
		{"DELETE", "/bucket/key", "", nil, Request{Op: OpDeleteObject, Bucket: "bucket", Key: "key"}},
		{"DELETE", "/bucket/key?uploadId=u", "", nil, Request{Op: OpAbortMultipartUpload, Bucket: "bucket", Key: "key"}},
		{"POST", "/bucket/key?uploads", "", nil, Request{Op: OpCreateMultipartUpload, Bucket: "bucket", Key: "key"}},
		{"POST", "/bucket/key?uploadId=u", "", nil, Request{Op: OpCompleteMultipartUpload, Bucket: "bucket", Key: "key"}},
		{"GET", "/bucket/key?tagging", "", nil, Request{Op: OpGetObjectTagging, Bucket: "bucket", Key: "key"}},
		{"GET", "/bucket/key?tagging&versionId=v", "", nil, Request{Op: OpGetObjectTagging, Bucket: "bucket", Key: "key"}},
		{"PUT", "/bucket/key?tagging", "", nil, Request{Op: OpPutObjectTagging, Bucket: "bucket", Key: "key"}},
		{"PUT", "/bucket/key?tagging", "", map[string]string{"X-Amz-Copy-Source": "/b/k"}, Request{Op: OpPutObjectTagging, Bucket: "bucket", Key: "key"}},
		{"DELETE", "/bucket/key?tagging", "", nil, Request{Op: OpDeleteObjectTagging, Bucket: "bucket", Key: "key"}},
		{"POST", "/bucket/key?tagging", "", nil, Request{Op: OpUnknown, Bucket: "bucket", Key: "key"}},
		{"GET", "/bucket/key?attributes", "", nil, Request{Op: OpGetObjectAttributes, Bucket: "bucket", Key: "key"}},
		{"HEAD", "/bucket/key?attributes", "", nil, Request{Op: OpUnknown, Bucket: "bucket", Key: "key"}},
		{"PUT", "/bucket?tagging", "", nil, Request{Op: OpUnsupported, Bucket: "bucket"}},
		{"OPTIONS", "/bucket/key", "", nil, Request{Op: OpPreflight, Bucket: "bucket", Key: "key"}},
		{"POST", "/", "", nil, Request{Op: OpUnknown}},
		{"POST", "/bucket", "", nil, Request{Op: OpPostObject, Bucket: "bucket"}},
		{"POST", "/", "mybucket.s3.localhost", nil, Request{Op: OpPostObject, Bucket: "mybucket", VirtualHost: true}},
		{"POST", "/bucket?policy", "", nil, Request{Op: OpUnsupported, Bucket: "bucket"}},
		{"PATCH", "/bucket/key", "", nil, Request{Op: OpUnknown, Bucket: "bucket", Key: "key"}},
		// Virtual-hosted style.
		{"GET", "/", "mybucket.s3.localhost:9000", nil, Request{Op: OpListObjects, Bucket: "mybucket", VirtualHost: true}},
		{"PUT", "/dir/key", "mybucket.localhost", nil, Request{Op: OpPutObject, Bucket: "mybucket", Key: "dir/key", VirtualHost: true}},
		{"GET", "//double", "mybucket.localhost", nil, Request{Op: OpGetObject, Bucket: "mybucket", Key: "/double", VirtualHost: true}},
		{"GET", "/", "s3.localhost", nil, Request{Op: OpListBuckets}},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, "http://x"+tc.target, nil)
		r.Host = tc.host
		if r.Host == "" {
			r.Host = "127.0.0.1:9000"
		}
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		got, err := Classify(r, domains)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.target, err)
		}
		if got != tc.want {
			t.Errorf("%s %s (host %s): got %+v, want %+v", tc.method, tc.target, r.Host, got, tc.want)
		}
	}
}

// Every operation the classifier can return has a table entry (or is
// handled before the table), so no request falls through to a nil spec.
func TestOpsTableComplete(t *testing.T) {
	for op := OpListBuckets; op < OpPreflight; op++ {
		if _, ok := ops[op]; !ok {
			t.Errorf("op %d has no entry in ops", op)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"/", "/b/k", "/b/a%2Fb?uploads", "//", "/b/%zz", "/b?list-type=2&x"} {
		f.Add("GET", s, "h.localhost")
	}
	f.Fuzz(func(t *testing.T, method, target, host string) {
		r, err := http.NewRequest(method, "http://x"+target, nil)
		if err != nil {
			return
		}
		r.Host = host
		req, err := Classify(r, []string{"localhost"})
		if err == nil && req.Op != OpUnknown && req.Op != OpUnsupported && req.Op != OpPreflight {
			if _, ok := ops[req.Op]; !ok {
				t.Fatalf("op %d without spec", req.Op)
			}
		}
	})
}

// TestBucketFromHostLongestDomain: the longest matching domain wins
// whatever the order of --domains (the default is "localhost,s3.localhost").
func TestBucketFromHostLongestDomain(t *testing.T) {
	for _, domains := range [][]string{{"localhost", "s3.localhost"}, {"s3.localhost", "localhost"}} {
		for host, want := range map[string]string{
			"mybucket.s3.localhost":      "mybucket",
			"mybucket.s3.localhost:9000": "mybucket",
			"MyBucket.S3.Localhost":      "mybucket",
			"my.dotted.s3.localhost":     "my.dotted",
			"mybucket.localhost":         "mybucket",
			"s3.localhost":               "",
			"localhost:9000":             "",
			"127.0.0.1:9000":             "",
			"xs3.localhost":              "xs3",
			"evil-localhost":             "",
			".localhost":                 "",
		} {
			if got := BucketFromHost(host, domains); got != want {
				t.Errorf("domains %v, host %q: bucket %q, want %q", domains, host, got, want)
			}
		}
	}
}
