package admin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// keyJSON is an application key as B2's v4 calls return it.
type keyJSON struct {
	KeyID          string   `json:"applicationKeyId"`
	Key            string   `json:"applicationKey,omitempty"`
	KeyName        string   `json:"keyName"`
	Capabilities   []string `json:"capabilities"`
	BucketIDs      []string `json:"bucketIds"`
	NamePrefix     *string  `json:"namePrefix"`
	ExpirationTime *int64   `json:"expirationTimestamp"`
}

// adminKey is `coffer admin key create|list|delete`.
func adminKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("key create|list|delete")}
	}
	fs := flag.NewFlagSet("coffer admin key "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := addAPIFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	var name, caps, buckets, prefix *string
	var duration *time.Duration
	if args[0] == "create" {
		name = fs.String("name", "", "the key's name (required): letters, digits and '-'")
		caps = fs.String("capabilities", "", "comma-separated B2 capabilities (required), e.g. listBuckets,readFiles,writeFiles")
		buckets = fs.String("bucket", "", "comma-separated bucket names the key is restricted to (default: every bucket)")
		prefix = fs.String("prefix", "", "file name prefix the key is restricted to")
		duration = fs.Duration("duration", 0, "how long the key is valid (default: until deleted)")
	}
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *api.timeout)
	defer cancel()
	switch args[0] {
	case "create":
		if len(pos) > 0 || *name == "" || *caps == "" {
			return usageError{errors.New("key create needs --name and --capabilities")}
		}
		c, err := api.connect(ctx)
		if err != nil {
			return err
		}
		req := map[string]any{"accountId": c.accountID, "keyName": *name, "capabilities": splitList(*caps)}
		if *buckets != "" {
			var ids []string
			for _, b := range splitList(*buckets) {
				bk, err := c.bucketByName(ctx, b)
				if err != nil {
					return err
				}
				ids = append(ids, bk.BucketID)
			}
			req["bucketIds"] = ids
		}
		if *prefix != "" {
			req["namePrefix"] = *prefix
		}
		if *duration > 0 {
			req["validDurationInSeconds"] = int64(duration.Seconds())
		}
		var k keyJSON
		if err := c.call(ctx, "b2_create_key", req, &k); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, k)
		}
		fmt.Fprintf(stdout, "created key %q\n  key id:  %s\n  secret:  %s\n(the secret is shown once)\n", k.KeyName, k.KeyID, k.Key)
		return nil
	case "list":
		if len(pos) > 0 {
			return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
		}
		c, err := api.connect(ctx)
		if err != nil {
			return err
		}
		var all []keyJSON
		for start := ""; ; {
			req := map[string]any{"accountId": c.accountID, "maxKeyCount": 1000}
			if start != "" {
				req["startApplicationKeyId"] = start
			}
			var page struct {
				Keys []keyJSON `json:"keys"`
				Next *string   `json:"nextApplicationKeyId"`
			}
			if err := c.call(ctx, "b2_list_keys", req, &page); err != nil {
				return err
			}
			all = append(all, page.Keys...)
			if page.Next == nil || *page.Next == "" {
				break
			}
			start = *page.Next
		}
		if *asJSON {
			return printJSON(stdout, all)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tNAME\tCAPABILITIES\tBUCKETS\tPREFIX\tEXPIRES")
		for _, k := range all {
			exp := "never"
			if k.ExpirationTime != nil && *k.ExpirationTime > 0 {
				exp = time.UnixMilli(*k.ExpirationTime).UTC().Format(time.RFC3339)
			}
			p := ""
			if k.NamePrefix != nil {
				p = *k.NamePrefix
			}
			bs := "all"
			if len(k.BucketIDs) > 0 {
				bs = strings.Join(k.BucketIDs, ",")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KeyID, k.KeyName, capsShort(k.Capabilities), bs, p, exp)
		}
		return tw.Flush()
	case "delete":
		if len(pos) != 1 {
			return usageError{errors.New("key delete <key id>")}
		}
		c, err := api.connect(ctx)
		if err != nil {
			return err
		}
		var k keyJSON
		if err := c.call(ctx, "b2_delete_key", map[string]any{"applicationKeyId": pos[0]}, &k); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted key %s (%s)\n", k.KeyID, k.KeyName)
		return nil
	}
	return usageError{fmt.Errorf("unknown key command %q (create, list, delete)", args[0])}
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// parseArgs parses flags and positional arguments in any order (`bucket
// create NAME --type allPublic` as well as `bucket create --type
// allPublic NAME`) and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr(err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageErr turns a flag parsing error into a usage error (help passes).
func usageErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}

// capsShort lists up to four capabilities, then how many more (--json
// lists them all).
func capsShort(caps []string) string {
	if len(caps) <= 4 {
		return strings.Join(caps, ",")
	}
	return fmt.Sprintf("%s,… (%d in all)", strings.Join(caps[:4], ","), len(caps))
}
