// Package debpkg installs the Debian packages that tests drive as real
// clients (aws-cli, s3cmd, rclone, the b2 CLI, Chromium) when they are
// missing, so a client test never skips for want of its client.
//
// `go test ./...` runs packages as parallel processes, and two of them
// calling apt-get at once fail on dpkg's lock. Every install therefore
// holds a lock file (flock, so it is released if a test process dies)
// for the whole update-and-install, and apt-get also waits for dpkg's
// own lock should something outside the tests hold it.
package debpkg

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// lockPath is shared by every test process on the machine.
const lockPath = "/tmp/coffer-apt.lock"

var (
	mu      sync.Mutex
	updated bool
)

// Ensure installs pkgs unless have reports they are already there, and
// checks have again afterwards. recommends chooses whether apt-get also
// installs the packages' recommendations.
func Ensure(have func() bool, recommends bool, pkgs ...string) error {
	if have() {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return fmt.Errorf("debpkg: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("debpkg: lock %s: %w", lockPath, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	// Another process may have installed them while we waited.
	if have() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if !updated {
		if out, err := aptGet(ctx, "update", "-qq"); err != nil {
			return fmt.Errorf("apt-get update: %v\n%s", err, out)
		}
		updated = true
	}
	args := []string{"install", "-y", "-qq"}
	if !recommends {
		args = append(args, "--no-install-recommends")
	}
	if out, err := aptGet(ctx, append(args, pkgs...)...); err != nil {
		return fmt.Errorf("apt-get install %v: %v\n%s", pkgs, err, out)
	}
	if !have() {
		return fmt.Errorf("apt-get installed %v, yet what the test needs is still missing", pkgs)
	}
	return nil
}

func aptGet(ctx context.Context, args ...string) ([]byte, error) {
	args = append([]string{"-o", "DPkg::Lock::Timeout=600"}, args...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return cmd.CombinedOutput()
}
