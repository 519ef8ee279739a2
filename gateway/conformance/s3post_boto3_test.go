package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/debpkg"
)

// boto3Post builds a form with boto3's generate_presigned_post (Debian's
// python3-boto3) and posts it with requests, as a Python web app hands a
// form to a browser; it prints what the server answered.
const boto3Post = `import json, sys
import boto3, requests
from botocore.config import Config
endpoint, key_id, secret, region, bucket = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                  region_name=region, config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
post = s3.generate_presigned_post(
    Bucket=bucket, Key="boto/${filename}",
    Fields={"Content-Type": "text/plain", "success_action_status": "201", "x-amz-meta-client": "boto3"},
    Conditions=[["starts-with", "$key", "boto/"], {"Content-Type": "text/plain"}, {"success_action_status": "201"},
                {"x-amz-meta-client": "boto3"}, ["content-length-range", 1, 1024]],
    ExpiresIn=600)
out = {}
r = requests.post(post["url"], data=post["fields"], files={"file": ("from python.txt", b"hello from boto3")})
out["ok"] = [r.status_code, r.text]
r = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 1025)})
out["big"] = [r.status_code, r.text]
print(json.dumps(out))
`

// TestPresignedPostBoto3: a form from boto3's generate_presigned_post
// uploads, and its content-length-range holds.
func TestPresignedPostBoto3(t *testing.T) {
	have := func() bool {
		return exec.Command("/usr/bin/python3", "-c", "import boto3, requests").Run() == nil
	}
	if err := debpkg.Ensure(have, false, "python3-boto3", "python3-requests"); err != nil {
		t.Fatalf("python3-boto3 is not installed and could not be: %v", err)
	}
	c := clustertest.Start(t)
	tg := Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID, SecretKey: clustertest.SecretKey, Region: clustertest.Region}
	s3c := tg.AWS(t)
	b := newBucket(t, s3c, "boto-post")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", boto3Post, tg.Endpoint, tg.AccessKeyID, tg.SecretKey, tg.Region, b)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3: %v\n%s%s", err, out.String(), errOut.String())
	}
	var res map[string][2]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("boto3 output %q: %v", out.String(), err)
	}
	if res["ok"][0] != float64(201) {
		t.Fatalf("boto3 form: %v", res["ok"])
	}
	if res["big"][0] != float64(400) || !bytes.Contains([]byte(res["big"][1].(string)), []byte("<Code>EntityTooLarge</Code>")) {
		t.Fatalf("boto3 form over its content-length-range: %v", res["big"])
	}
	got, body := getBody(t, s3c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("boto/from python.txt")})
	if string(body) != "hello from boto3" || aws.ToString(got.ContentType) != "text/plain" || got.Metadata["client"] != "boto3" {
		t.Fatalf("stored %q %s %v", body, aws.ToString(got.ContentType), got.Metadata)
	}
	tg.headMissing(t, b, "boto/big.txt")
}
