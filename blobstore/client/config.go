package client

import (
	"errors"
	"flag"
	"fmt"
)

// DefaultStripeSize is the default bytes per data shard per stripe: with
// 4+2 a stripe is 1 MiB of object and 1.5 MiB of shards, so a put holds a
// few MiB whatever the object's size, and each piece is one gRPC message.
const DefaultStripeSize = 256 << 10

// Stripe size bounds. Pieces are sent as messages of at most 256 KiB, so
// larger stripes only cost memory.
const (
	MinStripeSize = 4 << 10
	MaxStripeSize = 16 << 20
)

// Config says how new blobs are coded across nodes. Reads and repairs take
// the coding from each blob's placement, so changing Config never affects
// existing blobs.
type Config struct {
	// DataShards is k, the data shards per stripe (0: 1).
	DataShards int `yaml:"data_shards"`
	// ParityShards is m, the parity shards per stripe: any m shards of a
	// blob may be lost.
	ParityShards int `yaml:"parity_shards"`
	// StripeSize is the bytes per data shard per stripe (0:
	// DefaultStripeSize).
	StripeSize int `yaml:"stripe_size"`
	// WriteQuorum is how many shards must be durable before a put is
	// acknowledged (0: k+m-1 when m > 0, so writes go on with one node
	// down, as in a Backblaze Vault; k+m when m = 0).
	WriteQuorum int `yaml:"write_quorum"`
	// InProcess lets the app move the shard bytes of a blobstore node that
	// runs in the client's own process in-process (see Local); off, every
	// byte goes through gRPC, as in a cluster.
	InProcess bool `yaml:"in_process"`

	// OnDamage, when set, is called (synchronously; keep it short) for
	// every missing or corrupt shard a read or a put runs into, in addition
	// to the report sent to the node that should hold it. For metrics and
	// tests.
	OnDamage func(Damage) `yaml:"-"`

	// Local, when set, returns the in-process path to the node with the
	// given id, or nil when that node is not in this process: the bytes of
	// that node's shards then move through it instead of gRPC (see
	// ShardIO). services/app sets it when the blobstore role shares the
	// gateway's process.
	Local func(nodeID string) ShardIO `yaml:"-"`
}

// RegisterFlags registers the flags under prefix and sets the defaults
// (k=1, m=0: one whole copy, the all-in-one default).
func (c *Config) RegisterFlags(prefix string, fs *flag.FlagSet) {
	fs.IntVar(&c.DataShards, prefix+"data-shards", 1, "erasure coding: data shards (k) per stripe of new blobs")
	fs.IntVar(&c.ParityShards, prefix+"parity-shards", 0, "erasure coding: parity shards (m) per stripe of new blobs; any m nodes may be lost")
	fs.IntVar(&c.StripeSize, prefix+"stripe-size", DefaultStripeSize, "erasure coding: bytes per data shard per stripe")
	fs.IntVar(&c.WriteQuorum, prefix+"write-quorum", 0, "erasure coding: shards that must be durable before a put is acknowledged (0: k+m-1, or k+m when m=0)")
	fs.BoolVar(&c.InProcess, prefix+"in-process", true, "move the shard bytes of a blobstore node in this process in-process (false: through gRPC, as in a cluster)")
}

// Validate checks the configuration (zero values stand for the defaults).
func (c *Config) Validate() error {
	k, m := c.DataShards, c.ParityShards
	if k == 0 {
		k = 1
	}
	switch {
	case k < 1 || m < 0:
		return errors.New("ec: data-shards must be at least 1 and parity-shards at least 0")
	case k+m > MaxShards:
		return fmt.Errorf("ec: data-shards + parity-shards must be at most %d", MaxShards)
	case c.StripeSize != 0 && (c.StripeSize < MinStripeSize || c.StripeSize > MaxStripeSize):
		return fmt.Errorf("ec: stripe-size must be between %d and %d bytes", MinStripeSize, MaxStripeSize)
	case c.WriteQuorum != 0 && (c.WriteQuorum < k || c.WriteQuorum > k+m):
		return fmt.Errorf("ec: write-quorum must be between data-shards (%d) and data-shards + parity-shards (%d)", k, k+m)
	}
	return nil
}

// withDefaults fills the zero values.
func (c Config) withDefaults() Config {
	if c.DataShards == 0 {
		c.DataShards = 1
	}
	if c.StripeSize == 0 {
		c.StripeSize = DefaultStripeSize
	}
	if c.WriteQuorum == 0 {
		c.WriteQuorum = c.DataShards + c.ParityShards
		if c.ParityShards > 0 {
			c.WriteQuorum--
		}
	}
	return c
}
