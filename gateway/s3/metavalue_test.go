package s3

import "testing"

func TestMetaValueEncoding(t *testing.T) {
	in := []struct{ wire, stored string }{
		{"plain", "plain"},
		{"Hello World\xc3\xa9", "Hello Worldé"},              // UTF-8 bytes
		{"Hello World\xe9", "Hello Worldé"},                  // ISO-8859-1 bytes
		{"=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?=", "Hello Worldé"}, // RFC 2047
		{"=?utf-8?q?caf=C3=A9?=", "café"},
		{"=?bogus", "=?bogus"},
	}
	for _, c := range in {
		if got := decodeMetaValue(c.wire); got != c.stored {
			t.Errorf("decode %q = %q, want %q", c.wire, got, c.stored)
		}
	}
	out := []struct{ stored, wire string }{
		{"plain", "plain"},
		{"Hello Worldé", "Hello World\xe9"},
		{"✓", "=?UTF-8?b?4pyT?="},
	}
	for _, c := range out {
		if got := encodeMetaValue(c.stored); got != c.wire {
			t.Errorf("encode %q = %q, want %q", c.stored, got, c.wire)
		}
		if back := decodeMetaValue(encodeMetaValue(c.stored)); back != c.stored {
			t.Errorf("%q does not round-trip: %q", c.stored, back)
		}
	}
}
