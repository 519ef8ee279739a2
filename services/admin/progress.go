package admin

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// progress shows how far a run over several nodes is: a bar redrawn in
// place on a terminal, plain lines (one every plainEvery, and one per node
// that finishes) anywhere else, so logs and scripts get readable output.
type progress struct {
	w        io.Writer
	tty      bool
	width    int
	job      string
	start    time.Time
	mu       sync.Mutex
	nodes    map[string][2]int64 // node → done, total
	finished int
	last     time.Time
	drawn    bool
}

// plainEvery is how often a run reports on a non-terminal.
const plainEvery = 5 * time.Second

func newProgress(w io.Writer, job string, nodes []string) *progress {
	now := time.Now()
	p := &progress{w: w, tty: isTerminal(w), width: termWidth(), job: job, start: now, last: now, nodes: map[string][2]int64{}}
	for _, n := range nodes {
		p.nodes[n] = [2]int64{}
	}
	return p
}

// isTerminal reports whether w is a character device (a terminal) and the
// terminal is not "dumb".
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func termWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	return 80
}

// update records a node's progress.
func (p *progress) update(node string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nodes[node] = [2]int64{done, total}
	now := time.Now()
	if p.tty {
		if now.Sub(p.last) >= 100*time.Millisecond {
			p.last = now
			p.draw()
		}
		return
	}
	if now.Sub(p.last) >= plainEvery {
		p.last = now
		done, total := p.sums()
		fmt.Fprintf(p.w, "%s: %s\n", p.job, counts(done, total))
	}
}

// nodeDone reports a node that finished (or failed).
func (p *progress) nodeDone(node, outcome string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished++
	if p.tty {
		p.clear()
		fmt.Fprintf(p.w, "%s on %s: %s\n", p.job, node, outcome)
		p.draw()
		return
	}
	fmt.Fprintf(p.w, "%s on %s: %s\n", p.job, node, outcome)
}

// end clears the bar.
func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.clear()
	}
}

func (p *progress) sums() (done, total int64) {
	for _, v := range p.nodes {
		done += v[0]
		total += max(v[1], v[0])
	}
	return done, total
}

func (p *progress) draw() {
	done, total := p.sums()
	line := bar(p.job, done, total, p.finished, len(p.nodes), time.Since(p.start), p.width)
	fmt.Fprint(p.w, "\r"+line)
	p.drawn = true
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.width-1)+"\r")
		p.drawn = false
	}
}

// counts is "done/total (pct%)", or just "done" when the total is unknown.
func counts(done, total int64) string {
	if total <= 0 {
		return strconv.FormatInt(done, 10)
	}
	return fmt.Sprintf("%d/%d (%d%%)", done, total, done*100/total)
}

// bar renders one line of at most width-1 columns:
//
//	scrub [=========>          ] 1200/2400 (50%)  2/6 nodes  0:12
func bar(job string, done, total int64, finished, nodes int, elapsed time.Duration, width int) string {
	tail := fmt.Sprintf(" %s  %d/%d nodes  %s", counts(done, total), finished, nodes, clock(elapsed))
	room := width - 1 - len(job) - 3 - len(tail)
	if room < 10 {
		return (job + tail)[:min(len(job+tail), width-1)]
	}
	inner := make([]byte, room)
	for i := range inner {
		inner[i] = ' '
	}
	if total > 0 {
		filled := int(int64(room) * min(done, total) / total)
		for i := 0; i < filled; i++ {
			inner[i] = '='
		}
		if filled < room {
			inner[filled] = '>'
		}
	} else {
		// Unknown total: a marker that moves with the count.
		inner[int(done)%room] = '*'
	}
	return job + " [" + string(inner) + "]" + tail
}

func clock(d time.Duration) string {
	s := int(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
