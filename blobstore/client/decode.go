package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/klauspost/reedsolomon"
)

// openTimeout bounds how long a shard read waits for a node's first
// message. A node that does not answer by then (hung, not refusing) is
// treated like one that is down, and the read goes on from other shards.
var openTimeout = 10 * time.Second

// shardStream reads a byte range of one stored shard, pulling verified
// bytes from its node as it is read, so memory stays at a message or two.
type shardStream struct {
	index  int
	src    ShardReader
	cancel context.CancelFunc
	info   *blobv1.BlobInfo
	buf    []byte // received, not yet consumed
	left   int64  // bytes of the range not yet received
	pos    int64  // content offset of the next byte to be consumed
}

// openShard opens a read of length bytes from off of stored blob id and
// waits for the node's first bytes.
func openShard(ctx context.Context, op string, node Node, index int, id string, off, length int64) (*shardStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(openTimeout, cancel)
	src, err := node.shards().Open(ctx, id, off, length)
	stopped := timer.Stop()
	if err == nil && !stopped {
		// The first message raced the timeout, which has cancelled the
		// read already.
		src.Close()
		err = context.DeadlineExceeded
	}
	if err != nil {
		cancel()
		if !stopped {
			return nil, errs.Errorf(errs.Unavailable, op, "blobstore node did not answer within %v", openTimeout).WithDetail("node_id", node.ID)
		}
		return nil, err
	}
	info := src.Info()
	if off > info.GetSize() {
		src.Close()
		cancel()
		return nil, errs.Errorf(errs.Internal, op, "blobstore node sent no blob info").WithDetail("node_id", node.ID)
	}
	want := info.GetSize() - off
	if length >= 0 {
		want = min(want, length)
	}
	return &shardStream{index: index, src: src, cancel: cancel, info: info, left: want, pos: off}, nil
}

func (s *shardStream) accept(op string, data []byte) error {
	if int64(len(data)) > s.left {
		return errs.Errorf(errs.Internal, op, "blobstore node sent more bytes than asked for")
	}
	s.left -= int64(len(data))
	s.buf = data
	return nil
}

// fill receives the next bytes.
func (s *shardStream) fill(op string) error {
	if s.left == 0 {
		return errs.Errorf(errs.DataLoss, op, "shard is shorter than its placement says")
	}
	data, err := s.src.Next()
	switch {
	case errors.Is(err, io.EOF):
		return errs.Errorf(errs.Internal, op, "shard stream ended %d bytes early", s.left)
	case err != nil:
		return err
	}
	return s.accept(op, data)
}

// readFull fills p from the stream.
func (s *shardStream) readFull(op string, p []byte) error {
	for len(p) > 0 {
		if len(s.buf) == 0 {
			if err := s.fill(op); err != nil {
				return err
			}
		}
		n := copy(p, s.buf)
		p, s.buf = p[n:], s.buf[n:]
		s.pos += int64(n)
	}
	return nil
}

// skipTo consumes the stream up to content offset off.
func (s *shardStream) skipTo(op string, off int64) error {
	for s.pos < off {
		if len(s.buf) == 0 {
			if err := s.fill(op); err != nil {
				return err
			}
		}
		n := min(int64(len(s.buf)), off-s.pos)
		s.buf = s.buf[n:]
		s.pos += n
	}
	return nil
}

// close ends the read. It must not run while another goroutine reads the
// stream (the decoder's owner closes it; others cancel the context).
func (s *shardStream) close() {
	s.src.Close()
	s.cancel()
}

