package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const healthcheckUsage = `coffer healthcheck — exit 0 when the local coffer process is ready.

Usage:
  coffer healthcheck [--addr 127.0.0.1:9101] [--live] [--timeout 3s]

It asks the admin listener's /readyz (/healthz with --live). Container
images have no shell or curl, so this is their health check command.
`

// Healthcheck is the `coffer healthcheck` command (args after
// "healthcheck"). It returns the process exit code.
func Healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("coffer healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, healthcheckUsage) }
	addr := fs.String("addr", "127.0.0.1:9101", "admin address of the process (its --admin-addr)")
	live := fs.Bool("live", false, "check liveness (/healthz) instead of readiness (/readyz)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long the check may take")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "coffer healthcheck: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	path := "/readyz"
	if *live {
		path = "/healthz"
	}
	host := *addr
	// An admin address that listens on every interface (":9101",
	// "0.0.0.0:9101") is reached on loopback.
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	} else if h, ok := strings.CutPrefix(host, "0.0.0.0:"); ok {
		host = "127.0.0.1:" + h
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+path, nil)
	if err != nil {
		fmt.Fprintln(stderr, "coffer healthcheck:", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "coffer healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "coffer healthcheck: %s: %s", resp.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "%s", body)
	return 0
}
