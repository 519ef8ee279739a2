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
)

// bucketJSON is a bucket as B2 returns it.
type bucketJSON struct {
	BucketID       string          `json:"bucketId"`
	BucketName     string          `json:"bucketName"`
	BucketType     string          `json:"bucketType"`
	LifecycleRules []lifecycleRule `json:"lifecycleRules"`
	Revision       int64           `json:"revision"`
}

// lifecycleRule is one of B2's lifecycle rules.
type lifecycleRule struct {
	FileNamePrefix string `json:"fileNamePrefix"`
	Hide           *int   `json:"daysFromUploadingToHiding"`
	Delete         *int   `json:"daysFromHidingToDeleting"`
	Cancel         *int   `json:"daysFromStartingToCancelingUnfinishedLargeFiles,omitempty"`
}

func (r lifecycleRule) String() string {
	var parts []string
	for _, p := range []struct {
		name string
		days *int
	}{{"hide", r.Hide}, {"delete", r.Delete}, {"cancel", r.Cancel}} {
		if p.days != nil {
			parts = append(parts, fmt.Sprintf("%s=%d", p.name, *p.days))
		}
	}
	return fmt.Sprintf("%q:%s", r.FileNamePrefix, strings.Join(parts, ","))
}

// lifecycleFlag collects --lifecycle PREFIX:hide=N,delete=N,cancel=N rules.
type lifecycleFlag struct {
	rules []lifecycleRule
	set   bool
}

func (f *lifecycleFlag) String() string { return "" }

func (f *lifecycleFlag) Set(v string) error {
	prefix, spec, ok := strings.Cut(v, ":")
	if !ok {
		return errors.New(`want PREFIX:hide=N,delete=N,cancel=N (days; PREFIX may be empty)`)
	}
	r := lifecycleRule{FileNamePrefix: prefix}
	for _, kv := range strings.Split(spec, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(strings.TrimSuffix(val, "d"))
		if err != nil || n < 1 {
			return fmt.Errorf("%q: days must be a positive number", kv)
		}
		switch k {
		case "hide":
			r.Hide = &n
		case "delete":
			r.Delete = &n
		case "cancel":
			r.Cancel = &n
		default:
			return fmt.Errorf("%q: want hide, delete or cancel", k)
		}
	}
	f.rules, f.set = append(f.rules, r), true
	return nil
}

// bucketByName finds a bucket the key may see.
func (c *b2API) bucketByName(ctx context.Context, name string) (*bucketJSON, error) {
	var out struct {
		Buckets []bucketJSON `json:"buckets"`
	}
	if err := c.call(ctx, "b2_list_buckets", map[string]any{"accountId": c.accountID, "bucketName": name}, &out); err != nil {
		return nil, err
	}
	if len(out.Buckets) == 0 {
		return nil, fmt.Errorf("no bucket named %q", name)
	}
	return &out.Buckets[0], nil
}

// adminBucket is `coffer admin bucket create|list|delete|set`.
func adminBucket(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("bucket create|list|delete|set")}
	}
	cmd := args[0]
	fs := flag.NewFlagSet("coffer admin bucket "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := addAPIFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	typ := fs.String("type", "", "allPrivate or allPublic (create: allPrivate)")
	var rules lifecycleFlag
	fs.Var(&rules, "lifecycle", "a lifecycle rule, PREFIX:hide=N,delete=N,cancel=N in days (repeat for several; set replaces the bucket's rules)")
	noRules := fs.Bool("no-lifecycle", false, "set: remove every lifecycle rule")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *api.timeout)
	defer cancel()
	switch cmd {
	case "create", "set", "delete":
		if len(pos) != 1 {
			return usageError{fmt.Errorf("bucket %s <name>", cmd)}
		}
	case "list":
		if len(pos) != 0 {
			return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
		}
	default:
		return usageError{fmt.Errorf("unknown bucket command %q (create, list, delete, set)", cmd)}
	}
	c, err := api.connect(ctx)
	if err != nil {
		return err
	}
	show := func(b *bucketJSON, verb string) error {
		if *asJSON {
			return printJSON(stdout, b)
		}
		fmt.Fprintf(stdout, "%s bucket %s (%s, %s)", verb, b.BucketName, b.BucketID, b.BucketType)
		for _, r := range b.LifecycleRules {
			fmt.Fprintf(stdout, " lifecycle %s", r)
		}
		fmt.Fprintln(stdout)
		return nil
	}
	switch cmd {
	case "create":
		t := *typ
		if t == "" {
			t = "allPrivate"
		}
		req := map[string]any{"accountId": c.accountID, "bucketName": pos[0], "bucketType": t}
		if rules.set {
			req["lifecycleRules"] = rules.rules
		}
		var b bucketJSON
		if err := c.call(ctx, "b2_create_bucket", req, &b); err != nil {
			return err
		}
		return show(&b, "created")
	case "set":
		b, err := c.bucketByName(ctx, pos[0])
		if err != nil {
			return err
		}
		req := map[string]any{"accountId": c.accountID, "bucketId": b.BucketID}
		if *typ != "" {
			req["bucketType"] = *typ
		}
		switch {
		case *noRules && rules.set:
			return usageError{errors.New("--lifecycle and --no-lifecycle exclude each other")}
		case *noRules:
			req["lifecycleRules"] = []lifecycleRule{}
		case rules.set:
			req["lifecycleRules"] = rules.rules
		}
		if len(req) == 2 {
			return usageError{errors.New("bucket set needs --type, --lifecycle or --no-lifecycle")}
		}
		var out bucketJSON
		if err := c.call(ctx, "b2_update_bucket", req, &out); err != nil {
			return err
		}
		return show(&out, "updated")
	case "delete":
		b, err := c.bucketByName(ctx, pos[0])
		if err != nil {
			return err
		}
		var out bucketJSON
		if err := c.call(ctx, "b2_delete_bucket", map[string]any{"accountId": c.accountID, "bucketId": b.BucketID}, &out); err != nil {
			return err
		}
		return show(&out, "deleted")
	}
	var out struct {
		Buckets []bucketJSON `json:"buckets"`
	}
	if err := c.call(ctx, "b2_list_buckets", map[string]any{"accountId": c.accountID}, &out); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, out.Buckets)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tTYPE\tLIFECYCLE")
	for _, b := range out.Buckets {
		var rs []string
		for _, r := range b.LifecycleRules {
			rs = append(rs, r.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.BucketName, b.BucketID, b.BucketType, strings.Join(rs, " "))
	}
	return tw.Flush()
}
