package objects

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"testing"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// The format tests run the sealing and opening streams on bytes in memory:
// SSE-C needs no authd (the key is the customer's), and the blob I/O around
// them is exercised end to end by the conformance suite.

var sseC = metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, CustomerKeySize) }

// seal encrypts plain as an SSE-C blob, through a digest reader.
func seal(t *testing.T, plain []byte, key []byte, expect Expect) ([]byte, error) {
	t.Helper()
	l := &Layer{}
	d := NewReader(bytes.NewReader(plain), expect, 0)
	s, err := l.newSealer(t.Context(), "blob", Encryption{Mode: sseC, CustomerKey: key}, d, expect.Size)
	if err != nil {
		t.Fatal(err)
	}
	return io.ReadAll(s)
}

// open decrypts [off, off+n) of blob through exactly the bytes a range
// read would fetch.
func open(t *testing.T, blob []byte, size, off, n int64, key []byte) ([]byte, error) {
	t.Helper()
	return openAs(t, blob, size, off, n, key, key)
}

// openAs is open of a blob stored with storedKey, read with key.
func openAs(t *testing.T, blob []byte, size, off, n int64, storedKey, key []byte) ([]byte, error) {
	t.Helper()
	stored := Encryption{Mode: sseC, CustomerKey: storedKey}.Metadata()
	l := &Layer{}
	aead, err := l.blobAEAD(t.Context(), "blob", blob[:SealHeaderSize], stored, Encryption{Mode: sseC, CustomerKey: key})
	if err != nil {
		return nil, err
	}
	r := sealedRangeOf(size, off, n)
	if r.end > int64(len(blob)) {
		t.Fatalf("range end %d past blob of %d", r.end, len(blob))
	}
	body := io.NopCloser(bytes.NewReader(blob[r.start:r.end]))
	return io.ReadAll(newOpenReader(body, aead, blob[:SealHeaderSize], size, off, n, r))
}

func TestSealRoundTripAndRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	key := testKey(7)
	for _, size := range []int64{0, 1, SealPackageSize - 1, SealPackageSize, SealPackageSize + 1, 3*SealPackageSize + 17} {
		plain := make([]byte, size)
		for i := range plain {
			plain[i] = byte(rng.Uint32())
		}
		blob, err := seal(t, plain, key, Expect{Size: size})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if int64(len(blob)) != SealedSize(size) {
			t.Fatalf("size %d: blob %d bytes, SealedSize %d", size, len(blob), SealedSize(size))
		}
		if size >= 16 && bytes.Contains(blob, plain[:16]) {
			t.Fatalf("size %d: plaintext visible in the blob", size)
		}
		got, err := open(t, blob, size, 0, size, key)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("size %d: whole read: %v", size, err)
		}
		for range 50 {
			if size == 0 {
				break
			}
			off := rng.Int64N(size)
			n := 1 + rng.Int64N(size-off)
			got, err := open(t, blob, size, off, n, key)
			if err != nil || !bytes.Equal(got, plain[off:off+n]) {
				t.Fatalf("size %d: range %d+%d: %v", size, off, n, err)
			}
		}
	}
}

func TestSealDetectsTampering(t *testing.T) {
	key := testKey(1)
	size := int64(2*SealPackageSize + 5)
	plain := bytes.Repeat([]byte("coffer"), int(size/6+1))[:size]
	blob, err := seal(t, plain, key, Expect{Size: size})
	if err != nil {
		t.Fatal(err)
	}
	for _, pos := range []int{5, 20, 60, SealHeaderSize, SealHeaderSize + SealPackageSize + 3, len(blob) - 1} {
		bad := bytes.Clone(blob)
		bad[pos] ^= 0x40
		_, err := open(t, bad, size, 0, size, key)
		if err == nil {
			t.Fatalf("a flipped bit at %d went unnoticed", pos)
		}
		if k := errs.KindOf(err); k != errs.DataLoss {
			t.Fatalf("flip at %d: %v, want DataLoss", pos, err)
		}
	}
	// Swapping two packages, or dropping the last one, fails too.
	p := SealPackageSize + SealTagSize
	swapped := bytes.Clone(blob)
	copy(swapped[SealHeaderSize:], blob[SealHeaderSize+p:SealHeaderSize+2*p])
	copy(swapped[SealHeaderSize+p:], blob[SealHeaderSize:SealHeaderSize+p])
	if _, err := open(t, swapped, size, 0, size, key); errs.KindOf(err) != errs.DataLoss {
		t.Fatalf("swapped packages: %v", err)
	}
	// A reader told the segment is shorter than it is sees a non-final
	// package where it expects the last one.
	if _, err := open(t, blob, 2*SealPackageSize, 0, 2*SealPackageSize, key); errs.KindOf(err) != errs.DataLoss {
		t.Fatalf("truncated segment: %v", err)
	}
	// The wrong key is refused before any byte is decrypted.
	if _, err := openAs(t, blob, size, 0, size, key, testKey(2)); errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("wrong key: %v", err)
	}
}

