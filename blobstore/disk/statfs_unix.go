//go:build linux || darwin || freebsd

package disk

import "syscall"

// statfs returns the capacity and the space available to unprivileged
// writers (Bavail, not Bfree: the root reserve is not ours to fill).
func statfs(path string) (capacity, free int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	bs := int64(st.Bsize)
	return int64(st.Blocks) * bs, int64(st.Bavail) * bs, nil
}
