package objects

import (
	"crypto/md5"
	"hash"
	"runtime"
	"sync"
	"sync/atomic"

	md5simd "github.com/minio/md5-simd"
)

// How bodies are hashed. Measured on the 2-core benchmark machine, MD5 (the
// S3 ETag) was a quarter of a large PUT's CPU and SHA-1 (B2's contentSha1,
// stored for every version so that B2 clients can verify what S3 clients
// wrote) another tenth, hashed one after the other on the request's
// goroutine.
//
//   - MD5 of a large body goes through md5-simd (as MinIO's does): one
//     server goroutine hashes up to 16 bodies at once in AVX-512 (8 with
//     AVX2) lanes, about 1.3× crypto/md5's bytes per CPU-second with four
//     concurrent 64 MiB PUTs and 2–3× with sixteen 1 MiB PUTs. A single
//     stream is slower in a lane than in crypto/md5, and a small body pays
//     the server round trips, so bodies under simdMD5Min use crypto/md5.
//   - Every Read hashes MD5 on the caller's goroutine while a worker hashes
//     the rest (SHA-1 and the requested checksum) on another core.
//
// Nothing is skipped: every digest a client announced is still compared
// at EOF, before the blob can be committed.
//
// md5-simd v1.1.2 never forgets a closed hasher: when a hasher's channel
// closes, its server deletes the wrong id from its table of clients, and
// it walks that whole table on every cycle. After a few thousand uploads
// hashing cost more than crypto/md5 (PUT 64 MiB after 4,000 PUTs of 1 MiB:
// 421 → 132 MiB/s, the server goroutine mostly in map iteration). So a
// hasher is never closed: releaseMD5 resets it onto a free list, at most
// simdHashers are ever made, and a body that finds none free uses
// crypto/md5.
const (
	simdMD5Min      = 128 << 10
	parallelHashMin = 32 << 10
	simdHashers     = 32
)

var (
	md5Server     md5simd.Server
	md5ServerOnce sync.Once
	simdFree      = make(chan md5simd.Hasher, simdHashers)
	simdMade      atomic.Int32
)

// newMD5 returns the MD5 hash for a body of size bytes (-1: unknown). Give
// it back with releaseMD5.
func newMD5(size int64) hash.Hash {
	if size >= 0 && size < simdMD5Min {
		return md5.New()
	}
	select {
	case h := <-simdFree:
		return h
	default:
	}
	if simdMade.Add(1) > simdHashers {
		simdMade.Add(-1)
		return md5.New()
	}
	md5ServerOnce.Do(func() { md5Server = md5simd.NewServer() })
	return md5Server.NewHash()
}

// releaseMD5 returns a hash from newMD5 once it is no longer used.
func releaseMD5(h hash.Hash) {
	if sh, ok := h.(md5simd.Hasher); ok {
		sh.Reset()
		simdFree <- sh // never blocks: at most simdHashers exist
	}
}

// workerPool runs short hashing jobs on a few long-lived goroutines, so a
// Read does not start a goroutine per buffer.
type workerPool struct {
	once sync.Once
	jobs chan job
}

type job struct {
	fn   func()
	done chan struct{}
}

var hashWorkers workerPool

// run queues fn and returns a channel closed once it has run. If every
// worker is busy, fn runs on a fresh goroutine rather than wait.
func (p *workerPool) run(fn func()) <-chan struct{} {
	p.once.Do(func() {
		p.jobs = make(chan job)
		for range max(2, runtime.GOMAXPROCS(0)) {
			go func() {
				for j := range p.jobs {
					j.fn()
					close(j.done)
				}
			}()
		}
	})
	j := job{fn: fn, done: make(chan struct{})}
	select {
	case p.jobs <- j:
	default:
		go func() { j.fn(); close(j.done) }()
	}
	return j.done
}
