package client

import (
	"context"
	"hash/crc32"
	"io"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// getEC reads a range of an erasure-coded blob: the object size first (from
// the cache or a shard header), then the stripes the range touches, decoded
// one at a time as the caller reads.
func (c *Client) getEC(ctx context.Context, op string, p *metadatav1.BlobPlacement, offset, length int64) (io.ReadCloser, error) {
	if err := checkPlacement(op, p); err != nil {
		return nil, err
	}
	n, err := c.objectSize(ctx, op, p)
	if err != nil {
		return nil, err
	}
	if offset > n {
		return nil, errs.Errorf(errs.InvalidRange, op, "offset %d is beyond the blob's %d bytes", offset, n).WithDetail("blob_id", p.GetBlobId())
	}
	end := n
	if length >= 0 {
		end = min(end, offset+length)
	}
	if offset == end {
		return io.NopCloser(eofReader{}), nil
	}
	ctx, cancel := context.WithCancel(ctx)
	d, err := c.newDecoder(ctx, op, p, n)
	if err != nil {
		cancel()
		return nil, err
	}
	g := d.g
	first, last := offset/g.stripeBytes(), (end-1)/g.stripeBytes()
	whole := offset == 0 && end == n
	tail := int64(0)
	if whole {
		// The trailer carries the whole object's CRC32C, checked at the end.
		tail = ShardTrailerSize
	}
	d.setRange(first, last, tail)
	// Within one stripe only the data shards holding the range are read;
	// a range across stripes needs every data shard of the middle ones.
	j0, j1 := 0, g.k-1
	if first == last {
		pl := g.pieceLen(n, first)
		x0, x1 := offset-first*g.stripeBytes(), end-first*g.stripeBytes()
		j0, j1 = int(x0/pl), int((x1-1)/pl)
	}
	var idx []int
	for j := j0; j <= j1; j++ {
		d.want[j] = true
		if !d.bad[j] {
			idx = append(idx, j)
		}
	}
	d.open(idx)
	r := &ecReader{d: d, pos: offset, end: end, whole: whole, direct: true}
	r.life.init(cancel, d.close)
	for j := j0; j <= j1; j++ {
		if d.src[j] == nil {
			r.direct = false // a wanted shard is missing or failed: decode
		}
	}
	// Set up the first stripe now, so that a blob that cannot be read
	// fails here rather than at the first Read.
	if err := r.stripe(first); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// ecReader returns the bytes of a range of an erasure-coded blob. While
// every data shard it needs answers, it reads directly: each Read copies
// bytes from one data shard's stream to the caller, as a whole-copy read
// would, with no decoding and no extra copy. When a shard fails, it goes
// back to the start of the current stripe and decodes stripe by stripe
// (reconstructing from parity) from then on, skipping the bytes it already
// returned. Read is used by one goroutine; Close may be called from another
// to abandon the read.
type ecReader struct {
	d    *decoder
	life lifetime // see reader

	pos, end int64 // object offsets: next byte to return, end of range
	err      error

	cur    int64    // the current stripe
	start  int64    // its first object offset
	stop   int64    // object offset where its bytes (in the range) end
	pl     int64    // its piece length
	direct bool     // reading the data shards' streams directly
	pieces [][]byte // decoded data pieces of the current stripe, when not direct

	whole bool   // the range is the whole object: check its CRC32C
	crc   uint32 // of the object so far
}

// stripe makes stripe i current. A whole-object read decodes its last
// stripe into buffers, so that the object's checksum is checked before the
// last bytes are returned.
func (r *ecReader) stripe(i int64) error {
	d := r.d
	r.cur, r.pl = i, d.g.pieceLen(d.n, i)
	r.start = i * d.g.stripeBytes()
	r.stop = min(r.start+d.g.stripeLen(d.n, i), r.end)
	r.pieces = nil
	if r.direct && !(r.whole && i == d.last) {
		return nil
	}
	r.direct = false
	d.stripe = i
	shards, err := d.next()
	if err != nil {
		return err
	}
	r.pieces = shards[:d.g.k]
	if r.whole {
		// Pieces are checksummed as they are returned in direct mode;
		// here the whole stripe is, before any of it is returned.
		for x := r.pos; x < r.stop; {
			j, o := (x-r.start)/r.pl, (x-r.start)%r.pl
			k := min(r.pl-o, r.stop-x)
			r.crc = crc32.Update(r.crc, castagnoli, r.pieces[j][o:o+k])
			x += k
		}
		if i == d.last {
			t, err := d.trailer()
			if err != nil {
				return err
			}
			if t.size != d.n || t.crc != r.crc {
				// Every chunk of every shard verified, yet the decoded
				// object is not the one written: withhold this stripe
				// rather than finish a read we know is wrong.
				r.pieces = nil
				return errs.Errorf(errs.DataLoss, d.op, "decoded object does not match its checksum").WithDetail("blob_id", d.p.GetBlobId())
			}
		}
	}
	return nil
}

// Read implements io.Reader.
func (r *ecReader) Read(p []byte) (int, error) {
	const op = "blobclient.Get"
	if !r.life.enter() {
		return 0, errs.Errorf(errs.Canceled, op, "read after close").WithDetail("blob_id", r.d.p.GetBlobId())
	}
	defer r.life.exit()
	for {
		switch {
		case r.err != nil:
			return 0, r.err
		case r.life.closed.Load():
			return 0, errs.Errorf(errs.Canceled, op, "read after close").WithDetail("blob_id", r.d.p.GetBlobId())
		case r.pos >= r.end:
			r.err = io.EOF
			r.d.close()
			continue
		case r.pos >= r.stop:
			if err := r.stripe(r.cur + 1); err != nil {
				r.fail(err)
			}
			continue
		}
		x := r.pos - r.start
		j, o := x/r.pl, x%r.pl
		n := min(int64(len(p)), r.pl-o, r.stop-r.pos)
		if !r.direct {
			if r.pieces == nil {
				r.fail(errs.Errorf(errs.Internal, op, "no stripe decoded"))
				continue
			}
			copy(p, r.pieces[j][o:o+n])
			r.pos += n
			return int(n), nil
		}
		d := r.d
		s := d.src[j]
		err := s.skipTo(d.op, d.g.pieceOffset(r.cur)+o)
		if err == nil {
			err = s.readFull(d.op, p[:n])
		}
		if err != nil {
			// Back to the start of this stripe, decoding from now on.
			d.fail(int(j), err)
			if ctxErr := d.ctx.Err(); ctxErr != nil {
				r.fail(errs.E(errs.Canceled, op, ctxErr))
				continue
			}
			r.direct = false
			if err := r.stripe(r.cur); err != nil {
				r.fail(err)
			}
			continue
		}
		if r.whole {
			r.crc = crc32.Update(r.crc, castagnoli, p[:n])
		}
		r.pos += n
		return int(n), nil
	}
}

func (r *ecReader) fail(err error) {
	r.err = err
	r.pieces = nil
	r.d.close()
}

// Close ends the read. It is safe to call more than once and concurrently
// with Read (which then fails).
func (r *ecReader) Close() error {
	r.life.close()
	return nil
}
