package clitest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCLITools starts one server and runs each tool's session against it,
// one after another (they share two CPU cores with everything else).
func TestCLITools(t *testing.T) {
	srv := startServer(t)
	t.Run("awscli", func(t *testing.T) { awsSession(t, srv) })
	t.Run("s3cmd", func(t *testing.T) { s3cmdSession(t, srv) })
	t.Run("rclone", func(t *testing.T) { rcloneSession(t, srv) })
}

func awsSession(t *testing.T, srv *server) {
	bin := tool(t, "aws", "awscli")
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	// Path-style addressing (the server is an IP address); 8 MiB parts, so
	// the 40 MiB copy is a five-part upload.
	if err := os.WriteFile(cfg, []byte("[default]\nregion = "+region+"\ns3 =\n  addressing_style = path\n"+
		"  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, bin, "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"), "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
	aws := func(args ...string) string {
		return s.run(append([]string{"--endpoint-url", srv.endpoint}, args...)...)
	}
	awsJSON := func(v any, args ...string) {
		t.Helper()
		out := aws(append(args, "--output", "json")...)
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	const b = "cli-aws-bucket"
	aws("s3", "mb", "s3://"+b)

	// A 40 MiB file goes up as a multipart upload and comes back intact.
	big := filepath.Join(s.dir, "big.bin")
	want := writeFile(t, big, 40<<20, 1)
	aws("s3", "cp", big, "s3://"+b+"/big/40 MiB+file.bin")
	var head struct{ ETag string }
	awsJSON(&head, "s3api", "head-object", "--bucket", b, "--key", "big/40 MiB+file.bin")
	if !strings.HasSuffix(head.ETag, `-5"`) {
		t.Fatalf("40 MiB upload ETag %s: want a five-part multipart ETag", head.ETag)
	}
	down := filepath.Join(s.dir, "big.down")
	aws("s3", "cp", "s3://"+b+"/big/40 MiB+file.bin", down)
	if fileSHA256(t, down) != want {
		t.Fatal("40 MiB download differs from the upload")
	}

	// A tree with awkward names syncs up and back; a second sync is a no-op.
	src, dst := filepath.Join(s.dir, "src"), filepath.Join(s.dir, "dst")
	sums := makeTree(t, src)
	aws("s3", "sync", src, "s3://"+b+"/tree/")
	if out := aws("s3", "sync", src, "s3://"+b+"/tree/"); strings.TrimSpace(out) != "" {
		t.Fatalf("second sync transferred again:\n%s", out)
	}
	aws("s3", "sync", "s3://"+b+"/tree/", dst)
	checkTree(t, dst, sums)
	ls := aws("s3", "ls", "--recursive", "s3://"+b+"/tree/")
	for name := range sums {
		if !strings.Contains(ls, "tree/"+name) {
			t.Fatalf("ls lacks %q:\n%s", name, ls)
		}
	}

	// "." and ".." segments and "//" are ordinary key characters.
	small := filepath.Join(s.dir, "small.txt")
	writeFile(t, small, 10, 2)
	odd := []string{"dots/../escape.txt", "dots/./here.txt", "dots//double.txt", "../top.txt"}
	for _, k := range odd {
		aws("s3api", "put-object", "--bucket", b, "--key", k, "--body", small)
	}
	var listed struct{ Contents []struct{ Key string } }
	awsJSON(&listed, "s3api", "list-objects-v2", "--bucket", b, "--prefix", "dots/")
	awsJSON(&struct{}{}, "s3api", "head-object", "--bucket", b, "--key", "../top.txt")
	var keys []string
	for _, c := range listed.Contents {
		keys = append(keys, c.Key)
	}
	for _, k := range odd[:3] {
		if !slices.Contains(keys, k) {
			t.Fatalf("key %q not listed verbatim: %v", k, keys)
		}
	}
	got := filepath.Join(s.dir, "dotdot.out")
	aws("s3api", "get-object", "--bucket", b, "--key", "dots/../escape.txt", got)
	if fileSHA256(t, got) != fileSHA256(t, small) {
		t.Fatal("dots/../escape.txt came back different")
	}

	// Versions: two puts, read the old one by id, delete (a marker), list.
	v1, v2 := filepath.Join(s.dir, "v1"), filepath.Join(s.dir, "v2")
	writeFile(t, v1, 11, 3)
	writeFile(t, v2, 12, 4)
	var put1, put2 struct{ VersionId string }
	awsJSON(&put1, "s3api", "put-object", "--bucket", b, "--key", "ver/k", "--body", v1)
	awsJSON(&put2, "s3api", "put-object", "--bucket", b, "--key", "ver/k", "--body", v2)
	old := filepath.Join(s.dir, "old.out")
	aws("s3api", "get-object", "--bucket", b, "--key", "ver/k", "--version-id", put1.VersionId, old)
	if fileSHA256(t, old) != fileSHA256(t, v1) {
		t.Fatal("the first version came back different")
	}
	aws("s3api", "delete-object", "--bucket", b, "--key", "ver/k")
	var versions struct {
		Versions      []struct{ VersionId string }
		DeleteMarkers []struct {
			VersionId string
			IsLatest  bool
		}
	}
	awsJSON(&versions, "s3api", "list-object-versions", "--bucket", b, "--prefix", "ver/")
	if len(versions.Versions) != 2 || len(versions.DeleteMarkers) != 1 || !versions.DeleteMarkers[0].IsLatest ||
		versions.Versions[0].VersionId != put2.VersionId {
		t.Fatalf("versions after delete: %+v", versions)
	}
	if out, err := s.try("--endpoint-url", srv.endpoint, "s3api", "head-object", "--bucket", b, "--key", "ver/k"); err == nil {
		t.Fatalf("head of a deleted key succeeded:\n%s", out)
	}

	// CORS through the S3 view of the bucket's rules.
	corsFile := filepath.Join(s.dir, "cors.json")
	if err := os.WriteFile(corsFile, []byte(`{"CORSRules":[{"ID":"web","AllowedOrigins":["https://app.example.com"],`+
		`"AllowedMethods":["GET","PUT"],"AllowedHeaders":["*"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":600}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	aws("s3api", "put-bucket-cors", "--bucket", b, "--cors-configuration", "file://"+corsFile)
	var cors struct {
		CORSRules []struct {
			AllowedOrigins []string
			AllowedMethods []string
			MaxAgeSeconds  int
		}
	}
	awsJSON(&cors, "s3api", "get-bucket-cors", "--bucket", b)
	if len(cors.CORSRules) != 1 || cors.CORSRules[0].AllowedOrigins[0] != "https://app.example.com" || cors.CORSRules[0].MaxAgeSeconds != 600 {
		t.Fatalf("get-bucket-cors: %+v", cors)
	}
	aws("s3api", "delete-bucket-cors", "--bucket", b)
	if out, err := s.try("--endpoint-url", srv.endpoint, "s3api", "get-bucket-cors", "--bucket", b); err == nil || !strings.Contains(out, "NoSuchCORSConfiguration") {
		t.Fatalf("get-bucket-cors after delete: %v\n%s", err, out)
	}

	// Clean up through the tool: every version, then the bucket.
	aws("s3", "rm", "--recursive", "s3://"+b+"/")
	deleteAllVersions(t, s, aws, awsJSON, b)
	aws("s3", "rb", "s3://"+b)
}

// deleteAllVersions removes every version and delete marker with one
// s3api delete-objects call (a process per version would take minutes).
func deleteAllVersions(t *testing.T, s *session, aws func(...string) string, awsJSON func(any, ...string), b string) {
	t.Helper()
	var vs struct {
		Versions, DeleteMarkers []struct{ Key, VersionId string }
	}
	awsJSON(&vs, "s3api", "list-object-versions", "--bucket", b)
	all := append(vs.Versions, vs.DeleteMarkers...)
	if len(all) == 0 {
		return
	}
	req := map[string]any{"Quiet": true, "Objects": all}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.dir, "delete.json")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	// Quiet mode: the answer lists only failures, and the CLI prints
	// nothing when there are none.
	if out := aws("s3api", "delete-objects", "--bucket", b, "--delete", "file://"+path, "--output", "json"); strings.Contains(out, "Errors") {
		t.Fatalf("delete-objects:\n%s", out)
	}
	if left := aws("s3api", "list-object-versions", "--bucket", b, "--output", "json"); strings.Contains(left, "VersionId") {
		t.Fatalf("versions left after delete-objects:\n%s", left)
	}
}

func s3cmdSession(t *testing.T, srv *server) {
	bin := tool(t, "s3cmd", "s3cmd")
	home := t.TempDir()
	cfg := filepath.Join(home, "s3cfg")
	// host_bucket without %(bucket)s selects path-style requests.
	if err := os.WriteFile(cfg, []byte("[default]\naccess_key = "+keyID+"\nsecret_key = "+secret+"\nhost_base = "+srv.host+
		"\nhost_bucket = "+srv.host+"\nuse_https = False\nsignature_v2 = False\nbucket_location = "+region+
		"\nmultipart_chunk_size_mb = 5\ncheck_ssl_certificate = False\nprogress_meter = False\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, bin)
	s3cmd := func(args ...string) string { return s.run(append([]string{"-c", cfg}, args...)...) }
	const b = "cli-s3cmd-bucket"
	s3cmd("mb", "s3://"+b)
	// A 12 MiB file: three 5 MiB-chunk multipart parts.
	big := filepath.Join(s.dir, "big.bin")
	want := writeFile(t, big, 12<<20, 5)
	s3cmd("put", big, "s3://"+b+"/big file+1.bin")
	down := filepath.Join(s.dir, "big.down")
	s3cmd("get", "s3://"+b+"/big file+1.bin", down)
	if fileSHA256(t, down) != want {
		t.Fatal("s3cmd: multipart download differs from the upload")
	}
	src, dst := filepath.Join(s.dir, "src"), filepath.Join(s.dir, "dst")
	sums := makeTree(t, src)
	s3cmd("put", "--recursive", src+"/", "s3://"+b+"/tree/")
	ls := s3cmd("ls", "--recursive", "s3://"+b+"/tree/")
	for name := range sums {
		if !strings.Contains(ls, "s3://"+b+"/tree/"+name) {
			t.Fatalf("s3cmd ls lacks %q:\n%s", name, ls)
		}
	}
	if top := s3cmd("ls", "s3://"+b+"/"); !strings.Contains(top, "DIR") || !strings.Contains(top, "big file+1.bin") {
		t.Fatalf("s3cmd ls of the bucket root:\n%s", top)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	s3cmd("get", "--recursive", "s3://"+b+"/tree/", dst+"/")
	checkTree(t, dst, sums)
	// "." and ".." segments and "//" reach the server verbatim and come back.
	small := filepath.Join(s.dir, "small.txt")
	writeFile(t, small, 10, 7)
	for _, k := range []string{"dots/../up.txt", "dots/./here.txt", "dots//double.txt"} {
		s3cmd("put", small, "s3://"+b+"/"+k)
		if ls := s3cmd("ls", "s3://"+b+"/"+k); !strings.Contains(ls, "s3://"+b+"/"+k) {
			t.Fatalf("s3cmd ls of %q:\n%s", k, ls)
		}
		got := filepath.Join(s.dir, "got.txt")
		s3cmd("get", "--force", "s3://"+b+"/"+k, got)
		if fileSHA256(t, got) != fileSHA256(t, small) {
			t.Fatalf("s3cmd: %q came back different", k)
		}
		s3cmd("del", "s3://"+b+"/"+k)
	}
	s3cmd("del", "--recursive", "--force", "s3://"+b+"/tree/")
	s3cmd("del", "s3://"+b+"/big file+1.bin")
	if rest := s3cmd("ls", "--recursive", "s3://"+b+"/"); strings.TrimSpace(rest) != "" {
		t.Fatalf("s3cmd: objects left after del:\n%s", rest)
	}
}

// rcloneSession covers spaces, '+', '%' and unicode; rclone itself rewrites
// "." and ".." path segments (its "Dot" name encoding), so those are the
// other tools' to check.
func rcloneSession(t *testing.T, srv *server) {
	bin := tool(t, "rclone", "rclone")
	conf := filepath.Join(t.TempDir(), "rclone.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, bin, "RCLONE_CONFIG="+conf,
		"RCLONE_CONFIG_COFFER_TYPE=s3", "RCLONE_CONFIG_COFFER_PROVIDER=Other",
		"RCLONE_CONFIG_COFFER_ACCESS_KEY_ID="+keyID, "RCLONE_CONFIG_COFFER_SECRET_ACCESS_KEY="+secret,
		"RCLONE_CONFIG_COFFER_ENDPOINT="+srv.endpoint, "RCLONE_CONFIG_COFFER_REGION="+region,
		"RCLONE_CONFIG_COFFER_FORCE_PATH_STYLE=true")
	// 5 MiB parts from 5 MiB on, so the 12 MiB file is a multipart upload.
	rclone := func(args ...string) string {
		return s.run(append(args, "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--retries", "1", "--low-level-retries", "1")...)
	}
	const b = "cli-rclone-bucket"
	rclone("mkdir", "coffer:"+b)
	src, dst := filepath.Join(s.dir, "src"), filepath.Join(s.dir, "dst")
	sums := makeTree(t, src)
	sums["big/12 MiB.bin"] = writeFile(t, filepath.Join(src, "big", "12 MiB.bin"), 12<<20, 6)
	rclone("copy", src, "coffer:"+b+"/tree")
	rclone("check", src, "coffer:"+b+"/tree")
	rclone("copy", "coffer:"+b+"/tree", dst)
	checkTree(t, dst, sums)
	lsf := rclone("lsf", "-R", "--files-only", "coffer:"+b+"/tree")
	for name := range sums {
		if !strings.Contains(lsf, name) {
			t.Fatalf("rclone lsf lacks %q:\n%s", name, lsf)
		}
	}
	rclone("delete", "coffer:"+b+"/tree")
	if rest := rclone("lsf", "-R", "--files-only", "coffer:"+b); strings.TrimSpace(rest) != "" {
		t.Fatalf("rclone: objects left after delete:\n%s", rest)
	}
}
