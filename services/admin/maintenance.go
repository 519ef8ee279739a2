package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
)

var maintenanceJobs = map[string]blobv1.MaintenanceJob{
	"scrub":  blobv1.MaintenanceJob_MAINTENANCE_JOB_SCRUB,
	"repair": blobv1.MaintenanceJob_MAINTENANCE_JOB_REPAIR,
	"gc":     blobv1.MaintenanceJob_MAINTENANCE_JOB_GC,
}

// nodeResult is one node's run (and its --json form).
type nodeResult struct {
	Addr           string `json:"addr"`
	NodeID         string `json:"node_id,omitempty"`
	Scanned        int64  `json:"scanned"`
	Repaired       int64  `json:"repaired"`
	Deleted        int64  `json:"deleted"`
	Errors         int64  `json:"errors"`
	Bytes          int64  `json:"bytes"`
	DurationMillis int64  `json:"duration_millis"`
	Error          string `json:"error,omitempty"`

	summary *blobv1.MaintenanceSummary
}

// adminMaintenance is `coffer admin scrub|repair|gc`: one pass of that job
// on every blobstore node at once, with progress and a summary.
func adminMaintenance(ctx context.Context, job string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coffer admin "+job, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClusterFlags(fs, 24*time.Hour)
	nodesFlag := fs.String("nodes", "", "only these blobstore nodes (comma-separated gRPC addresses; default: every node)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	ctx, cancel := context.WithTimeout(ctx, *cf.timeout)
	defer cancel()
	c, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	nodes := splitList(*nodesFlag)
	if len(nodes) == 0 {
		if nodes, err = c.blobNodes(ctx); err != nil {
			return err
		}
	}
	if len(nodes) == 0 {
		return errors.New("no blobstore node found")
	}
	sort.Strings(nodes)
	prog := newProgress(stderr, job, nodes)
	results := make([]nodeResult, len(nodes))
	var wg sync.WaitGroup
	for i, addr := range nodes {
		wg.Go(func() {
			results[i] = runOnNode(ctx, c, addr, maintenanceJobs[job], prog)
		})
	}
	wg.Wait()
	prog.end()
	if *asJSON {
		if err := printJSON(stdout, results); err != nil {
			return err
		}
	} else {
		printMaintenance(stdout, job, results, time.Since(prog.start))
	}
	failed := 0
	for _, r := range results {
		if r.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s failed on %d of %d nodes", job, failed, len(nodes))
	}
	return nil
}

func runOnNode(ctx context.Context, c *cluster, addr string, job blobv1.MaintenanceJob, prog *progress) nodeResult {
	res := nodeResult{Addr: addr}
	fail := func(err error) nodeResult {
		res.Error = err.Error()
		prog.nodeDone(addr, "failed: "+res.Error)
		return res
	}
	cc, err := c.node(addr)
	if err != nil {
		return fail(err)
	}
	stream, err := blobv1.NewBlobServiceClient(cc).RunMaintenance(ctx, &blobv1.RunMaintenanceRequest{Job: job, AccountToken: c.token})
	if err != nil {
		return fail(err)
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			if s := res.summary; s != nil && errors.Is(err, io.EOF) {
				res.NodeID, res.Scanned, res.Repaired, res.Deleted = s.GetNodeId(), s.GetScanned(), s.GetRepaired(), s.GetDeleted()
				res.Errors, res.Bytes, res.DurationMillis = s.GetErrors(), s.GetBytes(), s.GetDurationMillis()
				prog.nodeDone(addr, fmt.Sprintf("done (node %s): %d scanned, %d repaired, %d deleted, %d errors", s.GetNodeId(), s.GetScanned(), s.GetRepaired(), s.GetDeleted(), s.GetErrors()))
				return res
			}
			if errors.Is(err, io.EOF) {
				err = errors.New("the node ended the run without a summary")
			}
			return fail(err)
		}
		prog.update(addr, m.GetDone(), m.GetTotal())
		if m.GetSummary() != nil {
			res.summary = m.GetSummary()
		}
	}
}

// printMaintenance prints one line per node and the totals.
func printMaintenance(w io.Writer, job string, results []nodeResult, took time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NODE\tSCANNED\tREPAIRED\tDELETED\tERRORS\tBYTES READ\tTIME\t\n")
	var sum nodeResult
	ok := 0
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\tfailed: %s\t\t\t\t\t\t\n", r.Addr, r.Error)
			continue
		}
		ok++
		sum.Scanned += r.Scanned
		sum.Repaired += r.Repaired
		sum.Deleted += r.Deleted
		sum.Errors += r.Errors
		sum.Bytes += r.Bytes
		fmt.Fprintf(tw, "%s (%s)\t%d\t%d\t%d\t%d\t%s\t%s\t\n", r.Addr, r.NodeID, r.Scanned, r.Repaired, r.Deleted, r.Errors,
			bytesHuman(r.Bytes), time.Duration(r.DurationMillis)*time.Millisecond)
	}
	fmt.Fprintf(tw, "total (%d of %d nodes)\t%d\t%d\t%d\t%d\t%s\t%s\t\n", ok, len(results), sum.Scanned, sum.Repaired, sum.Deleted, sum.Errors,
		bytesHuman(sum.Bytes), took.Round(time.Millisecond))
	tw.Flush()
	what := map[string]string{"scrub": "damaged blobs found (queued for rebuild)", "repair": "shards rebuilt", "gc": "unreferenced blobs removed"}[job]
	fmt.Fprintf(w, "%s: %d %s\n", job, map[string]int64{"scrub": sum.Repaired, "repair": sum.Repaired, "gc": sum.Deleted}[job], what)
}
