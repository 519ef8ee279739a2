package s3

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/services/errs"
)

// Payload hash values of aws-chunked uploads (spec/s3.md §2.3).
const (
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	unsignedPayload        = "UNSIGNED-PAYLOAD"
	emptySHA256            = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Framing limits. A chunk header or trailer line longer than maxLine, or
// more than maxTrailers trailer lines, is malformed: the decoder never grows
// a buffer on the client's say-so.
const (
	maxLine     = 4096
	maxTrailers = 16
)

// chunkSigner holds what verifying signed chunks needs: the scope-bound
// signing key authd returned (never the secret) and the running signature.
type chunkSigner struct {
	key     []byte
	amzDate string
	scope   string
	prevSig string
}

func (s *chunkSigner) sign(kind, lastLine string) string {
	sts := kind + "\n" + s.amzDate + "\n" + s.scope + "\n" + s.prevSig + "\n" + lastLine
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(sts))
	return hex.EncodeToString(m.Sum(nil))
}

// chunkedReader decodes an aws-chunked body. Chunk data is passed on as it
// arrives; each chunk's signature is checked when the chunk ends, and the
// final chunk, the trailer and the decoded length at EOF. Bytes of a chunk
// that later fails verification have been handed on, but the error that
// follows aborts the blob write, so nothing unverified is ever committed.
type chunkedReader struct {
	br        *bufio.Reader
	signer    *chunkSigner // nil: unsigned chunks
	trailer   bool         // a trailer section follows the last chunk
	wantLen   int64        // x-amz-decoded-content-length, -1 if absent
	remaining int64        // bytes left in the current chunk
	chunkSig  string
	chunkHash hash.Hash
	total     int64
	trailers  map[string]string
	done      bool
	err       error
}

func newChunkedReader(r io.Reader, signer *chunkSigner, trailer bool, decodedLen int64) *chunkedReader {
	return &chunkedReader{
		br: bufio.NewReaderSize(r, 64<<10), signer: signer, trailer: trailer,
		wantLen: decodedLen, chunkHash: sha256.New(), trailers: map[string]string{},
	}
}

// Trailer returns a trailer value (lower-case name) once the body reached EOF.
func (c *chunkedReader) Trailer(name string) string { return c.trailers[name] }

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.remaining == 0 {
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
		if c.done {
			c.err = io.EOF
			return 0, io.EOF
		}
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	c.remaining -= int64(n)
	c.total += int64(n)
	if c.signer != nil {
		c.chunkHash.Write(p[:n])
	}
	if err != nil {
		if err == io.EOF {
			err = errIncomplete()
		}
		c.err = err
		return n, err
	}
	if c.remaining == 0 {
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	}
	return n, nil
}

func errIncomplete() error {
	return errs.Errorf(errs.IncompleteBody, "s3.chunked", "The request body terminated unexpectedly.")
}

func errFraming(msg string) error {
	return errs.Errorf(errs.IncompleteBody, "s3.chunked", "Malformed aws-chunked body: %s.", msg)
}

func errChunkSignature() error {
	return errs.Errorf(errs.SignatureMismatch, "s3.chunked",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
}

// readLine reads one CRLF- (or LF-) terminated line without growing a buffer.
func (c *chunkedReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLine {
		return "", errFraming("line too long")
	}
	if err != nil {
		if err == io.EOF && len(line) == 0 {
			return "", io.EOF
		}
		if err == io.EOF {
			return strings.TrimRight(string(line), "\r\n"), nil
		}
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// nextChunk parses "<hex size>[;chunk-signature=<sig>][;ext]" and, for the
// zero-size chunk, finishes the body.
func (c *chunkedReader) nextChunk() error {
	line, err := c.readLine()
	if err == io.EOF {
		return errIncomplete()
	}
	if err != nil {
		return err
	}
	sizeStr, ext, _ := strings.Cut(line, ";")
	size, perr := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
	if perr != nil || size < 0 || size > 1<<40 {
		return errFraming("bad chunk size")
	}
	c.chunkSig = ""
	for _, e := range strings.Split(ext, ";") {
		if name, val, ok := strings.Cut(strings.TrimSpace(e), "="); ok && name == "chunk-signature" {
			c.chunkSig = val
		}
	}
	if c.signer != nil && c.chunkSig == "" {
		return errFraming("missing chunk signature")
	}
	c.chunkHash.Reset()
	if size > 0 {
		c.remaining = size
		return nil
	}
	// The final, empty chunk.
	if err := c.verifyChunk(); err != nil {
		return err
	}
	if err := c.readTrailers(); err != nil {
		return err
	}
	if c.wantLen >= 0 && c.total != c.wantLen {
		return errs.Errorf(errs.IncompleteBody, "s3.chunked",
			"The decoded body length does not match x-amz-decoded-content-length.")
	}
	c.done = true
	return nil
}

// endChunk consumes the CRLF after chunk data and checks its signature.
func (c *chunkedReader) endChunk() error {
	line, err := c.readLine()
	if err == io.EOF {
		return errIncomplete()
	}
	if err != nil {
		return err
	}
	if line != "" {
		return errFraming("chunk longer than its size")
	}
	return c.verifyChunk()
}

func (c *chunkedReader) verifyChunk() error {
	if c.signer == nil {
		return nil
	}
	want := c.signer.sign("AWS4-HMAC-SHA256-PAYLOAD", emptySHA256+"\n"+hex.EncodeToString(c.chunkHash.Sum(nil)))
	if !hmac.Equal([]byte(want), []byte(c.chunkSig)) {
		return errChunkSignature()
	}
	c.signer.prevSig = want
	return nil
}

// readTrailers reads "name:value" lines and the trailer signature. Clients
// differ in framing: AWS SDKs end each line with CRLF and close with an empty
// line; minio-go ends trailer lines with a bare LF and puts empty lines
// before and after the signature. So empty lines are skipped until the
// section is complete (the signature read, for signed trailers; a trailer
// read, for unsigned ones), and EOF also ends it.
func (c *chunkedReader) readTrailers() error {
	var signed bytes.Buffer
	sig := ""
	for lines := 0; ; lines++ {
		line, err := c.readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if lines > maxTrailers+4 {
			return errFraming("too many trailer lines")
		}
		if line == "" {
			complete := !c.trailer || (c.signer != nil && sig != "") || (c.signer == nil && len(c.trailers) > 0)
			if complete {
				break
			}
			continue
		}
		if !c.trailer || len(c.trailers) >= maxTrailers {
			return errFraming("unexpected trailer")
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			return errFraming("bad trailer line")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if name == "x-amz-trailer-signature" {
			sig = val
			continue
		}
		c.trailers[name] = val
		signed.WriteString(name + ":" + val + "\n")
	}
	if c.trailer && c.signer != nil {
		sum := sha256.Sum256(signed.Bytes())
		want := c.signer.sign("AWS4-HMAC-SHA256-TRAILER", hex.EncodeToString(sum[:]))
		if !hmac.Equal([]byte(want), []byte(sig)) {
			return errChunkSignature()
		}
	}
	return nil
}
