package client

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/klauspost/reedsolomon"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/bufpool"
	"github.com/coffer-project/coffer/services/errs"
)

// Timeouts of an erasure-coded put. A shard whose node takes a message no
// faster than stallTimeout is dropped (the put goes on while a write quorum
// of shards remains), and once a quorum is durable the others get
// stragglerWait to finish; a shard that does not is left out of the
// placement, as if its node had failed, and the repair scan rebuilds it.
var (
	stallTimeout  = 10 * time.Second
	stragglerWait = 5 * time.Second
)

// shardQueue is the number of messages buffered per shard: enough for a
// node to fsync or a goroutine to be scheduled without stalling the others,
// few enough that a put holds a handful of stripes.
const shardQueue = 4

// shardPut streams one shard to one node from its own goroutine.
type shardPut struct {
	index    int
	node     Node
	ch       chan piece
	cancel   context.CancelFunc
	dead     chan struct{}  // closed when the shard has failed
	finished chan *shardPut // receives the shard when its goroutine ends
	failed   atomic.Bool

	// Set by the goroutine before done is closed.
	err  error
	info *blobv1.BlobInfo
	crc  uint32
	sent int64
}

// piece is one message for a shard. The last message of a shard's piece of
// a stripe releases the shard's hold on the stripe's buffers.
type piece struct {
	b      []byte
	stripe *stripeBufs // nil: b is not pooled
	last   bool
}

// done is called once a piece is written or dropped.
func (p piece) done() {
	if p.last && p.stripe != nil {
		p.stripe.release()
	}
}

// stripeBufs are the pooled buffers of one stripe (its data and parity
// pieces), returned to the pool when every shard has written its piece:
// a shard writer keeps nothing once Write returns.
type stripeBufs struct {
	data   []byte
	parity [][]byte
	refs   atomic.Int32
}

func (s *stripeBufs) release() {
	if s.refs.Add(-1) == 0 {
		bufpool.Put(s.data)
		for _, p := range s.parity {
			bufpool.Put(p)
		}
	}
}

func (s *shardPut) fail(err error) {
	if s.failed.CompareAndSwap(false, true) {
		s.err = err
		s.cancel()
		close(s.dead)
	}
}

// run opens the shard's write and writes what arrives on ch; after a
// failure it keeps draining ch, so the dispatcher never blocks on a dead
// shard.
func (s *shardPut) run(ctx context.Context, op, id string, size int64) {
	defer func() { s.finished <- s }()
	w, err := s.node.shards().Create(ctx, id, size)
	if err != nil {
		s.fail(err)
	} else {
		defer w.Abort()
	}
	for p := range s.ch {
		if !s.failed.Load() {
			s.crc = crc32.Update(s.crc, castagnoli, p.b)
			s.sent += int64(len(p.b))
			if err := w.Write(p.b); err != nil {
				s.fail(err)
			}
		}
		p.done()
	}
	// The put was abandoned: the node must not commit what it has.
	if err := ctx.Err(); err != nil {
		s.fail(errs.E(errs.Canceled, op, err))
	}
	if s.failed.Load() {
		return
	}
	got, err := w.Commit()
	if err != nil {
		s.fail(err)
		return
	}
	if got.GetSize() != s.sent || got.GetCrc32C() != s.crc {
		// The node stored something other than what we sent. Never place
		// it; try to remove it, but a failure to do so is GC's business.
		_, _ = s.node.Client.DeleteBlob(context.WithoutCancel(ctx), &blobv1.DeleteBlobRequest{BlobId: id})
		s.fail(errs.Errorf(errs.DataLoss, op, "node stored %d bytes with crc32c %08x, sent %d with %08x",
			got.GetSize(), got.GetCrc32C(), s.sent, s.crc).WithDetail("node_id", s.node.ID))
		return
	}
	s.info = got
}

