// Command coffer runs coffer's roles. Keep main this small: the wiring lives
// in services/app, where tests can reach it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/coffer-project/coffer/services/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
