package admin

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBar(t *testing.T) {
	cases := []struct {
		done, total int64
		want        string
	}{
		{0, 100, "scrub [>"},
		{50, 100, "scrub [===="},
		{100, 100, "] 100/100 (100%)  1/2 nodes  1:05"},
		{7, 0, "] 7  1/2 nodes"},
	}
	for _, c := range cases {
		got := bar("scrub", c.done, c.total, 1, 2, 65*time.Second, 60)
		if len(got) > 59 || !strings.Contains(got, c.want) {
			t.Errorf("bar(%d/%d) = %q (%d columns), want it to contain %q", c.done, c.total, got, len(got), c.want)
		}
	}
	if got := bar("repair", 5, 10, 0, 100, time.Hour, 30); len(got) > 29 {
		t.Errorf("narrow bar %q is %d columns", got, len(got))
	}
}

// TestProgressPlain: off a terminal, progress is lines, never carriage returns.
func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "gc", []string{"n1", "n2"})
	p.update("n1", 1, 10)
	p.nodeDone("n1", "done")
	p.end()
	if strings.Contains(b.String(), "\r") || !strings.Contains(b.String(), "gc on n1: done\n") {
		t.Fatalf("plain progress: %q", b.String())
	}
}