// putEC cuts r into stripes, codes each into k+m pieces and streams piece i
// to shard i's node, all shards in parallel, holding a few stripes at most.
// It returns once a write quorum of shards is durable; shards that failed
// are left out of the placement (the repair scan rebuilds them).
func (c *Client) putEC(ctx context.Context, op, blobID string, r io.Reader, size int64) (*metadatav1.BlobPlacement, error) {
	g := c.geom
	total, quorum := g.k+g.m, c.cfg.WriteQuorum
	enc, err := c.encoder(g)
	if err != nil {
		return nil, errs.E(errs.Internal, op, err)
	}
	if !validECBlobID(blobID) {
		return nil, errs.Errorf(errs.InvalidArgument, op, "blob id must be 1-124 characters of [A-Za-z0-9_-]").WithDetail("blob_id", blobID)
	}
	targets := c.candidates(ctx, true)
	if len(targets) < quorum {
		// The view may be stale (a node just came back): look again once.
		if c.Refresh(ctx) == nil {
			targets = c.candidates(ctx, true)
		}
	}
	if len(targets) < quorum {
		return nil, errs.Errorf(errs.Unavailable, op, "%d blobstore nodes are up; a %d+%d blob needs %d to be written",
			len(targets), g.k, g.m, quorum).WithMsg("not enough blobstore nodes are available")
	}
	targets = targets[:min(total, len(targets))]

	ctx, cancel := context.WithCancel(ctx)
	shardSize := int64(-1)
	if size >= 0 {
		shardSize = g.shardSize(size)
	}
	finished := make(chan *shardPut, len(targets))
	shards := make([]*shardPut, len(targets))
	layout := &metadatav1.BlobPlacement{BlobId: blobID, DataShards: uint32(g.k), ParityShards: uint32(g.m)}
	for i, n := range targets {
		sctx, scancel := context.WithCancel(ctx)
		s := &shardPut{index: i, node: n, ch: make(chan piece, shardQueue), cancel: scancel,
			dead: make(chan struct{}), finished: finished}
		shards[i] = s
		go s.run(sctx, op, ShardID(layout, i), shardSize)
	}
	// Every return path ends the shard goroutines. On failure the context
	// is cancelled before the channels close, so no node is asked to commit
	// a shard of an abandoned put (the nodes discard what they received).
	closed, succeeded := false, false
	closeAll := func() {
		if !closed {
			closed = true
			for _, s := range shards {
				close(s.ch)
			}
		}
	}
	defer func() {
		if !succeeded {
			cancel()
		}
		closeAll()
		cancel()
	}()

	w := &ecWriter{c: c, op: op, blobID: blobID, shards: shards, quorum: quorum}
	for i, s := range shards {
		// The header carries the size when it is announced; the trailer
		// always does.
		h := shardHeader{index: i, k: g.k, m: g.m, stripe: g.s, size: size, idCRC: idCRC(blobID)}
		w.send(ctx, s, piece{b: h.encode()})
	}
	n, objCRC, err := w.stripes(ctx, r, size, enc, g)
	if err != nil {
		return nil, err
	}
	trailer := shardTrailer{size: n, crc: objCRC, idCRC: idCRC(blobID)}.encode()
	for _, s := range shards {
		w.send(ctx, s, piece{b: trailer})
	}
	if err := w.check(); err != nil {
		return nil, err
	}
	closeAll()
	p, err := w.finish(ctx, g, finished)
	succeeded = err == nil
	return p, err
}

// ecWriter dispatches pieces to the shards of one put.
type ecWriter struct {
	c      *Client
	op     string
	blobID string
	shards []*shardPut
	quorum int
}

// send queues p for shard s; a shard that takes no message for
// stallTimeout is failed, so one hung node cannot hold up the put. A
// message that is not queued is done at once.
func (w *ecWriter) send(ctx context.Context, s *shardPut, p piece) {
	if s.failed.Load() {
		p.done()
		return
	}
	select {
	case s.ch <- p:
		return
	default:
	}
	t := time.NewTimer(stallTimeout)
	defer t.Stop()
	select {
	case s.ch <- p:
		return
	case <-s.dead:
	case <-ctx.Done():
	case <-t.C:
		s.fail(errs.Errorf(errs.Unavailable, w.op, "blobstore node took no data for %v", stallTimeout).WithDetail("node_id", s.node.ID))
	}
	p.done()
}

// check fails the put when fewer than a quorum of shards are still going.
func (w *ecWriter) check() error {
	alive := 0
	var errl []error
	for _, s := range w.shards {
		if s.failed.Load() {
			<-s.dead
			errl = append(errl, s.err)
		} else {
			alive++
		}
	}
	if alive >= w.quorum {
		return nil
	}
	return w.quorumErr(alive, errl)
}

func (w *ecWriter) quorumErr(ok int, errl []error) error {
	// The most telling kind wins: a full disk is ResourceExhausted (the
	// client should slow down), anything else Unavailable (retry).
	kind := errs.Unavailable
	for _, e := range errl {
		if errs.Is(e, errs.ResourceExhausted) {
			kind = errs.ResourceExhausted
		}
	}
	return errs.E(kind, w.op, errors.Join(errl...)).
		WithMsg("not enough blobstore nodes stored the blob").WithDetail("blob_id", w.blobID).
		WithDetail("shards_stored", strconv.Itoa(ok)).WithDetail("write_quorum", strconv.Itoa(w.quorum))
}

