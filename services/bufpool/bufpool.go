package bufpool

import (
	"math/bits"
	"sync"
)

// Size classes: 4 KiB to MaxSize, by powers of two.
const (
	minShift = 12
	maxShift = 25
	// MaxSize is the largest pooled buffer (32 MiB).
	MaxSize = 1 << maxShift
)

var pools [maxShift - minShift + 1]sync.Pool

// class returns the index of the smallest class holding n bytes.
func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Get returns a buffer of length n (its capacity is n rounded up to a
// power of two). Its bytes are whatever the last user left.
func Get(n int) []byte {
	if n > MaxSize {
		return make([]byte, n)
	}
	c := class(n)
	if p, ok := pools[c].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<(c+minShift))
}

// Put returns a buffer obtained from Get. Buffers of another origin (whose
// capacity is not a class size) are ignored.
func Put(b []byte) {
	c := cap(b)
	if c < 1<<minShift || c > MaxSize || c&(c-1) != 0 {
		return
	}
	b = b[:c]
	pools[class(c)].Put(&b)
}
