package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/discovery"
)

// adminLifecycle is `coffer admin lifecycle run [--dry-run] [--now T]`: one
// pass of the buckets' lifecycle rules on the metadata leader, now or as of
// another time, listing every action (with --dry-run, changing nothing).
func adminLifecycle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		return usageError{errors.New("lifecycle run [--dry-run] [--now=TIME]")}
	}
	fs := flag.NewFlagSet("coffer admin lifecycle run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClusterFlags(fs, 10*time.Minute)
	dry := fs.Bool("dry-run", false, "list what the rules would hide, delete and cancel; change nothing")
	nowFlag := fs.String("now", "", "run as of this time: RFC 3339 (2026-03-01T12:00:00Z), a date (2026-03-01, UTC midnight) or +DURATION from now (+40d, +36h); default: the leader's clock")
	max := fs.Int("max-actions", 10000, "the most actions to list (the counts are always complete)")
	asJSON := fs.Bool("json", false, "print the response as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	now, err := parseNow(*nowFlag, time.Now())
	if err != nil {
		return usageError{fmt.Errorf("--now: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, *cf.timeout)
	defer cancel()
	c, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	cc, err := c.role(discovery.Metadata)
	if err != nil {
		return err
	}
	req := &metadatav1.RunLifecycleRequest{AccountToken: c.token, DryRun: *dry, MaxActions: int32(*max)}
	if !now.IsZero() {
		req.NowUnixNanos = now.UnixNano()
	}
	resp, err := metadatav1.NewClusterServiceClient(cc).RunLifecycle(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return printProtoJSON(stdout, resp)
	}
	printLifecycle(stdout, resp, *dry)
	return nil
}

// parseNow reads --now; the zero time means "the leader's clock".
func parseNow(s string, from time.Time) (time.Time, error) {
	switch {
	case s == "":
		return time.Time{}, nil
	case strings.HasPrefix(s, "+"):
		rest := s[1:]
		if d, ok := strings.CutSuffix(rest, "d"); ok {
			n, err := strconv.Atoi(d)
			if err != nil || n < 0 {
				return time.Time{}, fmt.Errorf("%q: want +Nd or a Go duration like +36h", s)
			}
			return from.Add(time.Duration(n) * 24 * time.Hour), nil
		}
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q: want +Nd or a Go duration like +36h", s)
		}
		return from.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339, a date or +DURATION", s)
}

// printLifecycle prints what a pass did (or would do), then the counts.
func printLifecycle(w io.Writer, r *metadatav1.RunLifecycleResponse, dry bool) {
	at := time.Unix(0, r.GetNowUnixNanos()).UTC().Format(time.RFC3339)
	if dry {
		fmt.Fprintf(w, "dry run as of %s: what the lifecycle rules would do (nothing was changed)\n", at)
	} else {
		fmt.Fprintf(w, "lifecycle pass as of %s\n", at)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verbs := map[metadatav1.LifecycleActionKind][2]string{
		metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_HIDE:   {"hide", "hidden"},
		metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_DELETE: {"delete", "deleted"},
		metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_ABORT:  {"cancel", "cancelled"},
	}
	for _, a := range r.GetActions() {
		verb := verbs[a.GetKind()][1]
		if dry {
			verb = verbs[a.GetKind()][0]
		}
		what := "version " + a.GetVersionId()
		switch {
		case a.GetKind() == metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_ABORT:
			what = "unfinished upload " + a.GetVersionId()
		case a.GetHideMarker() && a.GetVersionId() == "":
			what = "hide marker (the one this pass adds)"
		case a.GetHideMarker():
			what = "hide marker " + a.GetVersionId()
		}
		fmt.Fprintf(tw, "  %s\t%s/%s\t%s\trule %q\n", verb, a.GetBucketName(), a.GetKey(), what, a.GetRulePrefix())
	}
	tw.Flush()
	if n := r.GetActionsOmitted(); n > 0 {
		fmt.Fprintf(w, "  ... and %d more (raise --max-actions to list them)\n", n)
	}
	would := ""
	if dry {
		would = "would be "
	}
	fmt.Fprintf(w, "summary: %d %shidden, %d %sdeleted, %d unfinished uploads %scancelled", r.GetHidden(), would, r.GetDeleted(), would, r.GetAborted(), would)
	if n := r.GetSkippedLocked(); n > 0 {
		fmt.Fprintf(w, "; %d deletions skipped (retention or legal hold)", n)
	}
	if n := r.GetConflicts(); n > 0 {
		fmt.Fprintf(w, "; %d actions overtaken by other changes", n)
	}
	fmt.Fprintln(w)
}
