package authcache

import (
	"crypto/sha256"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coffer-project/coffer/authd/sigv4"
	"github.com/coffer-project/coffer/gateway/watchfollow"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// Defaults.
const (
	// DefaultMaxEntries bounds the cached keys plus tokens.
	DefaultMaxEntries = 10000
	// DefaultMaxAge is the backstop lifetime of an entry.
	DefaultMaxAge = 10 * time.Minute
	// maxScopesPerKey bounds the signing keys kept per key (normally one
	// or two: today's date, maybe yesterday's, one region).
	maxScopesPerKey = 8
)

// Config configures a Cache.
type Config struct {
	// MaxEntries bounds the number of cached keys plus tokens; 0 means
	// DefaultMaxEntries. When full, an arbitrary entry makes room.
	MaxEntries int
	// MaxAge bounds how long an entry is used even if the watch stream
	// reports nothing about it; 0 means DefaultMaxAge.
	MaxAge time.Duration
	// Region is the region the gateway advertises. The cache accepts any
	// region authd accepted: entries are per credential scope, and only
	// authd (with its strict-region setting) creates them.
	Region string
}

// Deps are a Cache's dependencies.
type Deps struct {
	// Auth is authd, asked on every miss.
	Auth authv1.AuthServiceClient
	// Meta is followed with Watch for key changes. Nil disables caching:
	// without the stream nothing could be invalidated, so every call goes
	// to authd.
	Meta metadatav1.MetadataServiceClient
	// Log is the logger; nil means slog.Default(). Key ids are logged,
	// never secrets, signing keys or tokens.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Cache verifies credentials for the gateway, from cache when it may and
// through authd otherwise. It is safe for concurrent use. Start begins
// following the watch stream; until the stream is live, and whenever it is
// not, every call goes to authd.
type Cache struct {
	cfg      Config
	auth     authv1.AuthServiceClient
	meta     metadatav1.MetadataServiceClient
	log      *slog.Logger
	now      func() time.Time
	verifier *sigv4.Verifier

	hits, misses atomic.Uint64

	// mu guards the entries and watch's state: a version check and the
	// store it allows are one critical section.
	mu sync.RWMutex
	// watch follows metadata's key changes and says whether entries may be
	// used (live) and stored (see watchfollow.Ticket).
	watch  *watchfollow.Follower
	keys   map[string]*keyEntry
	tokens map[tokenID]*tokenEntry
}

// keyEntry is what authd said about one application key.
type keyEntry struct {
	principal *authv1.Principal // shared, never mutated
	added     time.Time
	signing   map[string][]byte // credential scope → kSigning
}

// tokenID is the SHA-256 of a token and of what it was checked for.
type tokenID [sha256.Size]byte

// tokenEntry is authd's verdict on one token.
type tokenEntry struct {
	resp  *authv1.VerifyTokenResponse // shared, never mutated
	added time.Time
}

// Stats counts how calls were answered.
type Stats struct {
	// Hits were answered from the cache, Misses by authd.
	Hits, Misses uint64
}

// New builds a Cache; Start makes it useful.
func New(cfg Config, deps Deps) *Cache {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	c := &Cache{
		cfg: cfg, auth: deps.Auth, meta: deps.Meta, log: deps.Log, now: deps.Now,
		keys: map[string]*keyEntry{}, tokens: map[tokenID]*tokenEntry{},
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.watch = watchfollow.New(watchfollow.Config{
		Name:   "authcache",
		What:   "cached credential",
		Broken: "cached credentials are not used until it resumes",
		Kinds:  []metadatav1.ChangeKind{metadatav1.ChangeKind_CHANGE_KIND_KEY},
		Meta:   c.meta, Mu: &c.mu, Log: c.log, Now: c.now,
		DropAll: c.dropAllLocked,
		Apply:   func(ch *metadatav1.Change) { c.evictKeyLocked(ch.GetKeyId()) },
	})
	// The skew is S3's fixed 15 minutes, the same constant authd uses.
	c.verifier = &sigv4.Verifier{Region: cfg.Region, MaxSkew: sigv4.DefaultMaxSkew, Now: c.now}
	return c
}

// Start follows metadata's watch stream in the background until Stop. It
// returns at once; entries are used once the stream is live.
func (c *Cache) Start() {
	if c.meta == nil {
		return
	}
	c.watch.Start()
}

// Stop stops following the stream and drops every entry. It is idempotent.
func (c *Cache) Stop() { c.watch.Stop() }

// Live reports whether the watch stream is live, that is whether cached
// entries are being used.
func (c *Cache) Live() bool { return c.watch.Live() }

// Stats returns the hit and miss counts so far.
func (c *Cache) Stats() Stats { return Stats{Hits: c.hits.Load(), Misses: c.misses.Load()} }

// makeRoomLocked evicts arbitrary entries until one more fits.
func (c *Cache) makeRoomLocked() {
	for len(c.keys)+len(c.tokens) >= c.cfg.MaxEntries {
		for id := range c.keys {
			delete(c.keys, id)
			break
		}
		if len(c.keys)+len(c.tokens) < c.cfg.MaxEntries {
			return
		}
		for id := range c.tokens {
			delete(c.tokens, id)
			break
		}
	}
}

// evictKeyLocked drops everything derived from one application key.
func (c *Cache) evictKeyLocked(keyID string) {
	delete(c.keys, keyID)
	for id, e := range c.tokens {
		if e.resp.GetPrincipal().GetKeyId() == keyID {
			delete(c.tokens, id)
		}
	}
}

func (c *Cache) dropAllLocked() {
	c.keys = map[string]*keyEntry{}
	c.tokens = map[tokenID]*tokenEntry{}
}

// fresh reports whether an entry added at added is still within MaxAge.
func (c *Cache) fresh(added, now time.Time) bool { return now.Sub(added) < c.cfg.MaxAge }
