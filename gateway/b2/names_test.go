package b2

import (
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coffer-project/coffer/services/errs"
)

func TestDecodeName(t *testing.T) {
	for raw, want := range map[string]string{
		"a/b.txt":          "a/b.txt",
		"a%20b+c%2B":       "a b c+",
		"%C3%A4%c3%a4":     "ää",
		"dir//..%2F/x":     "dir//..//x",
		"100%25%20sure!$&": "100% sure!$&",
	} {
		if got, err := decodeName(raw); err != nil || got != want {
			t.Errorf("decodeName(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"", "%zz", "%", "a\x80b", "ctl%0Achar", "del%7F", "%C0%AF", strings.Repeat("a", 1025), "ä"} {
		if _, err := decodeName(raw); err == nil {
			t.Errorf("decodeName(%q) accepted", raw)
		}
	}
}

func TestEncodeHeaderRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "a b", "ä/ö", "100%", "x+y=z&w", "tab\there", "\u202e"} {
		enc := encodeHeader(s)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x21 || enc[i] > 0x7e {
				t.Fatalf("encodeHeader(%q) = %q is not visible ASCII", s, enc)
			}
		}
		if got, err := decodeName(enc); s != "tab\there" && (err != nil || got != s) {
			t.Errorf("round trip %q → %q → %q, %v", s, enc, got, err)
		}
	}
	if got := encodeHeader("a b/c+d"); got != "a%20b/c%2Bd" {
		t.Errorf("encodeHeader keeps B2's safe set: %q", got)
	}
}

func TestParseFileInfo(t *testing.T) {
	ok := map[string]string{"Src_Last_Modified_Millis": "1700000000000", "b2-content-disposition": "inline",
		"b2-expires": "Thu, 01 Dec 1994 16:00:00 GMT", "large_file_sha1": strings.Repeat("a", 40), "k": "v"}
	got, err := parseFileInfo("name", ok, false)
	if err != nil || got["src_last_modified_millis"] != "1700000000000" || len(got) != 5 {
		t.Fatalf("%v %v", got, err)
	}
	bad := []map[string]string{
		{"b2-other": "x"},
		{"b2-expires": "tomorrow"},
		{"src_last_modified_millis": "-1"},
		{"large_file_sha1": "abc"},
		{"bad key": "v"},
		{"K": "1", "k": "2"},
		{"ctl": "a\x01b"},
		{strings.Repeat("k", 51): "v"},
	}
	eleven := map[string]string{}
	for i := 0; i < 11; i++ {
		eleven[string(rune('a'+i))] = "v"
	}
	bad = append(bad, eleven)
	for _, in := range bad {
		if _, err := parseFileInfo("name", in, false); err == nil {
			t.Errorf("parseFileInfo(%v) accepted", in)
		}
	}
	big := map[string]string{"k": strings.Repeat("v", 3000)}
	if _, err := parseFileInfo("name", big, false); err != nil {
		t.Errorf("3000 bytes of info: %v", err)
	}
	if _, err := parseFileInfo("name", big, true); !errs.Is(err, errs.MetadataTooLarge) {
		t.Errorf("3000 bytes with encryption: %v", err)
	}
}

// TestBefore checks before(): for valid names, k ≥ s exactly when k sorts
// after before(s), and before(s) is valid UTF-8 (it crosses gRPC).
func TestBefore(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []rune{' ', '.', '/', '0', 'a', 'b', 'z', '~', 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff, 0x10000, utf8.MaxRune}
	random := func() string {
		var b strings.Builder
		for n := rng.Intn(5); n >= 0; n-- {
			b.WriteRune(alphabet[rng.Intn(len(alphabet))])
		}
		return b.String()
	}
	var names []string
	for i := 0; i < 300; i++ {
		names = append(names, random())
	}
	names = append(names, strings.Repeat(string(utf8.MaxRune), 256), "a"+strings.Repeat(string(utf8.MaxRune), 255))
	sort.Strings(names)
	for i := 0; i < 300; i++ {
		s := random()
		b := before(s)
		if !utf8.ValidString(b) {
			t.Fatalf("before(%q) is not UTF-8", s)
		}
		for _, k := range names {
			if (k >= s) != (k > b) {
				t.Fatalf("name %q, start %q: before = %q", k, s, b)
			}
		}
	}
	if before("") != "" {
		t.Fatal(`before("")`)
	}
}

func TestContentTypeFor(t *testing.T) {
	for _, tt := range [][3]string{
		{"text/csv", "x.json", "text/csv"},
		{"b2/x-auto", "x.json", "application/json"},
		{"", "x.json", "application/json"},
		{"b2/x-auto", "noextension", "application/octet-stream"},
	} {
		if got := contentTypeFor(tt[0], tt[1]); got != tt[2] {
			t.Errorf("contentTypeFor(%q, %q) = %q", tt[0], tt[1], got)
		}
	}
}

func TestRequestSSE(t *testing.T) {
	h := http.Header{}
	h.Set("X-Bz-Server-Side-Encryption", "AES256")
	if e, err := requestSSE(h); err != nil || !e.Encrypted() {
		t.Fatalf("SSE-B2: %v %v", e, err)
	}
	h.Set("X-Bz-Server-Side-Encryption-Customer-Algorithm", "AES256")
	if _, err := requestSSE(h); err == nil {
		t.Fatal("SSE-B2 with SSE-C accepted")
	}
	h = http.Header{}
	h.Set("X-Bz-Server-Side-Encryption", "aes:kms")
	if _, err := requestSSE(h); err == nil {
		t.Fatal("unknown SSE accepted")
	}
	if e, err := requestSSE(http.Header{}); err != nil || e.Encrypted() {
		t.Fatalf("none: %v %v", e, err)
	}
}
