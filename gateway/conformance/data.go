package conformance

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
)

// Data is a deterministic, seekable pseudo-random body of any size that
// never sits in memory: byte i is derived from (seed, i) with splitmix64, so
// misplaced or swapped ranges are detected.
type Data struct {
	*io.SectionReader
	Seed uint64
	Size int64
}

// NewData returns a body of size bytes.
func NewData(seed uint64, size int64) *Data {
	return &Data{SectionReader: io.NewSectionReader(gen{seed}, 0, size), Seed: seed, Size: size}
}

type gen struct{ seed uint64 }

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g gen) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		pos := uint64(off) + uint64(i)
		p[i] = byte(splitmix64(g.seed^(pos>>3)*0x2545f4914f6cdd1d) >> (8 * (pos & 7)))
	}
	return len(p), nil
}

// Bytes returns the body's bytes [off, off+n).
func (d *Data) Bytes(off, n int64) []byte {
	b := make([]byte, n)
	_, _ = gen{d.Seed}.ReadAt(b, off)
	return b
}

// SHA256 is the hex SHA-256 of the whole body.
func (d *Data) SHA256() string {
	h := sha256.New()
	_, _ = io.Copy(h, io.NewSectionReader(gen{d.Seed}, 0, d.Size))
	return hex.EncodeToString(h.Sum(nil))
}

// HashReader drains r and returns its size and hex SHA-256.
func HashReader(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return n, hex.EncodeToString(h.Sum(nil)), err
}
