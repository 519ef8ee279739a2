package conformance

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/debpkg"
)

// Debian's python3 is used on purpose: the python3 first on PATH may be
// another installation, without Debian's python3-boto3 and python3-b2sdk.
const debianPython = "/usr/bin/python3"

// python runs script with Debian's python3 after making sure module is
// importable (installing the Debian package pkg when it is not), with env
// added to a minimal environment, and returns its standard output. A
// non-zero exit fails the test with the script's output.
func python(t testing.TB, pkg, module string, env []string, script string) string {
	t.Helper()
	have := func() bool {
		return exec.Command(debianPython, "-c", "import "+module).Run() == nil
	}
	if err := debpkg.Ensure(have, false, pkg); err != nil {
		t.Fatalf("%s is not installed and could not be: %v", pkg, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "-c", script)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PYTHONIOENCODING=utf-8"}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s script: %v\nstdout:\n%s\nstderr:\n%s", module, err, out, stderr.String())
	}
	return string(out)
}

// boto3Preamble makes `s3`, a boto3 client of the target (path style, no
// retries), and `out(v)`, which prints v as the script's JSON result.
const boto3Preamble = `
import json, os, sys
import boto3, botocore
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"],
    aws_access_key_id=os.environ["S3_KEY_ID"], aws_secret_access_key=os.environ["S3_SECRET"],
    region_name=os.environ["S3_REGION"],
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
def out(v):
    json.dump(v, sys.stdout, default=str)
def code(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
`

// Boto3 runs script against the target with Debian's boto3 (the preamble
// above defines s3, out and code) and decodes the JSON it prints into v.
func (tg Target) Boto3(t testing.TB, script string, v any) {
	t.Helper()
	env := []string{"S3_ENDPOINT=" + tg.Endpoint, "S3_KEY_ID=" + tg.AccessKeyID, "S3_SECRET=" + tg.SecretKey, "S3_REGION=" + tg.Region}
	got := python(t, "python3-boto3", "boto3", env, boto3Preamble+script)
	if v != nil {
		decodeJSON(t, got, v)
	}
}

// decodeJSON decodes what a script printed into v.
func decodeJSON(t testing.TB, printed string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(printed), v); err != nil {
		t.Fatalf("the script printed %q: %v", printed, err)
	}
}

// pythonString quotes s as a Python string literal (JSON's syntax is a
// subset Python accepts for plain strings).
func pythonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
