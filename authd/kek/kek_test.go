package kek

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func newKEK(t *testing.T) *KEK {
	t.Helper()
	b := make([]byte, Size)
	rand.Read(b)
	k, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := newKEK(t)
	secret := []byte("K00SuperSecretApplicationKey123")
	sealed, err := k.Seal("0012345", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) || bytes.Contains(sealed, secret[3:12]) {
		t.Fatal("the secret appears in the sealed bytes")
	}
	again, _ := k.Seal("0012345", secret)
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals are identical: nonce not random")
	}
	got, err := k.Open("0012345", k.Version(), sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	// Wrong AAD (another key id), wrong KEK, wrong version, tampering.
	if _, err := k.Open("0012346", k.Version(), sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong key id: %v", err)
	}
	other := newKEK(t)
	if _, err := other.Open("0012345", other.Version(), sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong kek: %v", err)
	}
	if _, err := other.Open("0012345", k.Version(), sealed); !errors.Is(err, ErrVersion) {
		t.Fatalf("version mismatch: %v", err)
	}
	for i := range sealed {
		bad := append([]byte(nil), sealed...)
		bad[i] ^= 1
		if _, err := k.Open("0012345", k.Version(), bad); !errors.Is(err, ErrOpen) {
			t.Fatalf("tampered byte %d accepted", i)
		}
	}
	if _, err := k.Open("0012345", k.Version(), sealed[:10]); !errors.Is(err, ErrOpen) {
		t.Fatal("short input accepted")
	}
	if k.Version() == 0 || k.Version() == other.Version() {
		t.Fatalf("versions %d %d", k.Version(), other.Version())
	}
}

func TestNewRejectsBadSizes(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("size %d accepted", n)
		}
	}
}

func TestFromBase64(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, Size)
	k1, _ := New(raw)
	for _, s := range []string{base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw) + "\n"} {
		k, err := FromBase64(s)
		if err != nil || k.Version() != k1.Version() {
			t.Fatalf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "!!!", base64.StdEncoding.EncodeToString(raw[:16])} {
		if _, err := FromBase64(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd", "kek")
	k, created, err := LoadFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != Size {
		t.Fatalf("file %v %v", st.Mode(), err)
	}
	k2, created, err := LoadFile(path)
	if err != nil || created || k2.Version() != k.Version() {
		t.Fatalf("reload: %v %v", created, err)
	}
	// base64 text is accepted too.
	raw, _ := os.ReadFile(path)
	b64 := filepath.Join(t.TempDir(), "kek.b64")
	os.WriteFile(b64, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600)
	if k3, _, err := LoadFile(b64); err != nil || k3.Version() != k.Version() {
		t.Fatalf("base64 file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("short"), 0o600)
	if _, _, err := LoadFile(bad); err == nil {
		t.Fatal("bad file accepted")
	}
}

func TestLoadFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	var wg sync.WaitGroup
	versions := make([]uint32, 8)
	for i := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := LoadFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			versions[i] = k.Version()
		}()
	}
	wg.Wait()
	for _, v := range versions {
		if v != versions[0] {
			t.Fatalf("racing loaders disagree: %v", versions)
		}
	}
}

func TestDerive(t *testing.T) {
	raw := make([]byte, Size)
	rand.Read(raw)
	a, _ := New(raw)
	b, _ := New(raw)
	if !bytes.Equal(a.Derive("tokens"), b.Derive("tokens")) {
		t.Fatal("the same KEK derived different keys")
	}
	if bytes.Equal(a.Derive("tokens"), a.Derive("tokens2")) || len(a.Derive("x")) != 32 {
		t.Fatal("labels are not separated")
	}
	if bytes.Equal(a.Derive(""), raw) || bytes.Equal(a.Derive("tokens"), raw) {
		t.Fatal("a derived key equals the KEK")
	}
	if bytes.Equal(newKEK(t).Derive("tokens"), a.Derive("tokens")) {
		t.Fatal("another KEK derived the same key")
	}
}
