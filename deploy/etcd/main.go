// Command etcd is etcd v3.7.3 (go.etcd.io/etcd/server/v3/etcdmain) built as
// a static binary for coffer's FROM-scratch etcd image, so the cluster needs
// no image from a registry. It adds one subcommand, `etcd healthcheck`, for
// the container's health check: the image has no shell and no curl.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:]))
	}
	etcdmain.Main(os.Args)
}

// healthcheck asks the local member's /health endpoint; the URL may be given
// as the only argument.
func healthcheck(args []string) int {
	url := "http://127.0.0.1:2379/health"
	if len(args) > 0 {
		url = args[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "healthcheck: %s: %s\n", resp.Status, body)
		return 1
	}
	return 0
}