// A digest mismatch, a short body or a long one aborts the blob: the last
// package is never produced.
func TestSealVerifiesBeforeTheLastPackage(t *testing.T) {
	key := testKey(3)
	plain := bytes.Repeat([]byte{9}, SealPackageSize+10)
	sum := md5.Sum(plain)
	good := base64.StdEncoding.EncodeToString(sum[:])
	if _, err := seal(t, plain, key, Expect{Size: int64(len(plain)), ContentMD5: good}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		expect Expect
		body   []byte
		kind   errs.Kind
	}{
		{"bad md5", Expect{Size: int64(len(plain)), ContentMD5: base64.StdEncoding.EncodeToString(make([]byte, 16))}, plain, errs.BadDigest},
		{"short", Expect{Size: int64(len(plain)) + 1}, plain, errs.IncompleteBody},
		{"long", Expect{Size: int64(len(plain)) - 1}, plain, errs.InvalidRequest},
	}
	for _, tc := range cases {
		l := &Layer{}
		d := NewReader(bytes.NewReader(tc.body), tc.expect, 0)
		s, err := l.newSealer(t.Context(), "blob", Encryption{Mode: sseC, CustomerKey: key}, d, tc.expect.Size)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(s)
		if errs.KindOf(err) != tc.kind {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.kind)
		}
		if int64(len(out)) >= SealedSize(tc.expect.Size) {
			t.Fatalf("%s: the whole blob was produced", tc.name)
		}
	}
}

func TestCustomerKeyChecks(t *testing.T) {
	key := testKey(5)
	b64 := base64.StdEncoding.EncodeToString(key)
	if _, err := NewCustomerKey("AES256", b64, KeyMD5(key), true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ alg, key, md5 string }{
		{"AES128", b64, KeyMD5(key)},
		{"AES256", "not base64", KeyMD5(key)},
		{"AES256", base64.StdEncoding.EncodeToString(key[:16]), KeyMD5(key[:16])},
		{"AES256", b64, KeyMD5(testKey(6))},
		{"AES256", b64, ""},
	} {
		if _, err := NewCustomerKey(tc.alg, tc.key, tc.md5, true); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("%+v: %v", tc, err)
		}
	}
	stored := Encryption{Mode: sseC, CustomerKey: key}.Metadata()
	if stored.GetCustomerKeyMd5() != KeyMD5(key) || bytes.Contains([]byte(stored.String()), key) {
		t.Fatalf("stored form %v", stored)
	}
	if err := CheckReadKey(stored, Encryption{}); errs.KindOf(err) != errs.InvalidRequest {
		t.Errorf("missing key: %v", err)
	}
	if err := CheckReadKey(stored, Encryption{Mode: sseC, CustomerKey: testKey(6)}); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("wrong key: %v", err)
	}
	if err := CheckReadKey(nil, Encryption{Mode: sseC, CustomerKey: key}); errs.KindOf(err) != errs.InvalidRequest {
		t.Errorf("key for a plain object: %v", err)
	}
}

// FuzzSealedBlob feeds arbitrary blobs and ranges to the opening path: it
// must never panic, and must never return bytes unless they authenticate.
func FuzzSealedBlob(f *testing.F) {
	key := testKey(4)
	l := &Layer{}
	for _, size := range []int64{0, 10, SealPackageSize + 3} {
		d := NewReader(bytes.NewReader(make([]byte, size)), Expect{Size: size}, 0)
		s, _ := l.newSealer(f.Context(), "blob", Encryption{Mode: sseC, CustomerKey: key}, d, size)
		blob, _ := io.ReadAll(s)
		f.Add(blob, size, int64(0), size)
	}
	f.Fuzz(func(t *testing.T, blob []byte, size, off, n int64) {
		if size < 0 || size > 1<<20 || off < 0 || n <= 0 || off >= size || n > size-off || len(blob) < SealHeaderSize {
			return
		}
		stored := Encryption{Mode: sseC, CustomerKey: key}.Metadata()
		aead, err := l.blobAEAD(t.Context(), "blob", blob[:SealHeaderSize], stored, Encryption{Mode: sseC, CustomerKey: key})
		if err != nil {
			return
		}
		r := sealedRangeOf(size, off, n)
		lo, hi := min(r.start, int64(len(blob))), min(r.end, int64(len(blob)))
		out, err := io.ReadAll(newOpenReader(io.NopCloser(bytes.NewReader(blob[lo:hi])), aead, blob[:SealHeaderSize], size, off, n, r))
		if err == nil && int64(len(out)) != n {
			t.Fatalf("success with %d bytes, want %d", len(out), n)
		}
	})
}
