package authd

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
)

func testSealer() tokenSealer { return tokenSealer{key: bytes.Repeat([]byte{7}, 32)} }

func TestTokenRoundTrip(t *testing.T) {
	s := testSealer()
	in := claims{
		kind: authv1.TokenKind_TOKEN_KIND_DOWNLOAD, expires: 1767225600000, createIndex: 42,
		keyID: "0012345678901234567890abc", bucketID: "4a48fe8875c6214145260818", scope: "photos/ü +%/",
	}
	tok := s.seal(in)
	if !strings.HasPrefix(tok, tokenPrefix) || strings.ContainsAny(tok, "+/= ") {
		t.Fatalf("token %q is not URL-safe", tok)
	}
	out, err := s.open(tok)
	if err != nil {
		t.Fatal(err)
	}
	in.nonce = out.nonce
	if out != in {
		t.Fatalf("round trip %+v → %+v", in, out)
	}
	if again := s.seal(in); again == tok {
		t.Fatal("two tokens for the same claims are identical: no fresh nonce")
	}
	// Another key (another KEK) does not open it.
	if _, err := (tokenSealer{key: bytes.Repeat([]byte{8}, 32)}).open(tok); err == nil {
		t.Fatal("opened under another key")
	}
	// Every single-character change is refused.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(tok); i++ {
		for _, c := range []byte{alphabet[(strings.IndexByte(alphabet, tok[i])+1)%len(alphabet)], '!'} {
			m := tok[:i] + string(c) + tok[i+1:]
			if m == tok {
				continue
			}
			if _, err := s.open(m); err == nil {
				// The last base64 character may carry unused low bits.
				if i == len(tok)-1 {
					continue
				}
				t.Fatalf("mutation at %d (%q) accepted", i, m)
			}
		}
	}
	for _, bad := range []string{"", tokenPrefix, tok[len(tokenPrefix):], tok + "A", tok[:len(tok)-1], "4_" + tok[3:], strings.Repeat("A", maxTokenLen+1)} {
		if _, err := s.open(bad); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
	// A download authorization's b2Content* overrides travel in the token.
	bound := in
	bound.overrides = [6]string{"attachment; filename=\"a b.txt\"", "", "", "max-age=60", "", "text/plain"}
	out, err = s.open(s.seal(bound))
	if err != nil {
		t.Fatal(err)
	}
	bound.nonce = out.nonce
	if out != bound || out.downloadOverrides().GetContentDisposition() != bound.overrides[0] || out.downloadOverrides().GetContentType() != "text/plain" {
		t.Fatalf("overrides round trip %+v → %+v", bound, out)
	}
	if in.downloadOverrides() != nil {
		t.Fatal("a token without overrides reports some")
	}
	// Only download tokens carry them.
	upload := bound
	upload.kind = authv1.TokenKind_TOKEN_KIND_UPLOAD
	if c, err := s.open(s.seal(upload)); err != nil || c.bound() {
		t.Fatalf("an upload token sealed with overrides: %+v %v", c, err)
	}
}

// Authentic tokens with impossible contents are refused, not trusted: the
// MAC is valid but the record is not one seal produces.
func TestTokenRefusesAuthenticGarbage(t *testing.T) {
	s := testSealer()
	// mac builds a token by hand around any record, with a valid MAC.
	mac := func(body []byte) string {
		return tokenPrefix + base64.RawURLEncoding.EncodeToString(append(body, s.macOf(body)...))
	}
	good := func() []byte {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s.seal(claims{kind: authv1.TokenKind_TOKEN_KIND_ACCOUNT, expires: 1, keyID: "k"}), tokenPrefix))
		return raw[:len(raw)-tokenMACSize]
	}
	cases := map[string]func([]byte) []byte{
		"version 2":     func(b []byte) []byte { b[0] = 2; return b },
		"kind 0":        func(b []byte) []byte { b[1] = 0; return b },
		"kind 9":        func(b []byte) []byte { b[1] = 9; return b },
		"trailing byte": func(b []byte) []byte { return append(b, 0) },
		"long length":   func(b []byte) []byte { b[18+tokenNonce] = 200; return b },
		"truncated":     func(b []byte) []byte { return b[:len(b)-1] },
		"empty key id":  func(b []byte) []byte { b[18+tokenNonce] = 0; return append(b[:18+tokenNonce+1], 0, 0) },
		"huge varint": func(b []byte) []byte {
			return append(b[:18+tokenNonce], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
		},
		"only the fixed": func(b []byte) []byte { return b[:18+tokenNonce] },
	}
	for name, mod := range cases {
		if _, err := s.open(mac(mod(good()))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := s.open(mac(good())); err != nil {
		t.Fatalf("the unmodified record: %v", err)
	}
}

// FuzzOpenToken: open never panics, and accepts only what seal produced.
func FuzzOpenToken(f *testing.F) {
	s := testSealer()
	for _, c := range []claims{
		{kind: authv1.TokenKind_TOKEN_KIND_ACCOUNT, expires: 1, keyID: "k"},
		{kind: authv1.TokenKind_TOKEN_KIND_UPLOAD, expires: 1 << 40, createIndex: 9, keyID: "key", bucketID: "b", scope: "4_zb_f1"},
		{kind: authv1.TokenKind_TOKEN_KIND_DOWNLOAD, expires: -1, keyID: "x", bucketID: "b", scope: strings.Repeat("p", 300)},
	} {
		f.Add(s.seal(c))
	}
	f.Add("")
	f.Add(tokenPrefix)
	f.Add(tokenPrefix + "AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.open(tok)
		if err != nil {
			return
		}
		// Accepted: it must be a faithful encoding of its claims.
		re, err := s.open(s.seal(c))
		if err != nil {
			t.Fatalf("re-sealed claims do not open: %v", err)
		}
		re.nonce = c.nonce
		if re != c {
			t.Fatalf("claims changed: %+v → %+v", c, re)
		}
	})
}