// stripes reads r stripe by stripe, codes each stripe and queues the pieces.
// It returns the object's size and CRC32C.
func (w *ecWriter) stripes(ctx context.Context, r io.Reader, size int64, enc reedsolomon.Encoder, g geometry) (int64, uint32, error) {
	op := w.op
	var n int64
	var crc uint32
	sb := g.stripeBytes()
	for {
		want := sb
		if size >= 0 {
			want = min(want, size-n)
		}
		if want == 0 {
			if size >= 0 {
				if err := expectEOF(op, r); err != nil {
					return 0, 0, err
				}
			}
			return n, crc, nil
		}
		// Pooled buffers per stripe, back in the pool once every shard
		// has written its piece (stripeBufs).
		st := &stripeBufs{data: bufpool.Get(int(sb))}
		buf := st.data
		got, rerr := io.ReadFull(r, buf[:want])
		eof := errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF)
		if rerr != nil && !eof {
			bufpool.Put(buf)
			return 0, 0, readerErr(op, rerr)
		}
		if got == 0 {
			bufpool.Put(buf)
		}
		if got > 0 {
			crc = crc32.Update(crc, castagnoli, buf[:got])
			n += int64(got)
			pl := (int64(got) + int64(g.k) - 1) / int64(g.k)
			// The last piece is zero-padded to the piece length.
			clear(buf[got : int64(g.k)*pl])
			pieces := make([][]byte, g.k+g.m)
			for j := range g.k {
				pieces[j] = buf[int64(j)*pl : int64(j+1)*pl]
			}
			for j := g.k; j < g.k+g.m; j++ {
				pieces[j] = bufpool.Get(int(pl))
				st.parity = append(st.parity, pieces[j])
			}
			if g.m > 0 {
				if err := enc.Encode(pieces); err != nil {
					return 0, 0, errs.E(errs.Internal, op, err)
				}
			}
			st.refs.Store(int32(len(w.shards)))
			for i, s := range w.shards {
				for b := pieces[i]; len(b) > 0; {
					m := min(len(b), putMessageSize)
					w.send(ctx, s, piece{b: b[:m], stripe: st, last: m == len(b)})
					b = b[m:]
				}
			}
			if err := w.check(); err != nil {
				return 0, 0, err
			}
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, errs.E(errs.Canceled, op, err)
		}
		if eof {
			if size >= 0 && n != size {
				return 0, 0, errs.Errorf(errs.IncompleteBody, op, "body has %d of its announced %d bytes", n, size).WithDetail("blob_id", w.blobID)
			}
			return n, crc, nil
		}
	}
}

// finish waits for the shards to commit: every shard, or a quorum plus
// stragglerWait for the rest.
func (w *ecWriter) finish(ctx context.Context, g geometry, finished <-chan *shardPut) (*metadatav1.BlobPlacement, error) {
	var timer <-chan time.Time
	ok := 0
	fin := make([]bool, len(w.shards))
	for pending := len(w.shards); pending > 0; {
		if ok >= w.quorum && timer == nil {
			t := time.NewTimer(stragglerWait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case s := <-finished:
			pending--
			fin[s.index] = true
			if s.info != nil {
				ok++
			}
		case <-timer:
			for _, s := range w.shards {
				if fin[s.index] {
					continue
				}
				s.fail(errs.Errorf(errs.Unavailable, w.op, "shard not durable %v after the write quorum", stragglerWait).WithDetail("node_id", s.node.ID))
			}
			for ; pending > 0; pending-- {
				if s := <-finished; s.info != nil {
					ok++
				}
			}
		case <-ctx.Done():
			return nil, errs.E(errs.Canceled, w.op, ctx.Err())
		}
	}
	p := &metadatav1.BlobPlacement{
		BlobId:       w.blobID,
		DataShards:   uint32(g.k),
		ParityShards: uint32(g.m),
		StripeSize:   uint32(g.s),
	}
	var errl []error
	for _, s := range w.shards {
		if s.info != nil {
			p.Shards = append(p.Shards, &metadatav1.ShardLocation{Index: uint32(s.index), NodeId: s.node.ID})
			continue
		}
		errl = append(errl, s.err)
	}
	if ok < w.quorum {
		return nil, w.quorumErr(ok, errl)
	}
	for _, s := range w.shards {
		if s.info == nil {
			w.c.failed(s.node, s.err)
			w.c.reports.report(p, s.index, s.node.ID, s.err)
		}
	}
	return p, nil
}

// validECBlobID reports whether an erasure-coded blob may use id: shard ids
// append ".<index>" (at most 4 characters) and must stay valid node ids, and
// a dot in the blob id would make shard ids ambiguous.
func validECBlobID(id string) bool {
	if len(id) == 0 || len(id) > 124 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
