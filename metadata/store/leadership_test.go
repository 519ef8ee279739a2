package store

import (
	"testing"
	"time"
)

// TestLeadershipChanges: the node that becomes leader is signalled (the
// app republishes its discovery entry on each signal rather than polling),
// and Close stops the observer.
func TestLeadershipChanges(t *testing.T) {
	s, err := Open(testConfig(t.TempDir(), true))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for !s.IsLeader() {
		select {
		case <-s.LeadershipChanges():
		case <-deadline:
			t.Fatal("no leadership signal left the node leader within 10s")
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// After Close the channel stays usable (never closed) and quiet.
	select {
	case <-s.LeadershipChanges():
	case <-time.After(50 * time.Millisecond):
	}
}
