// Package bufpool hands out byte buffers for the data path from pools of
// power-of-two size classes, so that moving an object's bytes does not
// allocate (and zero) a fresh buffer per message, chunk or request.
//
// Get returns a buffer of exactly the asked length whose contents are
// arbitrary (never zeroed: callers overwrite what they use); Put takes it
// back. A buffer must not be used after Put, and must be Put at most once.
// Buffers larger than MaxSize are allocated and left to the garbage
// collector. The pools are safe for concurrent use.
package bufpool