// decoder produces the stripes of one erasure-coded blob from its shards:
// it reads the shards it wants directly, and when one of them fails (node
// down, shard missing or corrupt, short) it opens others from that stripe
// on and reconstructs what is missing. It holds one piece buffer per shard
// (stripe-sized), whatever the blob's size. A decoder is used by one
// goroutine.
type decoder struct {
	c     *Client
	ctx   context.Context
	op    string
	p     *metadatav1.BlobPlacement
	g     geometry
	n     int64 // object size
	enc   reedsolomon.Encoder
	nodes []string // node id per shard index ("" when the placement has none)

	src     []*shardStream // open sources by index
	bad     []bool         // shards not to read (failed, or being rebuilt)
	lastErr error          // the latest source failure, for the error if too few remain

	stripe int64  // next stripe to decode
	last   int64  // last stripe to decode
	endOff int64  // content offset where every source range ends
	want   []bool // shards every decoded stripe must have

	bufs   [][]byte
	shards [][]byte
}

func (c *Client) newDecoder(ctx context.Context, op string, p *metadatav1.BlobPlacement, n int64) (*decoder, error) {
	g := geometryOf(p)
	enc, err := c.encoder(g)
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, op, err).WithDetail("blob_id", p.GetBlobId())
	}
	t := g.k + g.m
	d := &decoder{
		c: c, ctx: ctx, op: op, p: p, g: g, n: n, enc: enc,
		nodes: make([]string, t), src: make([]*shardStream, t), bad: make([]bool, t),
		want: make([]bool, t), bufs: make([][]byte, t), shards: make([][]byte, t),
	}
	for _, s := range p.GetShards() {
		d.nodes[s.GetIndex()] = s.GetNodeId()
	}
	for i := range t {
		if d.nodes[i] == "" {
			d.bad[i] = true // never written, or lost and not yet rebuilt
		}
	}
	return d, nil
}

// setRange makes the decoder produce stripes first..last; the sources carry
// tail more bytes after the last stripe's piece (the trailer, when the
// caller wants it).
func (d *decoder) setRange(first, last, tail int64) {
	d.stripe, d.last = first, last
	end := (last + 1) * d.g.s
	if last >= d.g.stripes(d.n)-1 {
		end = d.g.piecesLen(d.n)
	}
	d.endOff = ShardHeaderSize + end + tail
}

// close ends every source.
func (d *decoder) close() {
	for i, s := range d.src {
		if s != nil {
			s.close()
			d.src[i] = nil
		}
	}
}

// fail drops source i after err, and reports the damage unless the caller
// went away (a cancelled read breaks every stream; that is no damage).
func (d *decoder) fail(i int, err error) {
	if s := d.src[i]; s != nil {
		s.close()
		d.src[i] = nil
	}
	d.bad[i] = true
	if d.ctx.Err() != nil {
		return
	}
	d.lastErr = err
	d.c.reports.report(d.p, i, d.nodes[i], err)
}

// open opens sources for the shard indexes at the current stripe, in
// parallel; failures are recorded.
func (d *decoder) open(idx []int) {
	off := d.g.pieceOffset(d.stripe)
	length := d.endOff - off
	type result struct {
		s   *shardStream
		err error
	}
	res := make([]result, len(idx))
	var wg sync.WaitGroup
	for j, i := range idx {
		wg.Go(func() {
			node, err := d.c.node(d.op, d.nodes[i])
			if err != nil {
				res[j].err = err
				return
			}
			s, err := openShard(d.ctx, d.op, node, i, ShardID(d.p, i), off, length)
			if err == nil && s.info.GetSize() != d.g.shardSize(d.n) {
				got := s.info.GetSize()
				s.close()
				s, err = nil, errs.Errorf(errs.DataLoss, d.op, "shard has %d bytes, want %d", got, d.g.shardSize(d.n))
			}
			res[j] = result{s, err}
		})
	}
	wg.Wait()
	for j, i := range idx {
		if res[j].err != nil {
			d.fail(i, res[j].err)
			continue
		}
		d.src[i] = res[j].s
	}
}

// align moves every open source to the start of the current stripe's
// piece. A direct read may have left sources behind it (they skip ahead) or
// past it (they are closed, and reopened at the stripe if needed); a source
// that fails is dropped.
func (d *decoder) align() {
	off := d.g.pieceOffset(d.stripe)
	for i, s := range d.src {
		switch {
		case s == nil:
		case s.pos > off:
			s.close()
			d.src[i] = nil
		default:
			if err := s.skipTo(d.op, off); err != nil {
				d.fail(i, err)
			}
		}
	}
}

