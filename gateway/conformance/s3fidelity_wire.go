package conformance

import (
	"testing"
)

// testFidelityChunkedTransfer: a PUT whose body comes with HTTP/1.1
// Transfer-Encoding: chunked and no Content-Length is stored when the
// signature is valid (boto3 signs the Transfer-Encoding header: ceph's
// test_object_write_with_chunked_transfer_encoding).
func testFidelityChunkedTransfer(t *testing.T, tg Target) {
	c := tg.AWS(t)
	b := newBucket(t, c, "fid-te")
	var got struct {
		Status int
		Body   string
	}
	tg.Boto3(t, `
b = `+pythonString(b)+`
def add_te(request, **kwargs):
    request.headers.add_header("Transfer-Encoding", "chunked")
s3.meta.events.register_first("before-sign.*.*", add_te)
r = s3.put_object(Bucket=b, Key="foo", Body="bar")
body = s3.get_object(Bucket=b, Key="foo")["Body"].read().decode()
out({"Status": r["ResponseMetadata"]["HTTPStatusCode"], "Body": body})
`, &got)
	if got.Status != 200 || got.Body != "bar" {
		t.Fatalf("chunked PUT: %+v", got)
	}
	// Encrypted (SSE-S3) with no length known in advance: sealed package
	// by package, the last one found by reading ahead.
	tg.Boto3(t, `
import hashlib
b = `+pythonString(b)+`
def add_te(request, **kwargs):
    request.headers.add_header("Transfer-Encoding", "chunked")
s3.meta.events.register_first("before-sign.*.*", add_te)
data = bytes(range(256)) * 1200 + b"tail"
r = s3.put_object(Bucket=b, Key="sse", Body=data, ServerSideEncryption="AES256")
g = s3.get_object(Bucket=b, Key="sse")
same = g["Body"].read() == data and g["ServerSideEncryption"] == "AES256" and g["ContentLength"] == len(data)
out({"Status": r["ResponseMetadata"]["HTTPStatusCode"], "Body": "same" if same else "differs"})
`, &got)
	if got.Status != 200 || got.Body != "same" {
		t.Fatalf("chunked SSE PUT: %+v", got)
	}
	// A wrong Content-MD5 still fails the chunked body.
	var code []any
	tg.Boto3(t, `
b = `+pythonString(b)+`
def add_te(request, **kwargs):
    request.headers.add_header("Transfer-Encoding", "chunked")
    request.headers.replace_header("Content-MD5", "AAAAAAAAAAAAAAAAAAAAAA==")
s3.meta.events.register_first("before-sign.*.*", add_te)
try:
    s3.put_object(Bucket=b, Key="bad", Body="bar")
    out(["stored", 200])
except botocore.exceptions.ClientError as e:
    out(code(e))
`, &code)
	if len(code) != 2 || code[0] != "BadDigest" {
		t.Fatalf("chunked PUT with a wrong Content-MD5: %v", code)
	}
}
