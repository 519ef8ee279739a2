package blobstore

import (
	"flag"
	"fmt"
	"time"

	"github.com/coffer-project/coffer/blobstore/disk"
)

// DefaultGCGrace is the garbage collector's default grace period.
const DefaultGCGrace = time.Hour

// Config configures one blobstore node.
type Config struct {
	// DataDir holds the node's blobs and node id. The app fills it with
	// <data-dir>/blobstore when empty; New requires it.
	DataDir string `yaml:"data_dir"`
	// Zone is a failure domain label reported in GetNodeInfo, for placement
	// across zones once blobs are erasure-coded.
	Zone string `yaml:"zone"`
	// ChunkSize is the checksummed chunk size of new blobs, in bytes.
	ChunkSize int `yaml:"chunk_size"`

	// GCGrace is how old a stored blob or shard must be before the garbage
	// collector may remove it for want of a committed reference (0: one
	// hour). It must
	// exceed by far the time between a shard becoming durable and its
	// version's commit (blobstore/DESIGN.md, "GC safety").
	GCGrace time.Duration `yaml:"gc_grace"`
	// GCInterval is the pause between garbage-collection passes over the
	// node's blobs (0: no garbage collection).
	GCInterval time.Duration `yaml:"gc_interval"`
	// ScrubInterval is the pause between scrub passes, which read and
	// verify every stored blob (0: no scrubbing).
	ScrubInterval time.Duration `yaml:"scrub_interval"`
	// ScrubRate bounds the bytes per second a scrub pass reads (0: no
	// bound), so scrubbing never crowds out client traffic.
	ScrubRate int64 `yaml:"scrub_rate"`
	// RepairInterval is the pause between repair scans over every
	// placement in the metadata (0: no repair scan; damage reported by
	// reads and found by scrubbing is still healed).
	RepairInterval time.Duration `yaml:"repair_interval"`
	// RepairDownAfter is how long a node must be unreachable before the
	// repair scan rebuilds its shards on other nodes. Shorter means less
	// time at reduced redundancy, longer means less copying when a node
	// merely restarts.
	RepairDownAfter time.Duration `yaml:"repair_down_after"`
}

// RegisterFlags registers the flags under prefix and sets the defaults.
func (c *Config) RegisterFlags(prefix string, fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, prefix+"data-dir", "", "blobstore data directory (empty: <data-dir>/blobstore)")
	fs.StringVar(&c.Zone, prefix+"zone", "", "failure-domain label of this blobstore node")
	fs.IntVar(&c.ChunkSize, prefix+"chunk-size", disk.DefaultChunkSize, "bytes per checksummed chunk of new blobs")
	fs.DurationVar(&c.GCGrace, prefix+"gc-grace", DefaultGCGrace, "age before an unreferenced blob or shard may be garbage-collected")
	fs.DurationVar(&c.GCInterval, prefix+"gc-interval", 30*time.Minute, "pause between garbage-collection passes (0: off)")
	fs.DurationVar(&c.ScrubInterval, prefix+"scrub-interval", 24*time.Hour, "pause between scrub passes that verify every stored blob (0: off)")
	fs.Int64Var(&c.ScrubRate, prefix+"scrub-rate", 16<<20, "bytes per second a scrub pass may read (0: unbounded)")
	fs.DurationVar(&c.RepairInterval, prefix+"repair-interval", 10*time.Minute, "pause between repair scans over every placement (0: off)")
	fs.DurationVar(&c.RepairDownAfter, prefix+"repair-down-after", 15*time.Minute, "how long a node must be unreachable before its shards are rebuilt elsewhere")
}

// DefaultConfig returns the configuration RegisterFlags defaults to.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags("", flag.NewFlagSet("blobstore", flag.ContinueOnError))
	return c
}

// Validate checks the configuration. An empty DataDir is allowed here
// because the app fills it in after validation of the flags.
func (c *Config) Validate() error {
	if c.ChunkSize < disk.MinChunkSize || c.ChunkSize > disk.MaxChunkSize {
		return fmt.Errorf("blobstore: chunk-size must be between %d and %d bytes", disk.MinChunkSize, disk.MaxChunkSize)
	}
	if len(c.Zone) > 64 {
		return fmt.Errorf("blobstore: zone must be at most 64 characters")
	}
	switch {
	case c.GCGrace != 0 && c.GCGrace < time.Second:
		return fmt.Errorf("blobstore: gc-grace must be at least 1s")
	case c.GCInterval < 0 || c.ScrubInterval < 0 || c.RepairInterval < 0 || c.RepairDownAfter < 0 || c.ScrubRate < 0:
		return fmt.Errorf("blobstore: intervals and rates must not be negative")
	}
	return nil
}
