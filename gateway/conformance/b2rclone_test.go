package conformance

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/services/debpkg"
)

// rclonePath finds rclone, installing Debian's package when it is missing:
// a client test never skips for want of its client.
func rclonePath(t *testing.T) string {
	t.Helper()
	have := func() bool { _, err := exec.LookPath("rclone"); return err == nil }
	if err := debpkg.Ensure(have, false, "rclone"); err != nil {
		t.Fatalf("rclone is not installed and could not be: %v", err)
	}
	p, _ := exec.LookPath("rclone")
	return p
}

// testB2Rclone drives rclone's b2 backend (its own B2 client: API v1,
// large files in parts, SHA-1 checks, hide-on-delete) through a session.
func testB2Rclone(t *testing.T, tg B2Target) {
	bin := rclonePath(t)
	home := t.TempDir()
	env := append(os.Environ(),
		"HOME="+home,
		"RCLONE_CONFIG="+filepath.Join(home, "rclone.conf"),
		"RCLONE_CONFIG_COFFER_TYPE=b2",
		"RCLONE_CONFIG_COFFER_ACCOUNT="+tg.KeyID,
		"RCLONE_CONFIG_COFFER_KEY="+tg.Key,
		"RCLONE_CONFIG_COFFER_ENDPOINT="+tg.Endpoint,
		"RCLONE_B2_UPLOAD_CUTOFF=5M", "RCLONE_B2_CHUNK_SIZE=5M",
	)
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--retries", "1", "--low-level-retries", "3"}, args...)...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("rclone %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
		}
		return out.String()
	}
	src := t.TempDir()
	files := map[string][]byte{
		"small.txt":        []byte("hello from rclone\n"),
		"dir/ünï code.txt": []byte("unicode name"),
		"big.bin":          NewData(77, 12_000_000).Bytes(0, 12_000_000),
	}
	for name, data := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bucket := BucketName("rclone")
	c := NewB2(t, tg, 2)
	t.Cleanup(func() {
		l := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketName": bucket})
		for _, x := range l["buckets"].([]any) {
			c.EmptyAndDeleteBucket(x.(map[string]any)["bucketId"].(string))
		}
	})
	run("mkdir", "coffer:"+bucket)
	run("copy", src, "coffer:"+bucket)
	// check compares sizes and SHA-1s (rclone reads large_file_sha1 for
	// the file it uploaded in parts).
	run("check", src, "coffer:"+bucket)
	ls := run("lsf", "-R", "coffer:"+bucket)
	for name := range files {
		if !strings.Contains(ls, name) {
			t.Fatalf("rclone lsf lacks %s:\n%s", name, ls)
		}
	}
	if got := run("cat", "coffer:"+bucket+"/dir/ünï code.txt"); got != "unicode name" {
		t.Fatalf("rclone cat: %q", got)
	}
	if got := run("cat", "--offset", "11999990", "--count", "10", "coffer:"+bucket+"/big.bin"); got != string(files["big.bin"][11999990:]) {
		t.Fatalf("rclone ranged cat differs")
	}
	dst := t.TempDir()
	run("copy", "coffer:"+bucket, dst)
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("downloaded %s differs: %v", name, err)
		}
	}
	// rclone hides on delete (keeping versions) unless told otherwise.
	run("delete", "coffer:"+bucket+"/small.txt")
	if ls := run("lsf", "coffer:"+bucket); strings.Contains(ls, "small.txt") {
		t.Fatalf("deleted file still listed:\n%s", ls)
	}
	if v := run("lsf", "--b2-versions", "coffer:"+bucket); !strings.Contains(v, "small-v") {
		t.Fatalf("rclone --b2-versions shows no old version:\n%s", v)
	}
	run("cleanup", "coffer:"+bucket)
	run("purge", "coffer:"+bucket)
	if l := c.Must("b2_list_buckets", map[string]any{"accountId": c.AccountID, "bucketName": bucket}); len(l["buckets"].([]any)) != 0 {
		t.Fatalf("bucket left after rclone purge: %v", l)
	}
}
