package objects

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"testing"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// TestInlineBytesVerified: inline bytes are checked against their CRC32C
// before any byte is handed on; a flipped byte or missing bytes are
// DataLoss, never wrong bytes.
func TestInlineBytesVerified(t *testing.T) {
	l := &Layer{}
	data := []byte("inline bytes of a small object")
	seg := &metadatav1.Segment{Size: int64(len(data)), Inline: true, InlineData: bytes.Clone(data), InlineCrc32C: crc32.Checksum(data, castagnoli)}
	rc, err := l.segmentBytes(context.Background(), seg, 7, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(rc); string(got) != string(data[7:12]) {
		t.Fatalf("got %q", got)
	}
	seg.InlineData[20] ^= 1
	if _, err := l.segmentBytes(context.Background(), seg, 0, 1); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("flipped byte: %v", err)
	}
	seg.InlineData[20] ^= 1
	if _, err := l.segmentBytes(context.Background(), seg, 20, 100); !errs.Is(err, errs.DataLoss) {
		t.Fatalf("range past the bytes: %v", err)
	}
}

// TestInlineThreshold: the threshold applies to the stored size, so an
// SSE object's seal overhead counts; unknown sizes are never inline.
func TestInlineThreshold(t *testing.T) {
	l := New(nil, nil, nil, 5<<30, WithInlineMax(64<<10))
	sse := Encryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2}
	for _, c := range []struct {
		size int64
		enc  Encryption
		want bool
	}{{0, Encryption{}, true}, {64 << 10, Encryption{}, true}, {64<<10 + 1, Encryption{}, false}, {-1, Encryption{}, false},
		{64 << 10, sse, false}, {64<<10 - SealHeaderSize - 2*SealTagSize, sse, true}} {
		if got := l.inlines(c.size, c.enc); got != c.want {
			t.Errorf("inlines(%d, %v) = %v", c.size, c.enc.Mode, got)
		}
	}
	if New(nil, nil, nil, 1, WithInlineMax(1<<30)).inlineMax != MaxInlineSize {
		t.Error("the threshold is not capped")
	}
}