// more picks up to n shards to open next: data shards first (reading them
// needs no decoding), then parity.
func (d *decoder) more(n int) []int {
	var out []int
	for i := range d.src {
		if len(out) == n {
			break
		}
		if d.src[i] == nil && !d.bad[i] {
			out = append(out, i)
		}
	}
	return out
}

func (d *decoder) buf(i int) []byte {
	if d.bufs[i] == nil {
		d.bufs[i] = make([]byte, d.g.s)
	}
	return d.bufs[i]
}

// next decodes the current stripe and returns every shard's piece of it:
// each wanted index is filled, others may be nil. The slices are reused by
// the following call.
func (d *decoder) next() ([][]byte, error) {
	if d.stripe > d.last {
		return nil, io.EOF
	}
	p := d.g.pieceLen(d.n, d.stripe)
	shards := d.shards
	clear(shards)
	read := func(i int) {
		b := d.buf(i)[:p]
		if err := d.src[i].readFull(d.op, b); err != nil {
			d.fail(i, err)
			return
		}
		shards[i] = b
	}
	d.align()
	for i, s := range d.src {
		if s != nil {
			read(i)
		}
	}
	for {
		if err := d.ctx.Err(); err != nil {
			return nil, errs.E(errs.Canceled, d.op, err)
		}
		have, complete := 0, true
		for i, b := range shards {
			if b != nil {
				have++
			} else if d.want[i] {
				complete = false
			}
		}
		if complete {
			break
		}
		if have >= d.g.k {
			for i := range shards {
				if shards[i] == nil && d.want[i] {
					shards[i] = d.buf(i)[:0]
				}
			}
			if err := d.enc.ReconstructSome(shards, d.want); err != nil {
				return nil, errs.E(errs.Internal, d.op, err).WithDetail("blob_id", d.p.GetBlobId())
			}
			break
		}
		idx := d.more(d.g.k - have)
		if len(idx) == 0 {
			return nil, d.tooFew(have)
		}
		d.open(idx)
		for _, i := range idx {
			if d.src[i] != nil {
				read(i)
			}
		}
	}
	d.stripe++
	return shards, nil
}

// tooFew is the error when fewer than k shards can be read: DataLoss when
// some shard was found damaged, Unavailable when nodes could not be reached
// (the bytes may come back with them).
func (d *decoder) tooFew(have int) error {
	if d.lastErr == nil {
		d.lastErr = errs.Errorf(errs.DataLoss, d.op, "the placement names too few shards")
	}
	kind := errs.Unavailable
	if k := errs.KindOf(d.lastErr); k == errs.DataLoss || k == errs.ObjectNotFound {
		kind = errs.DataLoss
	}
	e := errs.E(kind, d.op, fmt.Errorf("only %d of the %d shards needed are readable: %w", have, d.g.k, d.lastErr))
	return e.WithMsg("not enough shards of the blob are readable").WithDetail("blob_id", d.p.GetBlobId())
}

// trailer reads the shard trailer that follows the last stripe in the
// sources (which must have been opened with the trailer as their tail).
func (d *decoder) trailer() (shardTrailer, error) {
	b := make([]byte, ShardTrailerSize)
	for i, s := range d.src {
		if s == nil {
			continue
		}
		if err := s.readFull(d.op, b); err != nil {
			d.fail(i, err)
			continue
		}
		t, err := decodeShardTrailer(d.op, d.p, b)
		if err != nil {
			d.fail(i, err)
			continue
		}
		return t, nil
	}
	if d.ctx.Err() != nil {
		return shardTrailer{}, errs.E(errs.Canceled, d.op, d.ctx.Err())
	}
	return shardTrailer{}, errs.E(errs.DataLoss, d.op, fmt.Errorf("no readable shard trailer: %w", d.lastErr)).WithDetail("blob_id", d.p.GetBlobId())
}

