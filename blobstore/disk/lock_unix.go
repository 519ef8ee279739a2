//go:build linux || darwin || freebsd

package disk

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on path, so that two processes
// never share one data directory (each would clean the other's temp files).
// The lock dies with the process, so a crash never leaves it stale.
func lockDir(path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f.Close, nil
}
