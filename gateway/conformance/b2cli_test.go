package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/debpkg"
)

// b2CLI makes sure Debian's backblaze-b2 (the b2 command-line tool 1.3.8,
// which speaks API v2 with its own client code) is installed.
func b2CLI(t *testing.T) {
	t.Helper()
	const module = "/usr/lib/python3/dist-packages/b2/console_tool.py"
	have := func() bool { _, err := os.Stat(module); return err == nil }
	if err := debpkg.Ensure(have, false, "backblaze-b2"); err != nil {
		t.Fatalf("backblaze-b2 is not installed and could not be: %v", err)
	}
}

// cliMain runs the tool with its "dev" realm pointed at the endpoint: the
// 1.3.x tool only knows Backblaze's realm names, and rewriting the name in
// the process is less intrusive than a hosts-file entry.
const cliMain = `import sys
from b2.account_info.abstract import AbstractAccountInfo
AbstractAccountInfo.REALM_URLS["dev"] = sys.argv.pop(1)
from b2.console_tool import main
main()
`

// testB2CLI runs a session of the b2 command-line tool 1.3.8 (API v2,
// as b2sdk 1.17 era clients) against tg.
func testB2CLI(t *testing.T, tg B2Target) {
	b2CLI(t)
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "B2_ACCOUNT_INFO="+filepath.Join(home, "account_info"), "PYTHONDONTWRITEBYTECODE=1")
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{"-c", cliMain, tg.Endpoint}, args...)...)
		cmd.Env, cmd.Dir = env, home
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("b2 %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
		}
		return out.String()
	}
	run("authorize-account", "--dev", tg.KeyID, tg.Key)
	bucket := BucketName("b2cli")
	c := NewB2(t, tg, 2)
	t.Cleanup(func() {
		l := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketName": bucket})
		for _, x := range l["buckets"].([]any) {
			c.EmptyAndDeleteBucket(x.(map[string]any)["bucketId"].(string))
		}
	})
	run("create-bucket", bucket, "allPrivate")
	if out := run("list-buckets"); !strings.Contains(out, bucket) {
		t.Fatalf("list-buckets:\n%s", out)
	}
	local := filepath.Join(home, "hello.txt")
	body := []byte("hello from the b2 command-line tool\n")
	if err := os.WriteFile(local, body, 0o644); err != nil {
		t.Fatal(err)
	}
	var up struct {
		FileID   string `json:"fileId"`
		FileName string `json:"fileName"`
	}
	out := run("upload-file", "--info", "color=blue", bucket, local, "dir/hello world.txt")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &up); err != nil || up.FileID == "" {
		t.Fatalf("upload-file: %v\n%s", err, out)
	}
	info := run("get-file-info", up.FileID)
	if !strings.Contains(info, `"color": "blue"`) || !strings.Contains(info, SHA1Hex(body)) {
		t.Fatalf("get-file-info:\n%s", info)
	}
	if ls := run("ls", "--long", bucket, "dir"); !strings.Contains(ls, "dir/hello world.txt") {
		t.Fatalf("ls:\n%s", ls)
	}
	byName, byID := filepath.Join(home, "by-name"), filepath.Join(home, "by-id")
	run("download-file-by-name", bucket, "dir/hello world.txt", byName)
	run("download-file-by-id", up.FileID, byID)
	for _, p := range []string{byName, byID} {
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("download %s: %q %v", p, got, err)
		}
	}
	run("hide-file", bucket, "dir/hello world.txt")
	if ls := run("ls", bucket, "dir"); strings.Contains(ls, "hello") {
		t.Fatalf("hidden file listed:\n%s", ls)
	}
	if ls := run("ls", "--versions", bucket, "dir"); strings.Count(ls, "hello world.txt") != 2 {
		t.Fatalf("ls --versions:\n%s", ls)
	}
	// sync up a directory tree, then compare.
	tree := filepath.Join(home, "tree")
	for name, data := range map[string]string{"a.txt": "a", "sub/b.txt": "bb", "sub/deeper/c.txt": "ccc"} {
		p := filepath.Join(tree, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("sync", "--noProgress", tree, "b2://"+bucket+"/tree")
	if ls := run("ls", "--recursive", bucket, "tree"); !strings.Contains(ls, "tree/sub/deeper/c.txt") || !strings.Contains(ls, "tree/a.txt") {
		t.Fatalf("after sync:\n%s", ls)
	}
	back := filepath.Join(home, "back")
	run("sync", "--noProgress", "b2://"+bucket+"/tree", back)
	if got, err := os.ReadFile(filepath.Join(back, "sub", "deeper", "c.txt")); err != nil || string(got) != "ccc" {
		t.Fatalf("sync down: %q %v", got, err)
	}
	// Keys and download authorizations.
	key := run("create-key", "--bucket", bucket, "cli-key", "listFiles,readFiles")
	if fields := strings.Fields(key); len(fields) != 2 {
		t.Fatalf("create-key: %q", key)
	} else {
		if keys := run("list-keys"); !strings.Contains(keys, fields[0]) {
			t.Fatalf("list-keys lacks %s:\n%s", fields[0], keys)
		}
		run("delete-key", fields[0])
	}
	if tok := strings.TrimSpace(run("get-download-auth", "--prefix", "tree/", "--duration", "60", bucket)); !strings.HasPrefix(tok, "c1_") {
		t.Fatalf("get-download-auth: %q", tok)
	}
	run("update-bucket", bucket, "allPublic")
	if out := run("get-bucket", bucket); !strings.Contains(out, `"bucketType": "allPublic"`) {
		t.Fatalf("get-bucket:\n%s", out)
	}
}
