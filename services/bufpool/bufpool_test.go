package bufpool

import "testing"

func TestGetPut(t *testing.T) {
	for _, n := range []int{0, 1, 4096, 4097, 64 << 10, 64<<10 + 4, 1 << 20, MaxSize, MaxSize + 1} {
		b := Get(n)
		if len(b) != n {
			t.Fatalf("Get(%d) has length %d", n, len(b))
		}
		if n <= MaxSize && (cap(b)&(cap(b)-1) != 0 || cap(b) < n) {
			t.Fatalf("Get(%d) has capacity %d", n, cap(b))
		}
		Put(b)
	}
	Put(make([]byte, 5000)) // not from Get: ignored
	if b := Get(4097); cap(b) != 8192 {
		t.Fatalf("a foreign buffer was pooled: capacity %d", cap(b))
	}
}

func TestReuse(t *testing.T) {
	b := Get(100 << 10)
	b[0] = 42
	Put(b)
	allocs := testing.AllocsPerRun(100, func() { Put(Get(100 << 10)) })
	if allocs > 1 {
		t.Fatalf("%v allocations per Get/Put", allocs)
	}
}
