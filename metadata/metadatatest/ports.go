package metadatatest

import (
	"net"
	"testing"
)

// FreePorts returns n distinct loopback addresses ("127.0.0.1:port") that
// were free a moment ago. Listeners that must be known before they are
// opened (a peer list names every node's Raft address) use them; the small
// chance that another process takes one meanwhile is accepted in tests.
func FreePorts(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}
