package shell

import "sync/atomic"

// Limiter bounds the requests in flight, with a smaller share for
// anonymous ones: anonymous requests (public-bucket reads, preflights) can
// come from anyone, so however many of them arrive, the slots beyond their
// share stay for authenticated clients. It is safe for concurrent use.
type Limiter struct {
	max, maxAnonymous int64
	all, anonymous    atomic.Int64
}

// NewLimiter allows max requests at once, at most maxAnonymous of them
// anonymous (maxAnonymous <= 0 or > max means max).
func NewLimiter(max, maxAnonymous int) *Limiter {
	if maxAnonymous <= 0 || maxAnonymous > max {
		maxAnonymous = max
	}
	return &Limiter{max: int64(max), maxAnonymous: int64(maxAnonymous)}
}

// acquire takes a slot, or reports false when none is free.
func (l *Limiter) acquire(anonymous bool) bool {
	if anonymous {
		if l.anonymous.Add(1) > l.maxAnonymous {
			l.anonymous.Add(-1)
			return false
		}
	}
	if l.all.Add(1) > l.max {
		l.all.Add(-1)
		if anonymous {
			l.anonymous.Add(-1)
		}
		return false
	}
	return true
}

// release gives back a slot taken by acquire.
func (l *Limiter) release(anonymous bool) {
	l.all.Add(-1)
	if anonymous {
		l.anonymous.Add(-1)
	}
}

// InFlight is the number of requests holding a slot.
func (l *Limiter) InFlight() int { return int(l.all.Load()) }
