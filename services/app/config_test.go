package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestExpandRoles(t *testing.T) {
	cases := map[string][]string{
		"all":                {"metadata", "blobstore", "authd", "corsd", "gateway"},
		"gateway,metadata":   {"metadata", "gateway"},
		" corsd , authd ":    {"authd", "corsd"},
		"all,metadata":       {"metadata", "blobstore", "authd", "corsd", "gateway"},
		"blobstore":          {"blobstore"},
		"metadata,metadata,": {"metadata"},
	}
	for in, want := range cases {
		got, err := ExpandRoles(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ExpandRoles(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "gatway", "all,nope", ","} {
		if _, err := ExpandRoles(bad); err == nil {
			t.Errorf("ExpandRoles(%q) accepted", bad)
		}
	}
}

// Defaults, then the YAML file, then explicit flags.
func TestParseConfigLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "coffer.yaml")
	yaml := "data_dir: " + dir + "/from-file\ngateway:\n  region: eu-central-003\n  http_addr: 127.0.0.1:7000\nmetadata:\n  node_id: meta7\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := ParseConfig("test", []string{"--config", file, "--http-addr", "127.0.0.1:7001"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Gateway.Region != "eu-central-003" || cfg.Metadata.NodeID != "meta7" {
		t.Fatalf("file values lost: %+v %+v", cfg.Gateway, cfg.Metadata)
	}
	if cfg.Gateway.HTTPAddr != "127.0.0.1:7001" {
		t.Fatalf("explicit flag did not win: %s", cfg.Gateway.HTTPAddr)
	}
	if cfg.Runtime.GRPCAddr != "127.0.0.1:9100" {
		t.Fatalf("default lost: %s", cfg.Runtime.GRPCAddr)
	}
	if cfg.Metadata.DataDir != filepath.Join(dir, "from-file", "metadata") || cfg.Authd.DataDir != filepath.Join(dir, "from-file", "authd") {
		t.Fatalf("role data dirs: %s %s", cfg.Metadata.DataDir, cfg.Authd.DataDir)
	}
	if _, _, err := ParseConfig("test", []string{"--roles", "nope"}); err == nil {
		t.Fatal("bad role accepted")
	}
}

func TestConfigPrintRedactsSecrets(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"config", "--data-dir", t.TempDir(),
		"--authd.bootstrap-key-id", "00abcdefabcdefabcdefabcde", "--authd.bootstrap-secret", "Ksupersecretvalue0000000000000"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if strings.Contains(out.String(), "supersecret") || !strings.Contains(out.String(), "bootstrap_secret: <redacted>") {
		t.Fatalf("secret not redacted:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "bootstrap_key_id: 00abcdefabcdefabcdefabcde") {
		t.Fatalf("key id missing:\n%s", out.String())
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "coffer serve") {
		t.Fatalf("no-args: %d %q", code, errOut.String())
	}
	if code := Run(context.Background(), []string{"frobnicate"}, &out, &errOut); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
	out.Reset()
	if code := Run(context.Background(), []string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "coffer ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
}
