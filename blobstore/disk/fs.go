package disk

import (
	"io"
	"io/fs"
	"os"
)

// FS is the file system the store writes through. The default is the
// operating system's; tests of the fault matrix (spec/reliability.md §5,
// "fault filesystem") wrap it to inject ENOSPC, EIO, slow fsyncs or lost
// unsynced writes. Implementations must be safe for concurrent use.
type FS interface {
	// OpenFile opens a file like os.OpenFile.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Mkdir creates one directory like os.Mkdir.
	Mkdir(name string, perm fs.FileMode) error
	// Rename atomically replaces newpath with oldpath like os.Rename.
	Rename(oldpath, newpath string) error
	// Remove removes a file or an empty directory like os.Remove.
	Remove(name string) error
	// ReadDir lists a directory sorted by name like os.ReadDir.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Lstat describes a file like os.Lstat.
	Lstat(name string) (fs.FileInfo, error)
}

// File is an open file of an FS. A File is used by one goroutine at a time,
// except ReadAt, which may be called concurrently.
type File interface {
	io.ReaderAt
	io.Writer
	io.WriterAt
	// Sync commits the file's contents (or, for a directory, its entries)
	// to stable storage.
	Sync() error
	Close() error
	Stat() (fs.FileInfo, error)
}

// OSFS is the operating system's file system.
type OSFS struct{}

// OpenFile implements FS.
func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		// Return a nil interface, not a typed nil *os.File.
		return nil, err
	}
	return f, nil
}

// Mkdir implements FS.
func (OSFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }

// Rename implements FS.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// ReadDir implements FS.
func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// Lstat implements FS.
func (OSFS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a power loss; a rename alone is not durable until then.
func syncDir(fsys FS, dir string) error {
	d, err := fsys.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// mkdirDurable creates dir if it does not exist and, when it did create it,
// fsyncs the parent so that the new entry is durable before anything is
// renamed into it.
func mkdirDurable(fsys FS, dir string) error {
	err := fsys.Mkdir(dir, 0o750)
	switch {
	case err == nil:
		return syncDir(fsys, parentDir(dir))
	case os.IsExist(err):
		return nil
	default:
		return err
	}
}
