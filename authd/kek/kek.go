package kek

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Size is the KEK length in bytes (AES-256).
const Size = 32

// ErrVersion is returned by Open when a secret was sealed under another KEK.
var ErrVersion = errors.New("kek: the secret was sealed under a different key-encryption key")

// ErrOpen is returned by Open when authentication fails: wrong key id, wrong
// KEK, or tampered bytes.
var ErrOpen = errors.New("kek: cannot open sealed secret")

// KEK is a key-encryption key. It is safe for concurrent use.
type KEK struct {
	aead    cipher.AEAD
	version uint32
	// derive is HMAC-SHA256(key, "coffer kek derive"): the root of Derive,
	// kept instead of the raw key so that no other code path can reuse the
	// sealing key for another purpose.
	derive []byte
}

// New builds a KEK from Size raw bytes.
func New(key []byte) (*KEK, error) {
	if len(key) != Size {
		return nil, fmt.Errorf("kek: key must be %d bytes, got %d", Size, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("coffer kek version\x00"), key...))
	v := binary.BigEndian.Uint32(sum[:4])
	if v == 0 {
		v = 1 // 0 means "unset" in the stored record
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("coffer kek derive"))
	return &KEK{aead: aead, version: v, derive: m.Sum(nil)}, nil
}

// FromBase64 builds a KEK from standard or URL base64 of Size bytes (the
// form of COFFER_CLUSTER_KEY).
func FromBase64(s string) (*KEK, error) {
	s = string(bytes.TrimSpace([]byte(s)))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return New(b)
		}
	}
	return nil, errors.New("kek: not valid base64")
}

// LoadFile reads the KEK at path: Size raw bytes, or their base64 on one
// line. When the file does not exist it is created (mode 0600, parent
// directories 0700) with Size random bytes, and created is true. Two
// processes racing to create it both end up with the winner's key.
func LoadFile(path string) (k *KEK, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if created, err = create(path); err != nil {
			return nil, false, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("kek: %w", err)
	}
	if len(data) == Size {
		k, err = New(data)
	} else {
		k, err = FromBase64(string(data))
	}
	if err != nil {
		return nil, false, fmt.Errorf("kek: %s must hold %d raw bytes or their base64: %w", path, Size, err)
	}
	return k, created, nil
}

// create writes a new random KEK to path atomically: the key is written to
// a temporary file that is then hard-linked into place, so a concurrent
// reader never sees a partial file and a concurrent creator loses cleanly.
func create(path string) (bool, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("kek: %w", err)
	}
	key := make([]byte, Size)
	if _, err := rand.Read(key); err != nil {
		return false, fmt.Errorf("kek: %w", err)
	}
	f, err := os.CreateTemp(dir, ".kek-*")
	if err != nil {
		return false, fmt.Errorf("kek: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, fmt.Errorf("kek: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return false, fmt.Errorf("kek: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, fmt.Errorf("kek: %w", err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("kek: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil // another process created it first
		}
		return false, fmt.Errorf("kek: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return true, nil
}

// Version identifies this KEK (a fingerprint, never 0).
func (k *KEK) Version() uint32 { return k.version }

// Derive returns a 32-byte key for one purpose, named by label, computed
// from the KEK (HMAC-SHA256 of the label under a KEK-derived root). Keys
// derived with different labels are independent, and none of them is the
// sealing key, so a MAC or token key never doubles as the key that protects
// application secrets. Every replica holding the same KEK derives the same
// key.
func (k *KEK) Derive(label string) []byte {
	m := hmac.New(sha256.New, k.derive)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts secret for the key id: nonce || AES-256-GCM(secret), AAD = keyID.
func (k *KEK) Seal(keyID string, secret []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	return k.aead.Seal(nonce, nonce, secret, []byte(keyID)), nil
}

// Open decrypts what Seal produced for the same key id under the KEK of the
// given version.
func (k *KEK) Open(keyID string, version uint32, sealed []byte) ([]byte, error) {
	if version != k.version {
		return nil, ErrVersion
	}
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(keyID))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
