package s3

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/coffer-project/coffer/services/errs"
)

const (
	testAK     = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
)

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// signingKey derives kSigning the way authd hands it to the gateway.
func signingKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "s3")
	return hmacSHA256(k, "aws4_request")
}

// minioSigned builds an aws-chunked body with minio-go's streaming signer
// (an independent implementation) and returns it with the signer state
// that authd would hand over.
func minioSigned(t *testing.T, data []byte, trailer bool) ([]byte, *chunkSigner, *http.Request) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:9000/bucket/key", bytes.NewReader(data))
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	if trailer {
		req.Trailer = http.Header{}
		sum := crc32.ChecksumIEEE(data)
		req.Trailer.Set("x-amz-checksum-crc32", base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)}))
	}
	req = signer.StreamingSignV4(req, testAK, testSecret, "", testRegion, int64(len(data)), now, sha256Hasher())
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	seed := auth[strings.Index(auth, "Signature=")+len("Signature="):]
	date := now.Format("20060102")
	return body, &chunkSigner{
		key: signingKey(testSecret, date, testRegion), amzDate: now.Format("20060102T150405Z"),
		scope: date + "/" + testRegion + "/s3/aws4_request", prevSig: seed,
	}, req
}

func TestChunkedMinioSigned(t *testing.T) {
	for _, size := range []int{0, 1, 64 << 10, 64<<10 + 1, 300_000} {
		for _, trailer := range []bool{false, true} {
			data := make([]byte, size)
			rand.Read(data)
			body, sg, req := minioSigned(t, data, trailer)
			if trailer && req.Header.Get("X-Amz-Content-Sha256") != streamingSignedTrailer {
				t.Fatalf("minio did not use the trailer mode: %s", req.Header.Get("X-Amz-Content-Sha256"))
			}
			cr := newChunkedReader(bytes.NewReader(body), sg, trailer, int64(size))
			got, err := io.ReadAll(cr)
			if err != nil {
				t.Fatalf("size %d trailer %v: %v", size, trailer, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("size %d: decoded bytes differ", size)
			}
			if trailer {
				// minio-go writes the trailer value it holds at EOF; compare
				// with what is on the wire.
				i := bytes.Index(body, []byte("x-amz-checksum-crc32:")) + len("x-amz-checksum-crc32:")
				wire := string(body[i : i+bytes.IndexAny(body[i:], "\r\n")])
				if got := cr.Trailer("x-amz-checksum-crc32"); got == "" || got != wire {
					t.Fatalf("trailer %q, on the wire %q", got, wire)
				}
			}
		}
	}
}

// Any single-byte change of a signed body is refused.
func TestChunkedTamper(t *testing.T) {
	data := make([]byte, 100_000)
	rand.Read(data)
	for _, trailer := range []bool{false, true} {
		body, sg, _ := minioSigned(t, data, trailer)
		for _, pos := range []int{0, 10, 90, len(body) / 2, len(body) - 120, len(body) - 40, len(body) - 5} {
			bad := bytes.Clone(body)
			bad[pos] ^= 0x01
			s := *sg
			_, err := io.ReadAll(newChunkedReader(bytes.NewReader(bad), &s, trailer, int64(len(data))))
			if err == nil {
				t.Fatalf("trailer %v: byte %d flipped, body accepted", trailer, pos)
			}
			if k := errs.KindOf(err); k != errs.SignatureMismatch && k != errs.IncompleteBody {
				t.Fatalf("byte %d: unexpected error kind %v: %v", pos, k, err)
			}
		}
		// Truncation and a wrong decoded length are refused too.
		s := *sg
		if _, err := io.ReadAll(newChunkedReader(bytes.NewReader(body[:len(body)-60]), &s, trailer, int64(len(data)))); err == nil {
			t.Fatal("truncated body accepted")
		}
		s = *sg
		if _, err := io.ReadAll(newChunkedReader(bytes.NewReader(body), &s, trailer, int64(len(data)+1))); !errs.Is(err, errs.IncompleteBody) {
			t.Fatalf("wrong decoded length: %v", err)
		}
	}
}

func TestChunkedUnsignedTrailer(t *testing.T) {
	data := make([]byte, 70_000)
	rand.Read(data)
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1/b/k", bytes.NewReader(data))
	req.Trailer = http.Header{"X-Amz-Checksum-Crc32": {"AAAAAA=="}}
	req = signer.StreamingUnsignedV4(req, "", int64(len(data)), time.Now())
	body, _ := io.ReadAll(req.Body)
	cr := newChunkedReader(bytes.NewReader(body), nil, true, int64(len(data)))
	got, err := io.ReadAll(cr)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decode: %v", err)
	}
	if cr.Trailer("x-amz-checksum-crc32") != "AAAAAA==" {
		t.Fatalf("trailer %q", cr.Trailer("x-amz-checksum-crc32"))
	}
	// The AWS SDK framing: CRLF after the trailer, one empty line.
	aws := "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
	cr = newChunkedReader(strings.NewReader(aws), nil, true, 5)
	if got, err := io.ReadAll(cr); err != nil || string(got) != "hello" || cr.Trailer("x-amz-checksum-crc32") != "NhCmhg==" {
		t.Fatalf("aws framing: %q %v", got, err)
	}
}

