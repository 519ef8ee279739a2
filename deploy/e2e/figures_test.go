//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
)

// counts are one phase's client outcomes.
type counts struct {
	writesOK, readsOK   int
	writeErrs, readErrs map[string]int
	corrupt             int
}

func (c counts) writeFailures() int { return sum(c.writeErrs) }
func (c counts) readFailures() int  { return sum(c.readErrs) }

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// count tallies the ops of a phase that keep says to keep (nil: all).
func count(ops []op, phase string, keep func(op) bool) counts {
	c := counts{writeErrs: map[string]int{}, readErrs: map[string]int{}}
	for _, o := range ops {
		if o.phase != phase || keep != nil && !keep(o) {
			continue
		}
		switch {
		case o.write && o.outcome == "":
			c.writesOK++
		case o.write:
			c.writeErrs[o.outcome]++
		case o.outcome == "":
			c.readsOK++
		default:
			c.readErrs[o.outcome]++
			if o.outcome == "corrupt" {
				c.corrupt++
			}
		}
	}
	return c
}

// figures collects what the test prints at the end.
type figures struct {
	mu     sync.Mutex
	phases []string
	notes  []string
}

func (f *figures) phase(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.phases = append(f.phases, name)
}

func (f *figures) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes = append(f.notes, fmt.Sprintf(format, args...))
}

// print writes the per-phase table and the scenario figures.
func (f *figures) print(w io.Writer, ops []op) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintln(w, "\n==== coffer e2e: figures ====")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\twrites ok\twrite errors\treads ok\tread errors\terrors by class")
	for _, p := range f.phases {
		c := count(ops, p, nil)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", p, c.writesOK, c.writeFailures(), c.readsOK, c.readFailures(), classes(c))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, n := range f.notes {
		fmt.Fprintln(w, "  "+n)
	}
	fmt.Fprintln(w, "=============================")
}

// classes renders the error classes of a phase, writes and reads apart.
func classes(c counts) string {
	render := func(prefix string, m map[string]int) []string {
		var out []string
		for k, v := range m {
			out = append(out, fmt.Sprintf("%s %s ×%d", prefix, k, v))
		}
		sort.Strings(out)
		return out
	}
	all := append(render("put", c.writeErrs), render("get", c.readErrs)...)
	if len(all) == 0 {
		return "-"
	}
	return strings.Join(all, ", ")
}