// objectSize returns the size of an erasure-coded blob's object, from the
// cache or from the first shard whose header can be read (and, for a blob
// written without a known size, its trailer). Shards that fail are reported
// once some shard has shown that the blob exists: a blob deleted by its
// owner is not damage.
func (c *Client) objectSize(ctx context.Context, op string, p *metadatav1.BlobPlacement) (int64, error) {
	if n, ok := c.sizes.get(p.GetBlobId()); ok {
		return n, nil
	}
	g := geometryOf(p)
	type failure struct {
		index int
		node  string
		err   error
	}
	var failed []failure
	for i := range g.k + g.m {
		nodeID := ""
		for _, s := range p.GetShards() {
			if int(s.GetIndex()) == i {
				nodeID = s.GetNodeId()
			}
		}
		if nodeID == "" {
			continue
		}
		n, err := c.sizeFrom(ctx, op, p, g, i, nodeID)
		if err == nil {
			for _, f := range failed {
				c.reports.report(p, f.index, f.node, f.err)
			}
			c.sizes.put(p.GetBlobId(), n)
			return n, nil
		}
		if ctx.Err() != nil {
			return 0, errs.E(errs.Canceled, op, ctx.Err())
		}
		failed = append(failed, failure{i, nodeID, err})
	}
	if len(failed) == 0 {
		return 0, errs.Errorf(errs.DataLoss, op, "placement names no shard").WithDetail("blob_id", p.GetBlobId())
	}
	kind := errs.ObjectNotFound // every node that answered says the blob is gone
	for _, f := range failed {
		switch errs.KindOf(f.err) {
		case errs.ObjectNotFound:
		case errs.Unavailable, errs.DeadlineExceeded:
			if kind == errs.ObjectNotFound {
				kind = errs.Unavailable
			}
		default:
			kind = errs.DataLoss
		}
	}
	errl := make([]error, len(failed))
	for i, f := range failed {
		errl[i] = f.err
	}
	return 0, errs.E(kind, op, errors.Join(errl...)).WithMsg("no shard header of the blob is readable").WithDetail("blob_id", p.GetBlobId())
}

// sizeFrom reads the object size from shard i's header (and trailer).
func (c *Client) sizeFrom(ctx context.Context, op string, p *metadatav1.BlobPlacement, g geometry, i int, nodeID string) (int64, error) {
	node, err := c.node(op, nodeID)
	if err != nil {
		return 0, err
	}
	id := ShardID(p, i)
	s, err := openShard(ctx, op, node, i, id, 0, ShardHeaderSize)
	if err != nil {
		return 0, err
	}
	defer s.close()
	b := make([]byte, ShardHeaderSize)
	if err := s.readFull(op, b); err != nil {
		return 0, err
	}
	h, err := decodeShardHeader(op, p, i, b)
	if err != nil {
		return 0, err
	}
	z := s.info.GetSize()
	n := h.size
	if n < 0 {
		// Written without a known size: the trailer has it.
		if z < ShardHeaderSize+ShardTrailerSize {
			return 0, errs.Errorf(errs.DataLoss, op, "shard is truncated").WithDetail("blob_id", p.GetBlobId())
		}
		t, err := openShard(ctx, op, node, i, id, z-ShardTrailerSize, ShardTrailerSize)
		if err != nil {
			return 0, err
		}
		defer t.close()
		if err := t.readFull(op, b[:ShardTrailerSize]); err != nil {
			return 0, err
		}
		tr, err := decodeShardTrailer(op, p, b[:ShardTrailerSize])
		if err != nil {
			return 0, err
		}
		n = tr.size
	}
	if z != g.shardSize(n) {
		return 0, errs.Errorf(errs.DataLoss, op, "shard has %d bytes, want %d", z, g.shardSize(n)).WithDetail("blob_id", p.GetBlobId())
	}
	return n, nil
}
