package client

import (
	"context"
	"hash/crc32"
	"strconv"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Rebuild recreates shard index of an erasure-coded blob from the other
// shards and stores it on target, under the shard's id (replacing whatever
// target held under that id, atomically). It never reads the shard it
// rebuilds. It reads k other shards a stripe at a time (switching to others
// when one fails), decodes the data and the missing piece, and lets target
// commit only after the decoded object has matched the CRC32C in the
// shards' trailer, so a rebuild never spreads damage. Memory stays at a
// few stripes whatever the blob's size.
//
// Rebuild changes no placement: moving a shard to another node is recorded
// by the caller (metadata's UpdatePlacement) once Rebuild has returned.
func (c *Client) Rebuild(ctx context.Context, p *metadatav1.BlobPlacement, index int, target Node) (*blobv1.BlobInfo, error) {
	const op = "blobclient.Rebuild"
	if err := checkPlacement(op, p); err != nil {
		return nil, err
	}
	g := geometryOf(p)
	if !IsErasureCoded(p) || index < 0 || index >= g.k+g.m {
		return nil, errs.Errorf(errs.InvalidArgument, op, "shard %d of a %d+%d blob cannot be rebuilt", index, g.k, g.m).WithDetail("blob_id", p.GetBlobId())
	}
	// The shard being rebuilt must not be read, not even for its header.
	others := &metadatav1.BlobPlacement{BlobId: p.GetBlobId(), DataShards: p.GetDataShards(), ParityShards: p.GetParityShards(), StripeSize: p.GetStripeSize()}
	for _, s := range p.GetShards() {
		if int(s.GetIndex()) != index {
			others.Shards = append(others.Shards, s)
		}
	}
	n, err := c.objectSize(ctx, op, others)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d, err := c.newDecoder(ctx, op, others, n)
	if err != nil {
		return nil, err
	}
	defer d.close()
	d.setRange(0, g.stripes(n)-1, ShardTrailerSize)
	for j := range g.k {
		d.want[j] = true
	}
	d.want[index] = true
	d.open(d.more(g.k))

	id := ShardID(p, index)
	w, err := target.shards().Create(ctx, id, g.shardSize(n))
	if err != nil {
		return nil, err
	}
	// Every return before Commit aborts the write: target never commits a
	// partial or unverified shard.
	defer w.Abort()
	var crc uint32
	var sent int64
	send := func(b []byte) error {
		crc = crc32.Update(crc, castagnoli, b)
		sent += int64(len(b))
		return w.Write(b)
	}
	h := shardHeader{index: index, k: g.k, m: g.m, stripe: g.s, size: n, idCRC: idCRC(p.GetBlobId())}
	if err := send(h.encode()); err != nil {
		return nil, err
	}
	var objCRC uint32
	for s := range g.stripes(n) {
		shards, err := d.next()
		if err != nil {
			return nil, err
		}
		pl, left := g.pieceLen(n, s), g.stripeLen(n, s)
		for j := 0; j < g.k && left > 0; j++ {
			k := min(pl, left)
			objCRC = crc32.Update(objCRC, castagnoli, shards[j][:k])
			left -= k
		}
		// A writer keeps nothing once Write returns, so the decoder's
		// buffers are sent as they are.
		for b := shards[index]; len(b) > 0; {
			m := min(len(b), putMessageSize)
			if err := send(b[:m]); err != nil {
				return nil, err
			}
			b = b[m:]
		}
	}
	t, err := d.trailer()
	if err != nil {
		return nil, err
	}
	if t.size != n || t.crc != objCRC {
		return nil, errs.Errorf(errs.DataLoss, op, "decoded object does not match its checksum; shard %d not rebuilt", index).
			WithDetail("blob_id", p.GetBlobId())
	}
	if err := send(shardTrailer{size: n, crc: objCRC, idCRC: idCRC(p.GetBlobId())}.encode()); err != nil {
		return nil, err
	}
	got, err := w.Commit()
	if err != nil {
		return nil, err
	}
	if got.GetSize() != sent || got.GetCrc32C() != crc {
		return nil, errs.Errorf(errs.DataLoss, op, "node stored %d bytes with crc32c %08x, sent %d with %08x",
			got.GetSize(), got.GetCrc32C(), sent, crc).WithDetail("blob_id", p.GetBlobId()).WithDetail("shard", strconv.Itoa(index))
	}
	return got, nil
}