func FuzzAwsChunkedReader(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), true)
	f.Add([]byte("5;chunk-signature=00\r\nhello\r\n0;chunk-signature=00\r\n\r\n"), false)
	f.Add([]byte("ffffffffffffffff\r\n"), true)
	f.Add([]byte("5\r\nhel"), true)
	f.Fuzz(func(t *testing.T, body []byte, unsigned bool) {
		var sg *chunkSigner
		if !unsigned {
			sg = &chunkSigner{key: []byte("k"), amzDate: "20250101T000000Z", scope: "s", prevSig: "p"}
		}
		cr := newChunkedReader(bytes.NewReader(body), sg, true, -1)
		n, err := io.Copy(io.Discard, io.LimitReader(cr, 1<<20))
		if err == nil && !unsigned && n > 0 {
			t.Fatalf("signed body with a fake key accepted (%d bytes)", n)
		}
	})
}

// chunkFrames splits an aws-chunked body into its data chunk frames
// ("<size>;chunk-signature=<sig>\r\n<data>\r\n") and the rest (the final
// chunk and any trailer).
func chunkFrames(t *testing.T, body []byte) (frames [][]byte, rest []byte) {
	t.Helper()
	for {
		eol := bytes.Index(body, []byte("\r\n"))
		sizeHex, _, _ := strings.Cut(string(body[:eol]), ";")
		var size int
		if _, err := fmt.Sscanf(sizeHex, "%x", &size); err != nil {
			t.Fatalf("frame header %q: %v", body[:eol], err)
		}
		if size == 0 {
			return frames, body
		}
		n := eol + 2 + size + 2
		frames = append(frames, body[:n])
		body = body[n:]
	}
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestChunkedEdgeCases: the chunk signature chain and the signed trailer
// cannot be rearranged, replayed, cut or edited without the decoder
// refusing the body; a truncated trailer is never accepted.
func TestChunkedEdgeCases(t *testing.T) {
	data := make([]byte, 200_000) // four chunks: 3 × 64 KiB and a tail
	rand.Read(data)
	body, sg, _ := minioSigned(t, data, true)
	frames, rest := chunkFrames(t, body)
	if len(frames) != 4 {
		t.Fatalf("%d frames", len(frames))
	}
	sigOf := func(frame []byte) string {
		i := bytes.Index(frame, []byte("chunk-signature=")) + len("chunk-signature=")
		return string(frame[i : i+64])
	}
	withSig := func(frame []byte, sig string) []byte {
		i := bytes.Index(frame, []byte("chunk-signature=")) + len("chunk-signature=")
		return join(frame[:i], []byte(sig), frame[i+64:])
	}
	trailerAt := bytes.Index(rest, []byte("x-amz-checksum-crc32:"))
	sigLineAt := bytes.Index(rest, []byte("x-amz-trailer-signature:"))
	cases := []struct {
		name string
		body []byte
		size int64
		want errs.Kind // Other: accepted
	}{
		{"as signed", body, int64(len(data)), errs.Other},
		{"chunks swapped", join(frames[1], frames[0], frames[2], frames[3], rest), int64(len(data)), errs.SignatureMismatch},
		{"chunk replayed", join(frames[0], frames[0], frames[1], frames[2], frames[3], rest), int64(len(data)) + 64<<10, errs.SignatureMismatch},
		{"chunk dropped", join(frames[0], frames[2], frames[3], rest), int64(len(data)) - 64<<10, errs.SignatureMismatch},
		{"last chunk dropped", join(frames[0], frames[1], frames[2], rest), 3 * 64 << 10, errs.SignatureMismatch},
		{"signature of another chunk", join(frames[0], withSig(frames[1], sigOf(frames[2])), frames[2], frames[3], rest), int64(len(data)), errs.SignatureMismatch},
		{"signature upper case", join(frames[0], withSig(frames[1], strings.ToUpper(sigOf(frames[1]))), frames[2], frames[3], rest), int64(len(data)), errs.SignatureMismatch},
		{"signature missing", join(frames[0], bytes.Replace(frames[1], []byte(";chunk-signature="+sigOf(frames[1])), nil, 1), frames[2], frames[3], rest), int64(len(data)), errs.IncompleteBody},
		{"final chunk signature edited", join(frames[0], frames[1], frames[2], frames[3], withSig(rest, strings.Repeat("0", 64))), int64(len(data)), errs.SignatureMismatch},
		{"final chunk missing", join(frames[0], frames[1], frames[2], frames[3]), int64(len(data)), errs.IncompleteBody},
		{"trailer value edited", join(frames[0], frames[1], frames[2], frames[3], bytes.Replace(rest, []byte("crc32:"), []byte("crc32:A"), 1)), int64(len(data)), errs.SignatureMismatch},
		{"trailer name edited", join(frames[0], frames[1], frames[2], frames[3], bytes.Replace(rest, []byte("crc32:"), []byte("crc32c:"), 1)), int64(len(data)), errs.SignatureMismatch},
		{"trailer signature missing", join(frames[0], frames[1], frames[2], frames[3], rest[:sigLineAt]), int64(len(data)), errs.SignatureMismatch},
		{"trailer missing", join(frames[0], frames[1], frames[2], frames[3], rest[:trailerAt]), int64(len(data)), errs.SignatureMismatch},
		{"decoded length too long", body, int64(len(data)) + 1, errs.IncompleteBody},
		{"decoded length too short", body, int64(len(data)) - 1, errs.IncompleteBody},
		{"size overflows", join([]byte("ffffffffffffffffff;chunk-signature="+sigOf(frames[0])+"\r\n"), frames[0]), int64(len(data)), errs.IncompleteBody},
		{"size negative", join([]byte("-1;chunk-signature="+sigOf(frames[0])+"\r\n"), frames[0]), int64(len(data)), errs.IncompleteBody},
	}
	for _, tc := range cases {
		s := *sg
		got, err := io.ReadAll(newChunkedReader(bytes.NewReader(tc.body), &s, true, tc.size))
		switch {
		case tc.want == errs.Other && (err != nil || !bytes.Equal(got, data)):
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != errs.Other && (err == nil || errs.KindOf(err) != tc.want):
			t.Errorf("%s: %v (kind %v), want kind %v", tc.name, err, errs.KindOf(err), tc.want)
		}
	}
	// Every truncation inside the trailer section is refused: the trailer
	// is all there, signature included, or the body fails. Only the
	// closing line breaks may be missing (spec/s3.md §2.3 asks for leniency
	// there).
	prefix := join(frames[0], frames[1], frames[2], frames[3])
	for cut := 1; cut <= len(rest); cut++ {
		s := *sg
		_, err := io.ReadAll(newChunkedReader(bytes.NewReader(join(prefix, rest[:len(rest)-cut])), &s, true, int64(len(data))))
		if lenient := strings.Trim(string(rest[len(rest)-cut:]), "\r\n") == ""; err == nil && !lenient {
			t.Errorf("%q cut off the trailer section: accepted", rest[len(rest)-cut:])
		}
	}
}
