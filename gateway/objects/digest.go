package objects

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Expect lists the digests a client announced for a body. Every field is
// optional. Checksum is consulted only at EOF, because aws-chunked bodies
// carry it in a trailer that is parsed after the last chunk.
type Expect struct {
	// Size is the announced length, or -1 when unknown.
	Size int64
	// ContentMD5 is the base64 Content-MD5 header.
	ContentMD5 string
	// SHA256Hex is a hex x-amz-content-sha256 payload hash.
	SHA256Hex string
	// SHA1Hex is a hex B2 X-Bz-Content-Sha1.
	SHA1Hex string
	// Algorithm is the additional checksum to compute and store.
	Algorithm metadatav1.ChecksumAlgorithm
	// Checksum returns the announced base64 value of Algorithm at EOF
	// ("" when the client sent none: the checksum is then only computed).
	Checksum func() string
}

// Digests are the digests of a body, known once the body reached EOF.
type Digests struct {
	Size      int64
	MD5Hex    string
	SHA1Hex   string
	Checksums []*metadatav1.Checksum
}

// Reader hashes a body as it streams and, at EOF, checks every digest in
// Expect. On a mismatch it returns a domain error instead of io.EOF, so the
// blob write that consumes it aborts and nothing is committed.
type Reader struct {
	r       io.Reader
	expect  Expect
	md5     hash.Hash
	sha1    hash.Hash
	sha256  hash.Hash
	extra   hash.Hash
	n       int64
	max     int64
	done    bool
	err     error
	digests Digests
}

// NewReader wraps r. max bounds the body (EntityTooLarge beyond it).
// Close must be called once the reader is no longer used.
func NewReader(r io.Reader, expect Expect, max int64) *Reader {
	d := &Reader{r: r, expect: expect, md5: newMD5(expect.Size), sha1: sha1.New(), max: max}
	if expect.SHA256Hex != "" || expect.Algorithm == metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256 {
		d.sha256 = sha256.New()
	}
	if expect.Algorithm != metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_UNSPECIFIED {
		switch expect.Algorithm {
		case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA256:
			d.extra = d.sha256
		case metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_SHA1:
			d.extra = d.sha1
		default:
			d.extra = NewHash(expect.Algorithm)
		}
	}
	return d
}

// Read implements io.Reader.
func (d *Reader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	if n > 0 {
		d.n += int64(n)
		if d.max > 0 && d.n > d.max {
			d.err = errs.Errorf(errs.EntityTooLarge, "objects.Read", "Your proposed upload exceeds the maximum allowed object size.").
				WithDetail("max_size_allowed", fmt.Sprint(d.max))
			return 0, d.err
		}
		if d.expect.Size >= 0 && d.n > d.expect.Size {
			d.err = errs.Errorf(errs.InvalidRequest, "objects.Read", "The body is longer than the announced length.")
			return 0, d.err
		}
		d.hash(p[:n])
	}
	if err == io.EOF {
		if verr := d.finish(); verr != nil {
			d.err = verr
			return n, verr
		}
		d.err = io.EOF
	} else if err != nil {
		d.err = err
	}
	return n, err
}

// hash feeds b to every hash. MD5 (the ETag) runs on this goroutine while
// a hashing worker runs the others (SHA-1 for B2, the requested checksum)
// on another core; both are done before Read returns, so the caller owns
// its buffer again as io.Reader promises.
func (d *Reader) hash(b []byte) {
	others := func() {
		d.sha1.Write(b)
		if d.sha256 != nil {
			d.sha256.Write(b)
		}
		if d.extra != nil && d.extra != d.sha256 && d.extra != d.sha1 {
			d.extra.Write(b)
		}
	}
	if len(b) < parallelHashMin {
		d.md5.Write(b)
		others()
		return
	}
	done := hashWorkers.run(others)
	d.md5.Write(b)
	<-done
}

// Close releases the reader's hashes. The reader must not be used after.
func (d *Reader) Close() {
	if d.md5 != nil {
		releaseMD5(d.md5)
		d.md5 = nil
	}
}

func (d *Reader) finish() error {
	const op = "objects.Verify"
	if d.expect.Size >= 0 && d.n != d.expect.Size {
		return errs.Errorf(errs.IncompleteBody, op, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	md5Sum := d.md5.Sum(nil)
	d.digests = Digests{Size: d.n, MD5Hex: hex.EncodeToString(md5Sum), SHA1Hex: hex.EncodeToString(d.sha1.Sum(nil))}
	if want := d.expect.ContentMD5; want != "" {
		if base64.StdEncoding.EncodeToString(md5Sum) != want {
			return errs.Errorf(errs.BadDigest, op, "The Content-MD5 you specified did not match what we received.").
				WithDetail("expected_digest", want).WithDetail("calculated_digest", base64.StdEncoding.EncodeToString(md5Sum))
		}
	}
	if want := d.expect.SHA256Hex; want != "" {
		got := hex.EncodeToString(d.sha256.Sum(nil))
		if !strings.EqualFold(got, want) {
			return errs.Errorf(errs.PayloadHashMismatch, op, "The provided 'x-amz-content-sha256' header does not match what was computed.").
				WithDetail("client_computed_content_sha256", want).WithDetail("s3_computed_content_sha256", got)
		}
	}
	if want := d.expect.SHA1Hex; want != "" && !strings.EqualFold(want, d.digests.SHA1Hex) {
		return errs.Errorf(errs.BadDigest, op, "Sha1 did not match data received").
			WithDetail("expected_sha1", want).WithDetail("calculated_sha1", d.digests.SHA1Hex)
	}
	if d.extra != nil {
		got := base64.StdEncoding.EncodeToString(d.extra.Sum(nil))
		if d.expect.Checksum != nil {
			if want := d.expect.Checksum(); want != "" && want != got {
				name := AlgorithmName(d.expect.Algorithm)
				return errs.Errorf(errs.BadDigest, op, "The %s you specified did not match the calculated checksum.", name).
					WithDetail("algorithm", name)
			}
		}
		d.digests.Checksums = []*metadatav1.Checksum{{
			Algorithm: d.expect.Algorithm, Value: got, Type: metadatav1.ChecksumType_CHECKSUM_TYPE_FULL_OBJECT,
		}}
	}
	return nil
}

// Digests returns the body's digests; valid only after Read returned io.EOF.
func (d *Reader) Digests() Digests { return d.digests }

// Count is the number of bytes read so far.
func (d *Reader) Count() int64 { return d.n }
