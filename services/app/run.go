package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/coffer-project/coffer/services/admin"
	"github.com/coffer-project/coffer/services/runtime"
)

// Version is set at build time (-ldflags "-X ...app.Version=...").
var Version = ""

const usage = `coffer — an object store speaking S3, B2 native and an R2-style API.

Usage:
  coffer serve [flags]     run the configured roles (default: all, in one process)
  coffer config [flags]    print the effective configuration as YAML
  coffer admin <command>   cluster status, metadata add-voter and remove-server ("coffer admin -h")
  coffer cert <command>    certificates: dev (try HTTPS locally), ca, issue, cluster ("coffer cert -h")
  coffer healthcheck       exit 0 when the local process is ready (container health checks)
  coffer version           print the version
  coffer help              this text

Run "coffer serve -h" for every flag.
`

// Run is the whole command line. It returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "config":
		return printConfig(args[1:], stdout, stderr)
	case "admin":
		return admin.Run(ctx, args[1:], stdout, stderr)
	case "cert":
		return admin.Cert(args[1:], stdout, stderr)
	case "healthcheck":
		return admin.Healthcheck(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "coffer", version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "coffer: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, fs, err := ParseConfig("coffer serve", args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "coffer serve:", err)
		if fs != nil && !errors.Is(err, flag.ErrHelp) && strings.HasPrefix(err.Error(), "flag") {
			return 2
		}
		return 1
	}
	log := runtime.NewLogger(cfg.Runtime, stderr)
	p, err := Start(ctx, cfg, stdout, log)
	if err != nil {
		fmt.Fprintln(stderr, "coffer serve:", err)
		return 1
	}
	if u := p.HTTPURL(); u != "" {
		fmt.Fprintf(stdout, "coffer %s serving S3 at %s (region %s), data in %s\n", version(), u, cfg.Gateway.Region, cfg.DataDir)
		fmt.Fprintf(stdout, "  try: aws --endpoint-url %s s3 mb s3://my-first-bucket\n", u)
	}
	if u := p.ConsoleURL(); u != "" {
		fmt.Fprintf(stdout, "  web console at %s (sign in with an application key)\n", u)
	}
	if a := p.AdminAddr(); a != "" {
		fmt.Fprintf(stdout, "  health and metrics at http://%s/readyz and /metrics\n", a)
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-p.Done():
		if err != nil {
			log.Error("serving failed", "err", err)
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.Runtime.ShutdownTimeout)
	defer cancel()
	if err := p.Stop(stopCtx); err != nil {
		fmt.Fprintln(stderr, "coffer serve: stop:", err)
		return 1
	}
	return 0
}

// printConfig prints the effective configuration, secrets redacted.
func printConfig(args []string, stdout, stderr io.Writer) int {
	cfg, _, err := ParseConfig("coffer config", args)
	if err != nil {
		fmt.Fprintln(stderr, "coffer config:", err)
		return 2
	}
	// Secrets (authd.Secret) render as <redacted> by themselves.
	out, err := yaml.Marshal(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "coffer config:", err)
		return 1
	}
	stdout.Write(out)
	return 0
}
