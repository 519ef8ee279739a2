package watchfollow

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Reconnect backoff of the watch stream.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
	// maxOutage is the longest break after which a resumed stream keeps
	// the entries. A resume replays every change, so entries would stay
	// exact; but a node that answers a resume only after a long wait may be
	// one whose history is not ours (metadata restored or replaced: it
	// waits until its index reaches ours), and entries that old are cheap
	// to fetch again.
	maxOutage = 30 * time.Second
)

// Config says what a Follower follows and how it reaches the cache.
type Config struct {
	// Name prefixes error ops ("authcache" gives "authcache.watch").
	Name string
	// What is what the cache holds, singular, for logs: "cached
	// credential" gives "dropping every cached credential".
	What string
	// Broken ends the log line of a broken stream, saying what happens
	// meanwhile: "metadata watch stream broke; " + Broken.
	Broken string
	// Kinds are the change kinds watched; each change of one of them is
	// passed to Apply.
	Kinds []metadatav1.ChangeKind
	// Meta is followed with Watch.
	Meta metadatav1.MetadataServiceClient
	// Mu is the cache's mutex. It guards the Follower's state as well as
	// the cache's entries, so that checking the version and storing an
	// entry are one critical section.
	Mu *sync.RWMutex
	// DropAll drops every entry. It is called with Mu held for writing.
	DropAll func()
	// Apply drops what one change invalidates. It is called with Mu held
	// for writing.
	Apply func(*metadatav1.Change)
	// Log is the logger; nil means slog.Default().
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Follower follows the Watch stream for one cache. Its methods are safe
// for concurrent use, except Start and Stop, which the cache's owner calls
// once each, in that order; methods named ...Locked require the caller to
// hold Config.Mu (for reading unless they say otherwise).
type Follower struct {
	cfg Config
	mu  *sync.RWMutex

	// Guarded by mu:
	// live: the watch stream delivered its first response and has not
	// broken since. Entries are used and stored only while live.
	live bool
	// version changes on every invalidation and every change of live; an
	// answer fetched while it moved is not stored (see Ticket).
	version uint64
	// index is the last watch index seen: resume from here.
	index uint64
	// brokeAt is when the stream last stopped being live.
	brokeAt time.Time
	// cancelStream ends the current stream (tests use it to break the
	// stream on demand).
	cancelStream context.CancelFunc
	// beforeConnect, when set, runs before each (re)connect; only tests
	// set it, to hold the stream down while they change things.
	beforeConnect func(context.Context)
	// beforeApply, when set, runs before each watch response is applied;
	// only tests set it, to delay the stream.
	beforeApply func()

	stop context.CancelFunc
	done chan struct{}
}

// New returns a Follower that is not live; Start makes it follow.
func New(cfg Config) *Follower {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Follower{cfg: cfg, mu: cfg.Mu}
}

// Start follows the stream in the background until Stop. It returns at
// once; the cache's entries are used once the stream is live.
func (f *Follower) Start() {
	if f.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stop, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		f.follow(ctx)
	}()
}

// Stop stops following the stream, marks it not live and drops every
// entry. It is idempotent, and may be called without Start.
func (f *Follower) Stop() {
	if f.stop != nil {
		f.stop()
		<-f.done
	}
	f.mu.Lock()
	f.live = false
	f.version++
	f.cfg.DropAll()
	f.mu.Unlock()
}

// Live reports whether the watch stream is live, that is whether cached
// entries are being used.
func (f *Follower) Live() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.live
}

// LiveLocked is Live for a caller holding Mu.
func (f *Follower) LiveLocked() bool { return f.live }

// InvalidatedLocked records that the cache dropped entries on its own
// (not on the stream's word), so that no answer fetched before is stored.
// The caller holds Mu for writing.
func (f *Follower) InvalidatedLocked() { f.version++ }

// Ticket is the state a fetch started from: its answer may be stored only
// if the stream was live then and nothing changed since (no invalidation,
// no break, no resume).
type Ticket struct {
	live    bool
	version uint64
}

// Live reports whether the stream was live when the ticket was taken.
func (t Ticket) Live() bool { return t.live }

// Ticket returns the state a fetch starts from.
func (f *Follower) Ticket() Ticket {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.TicketLocked()
}

// TicketLocked is Ticket for a caller holding Mu.
func (f *Follower) TicketLocked() Ticket { return Ticket{live: f.live, version: f.version} }

// StorableLocked reports whether an answer fetched with t may be stored;
// the caller holds Mu and stores the answer before releasing it.
func (f *Follower) StorableLocked(t Ticket) bool {
	return t.live && f.live && f.version == t.version
}

// Index is the last watch index applied (tests wait on it).
func (f *Follower) Index() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.index
}

// BreakStream ends the current stream, which is resumed after a backoff.
// Only tests call it.
func (f *Follower) BreakStream() {
	f.mu.Lock()
	cancel := f.cancelStream
	f.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// SetBeforeConnect makes hook run before each (re)connect (nil: none).
// Only tests call it, to hold the stream down.
func (f *Follower) SetBeforeConnect(hook func(context.Context)) {
	f.mu.Lock()
	f.beforeConnect = hook
	f.mu.Unlock()
}

// SetBeforeApply makes hook run before each response is applied (nil:
// none). Only tests call it, to delay the stream.
func (f *Follower) SetBeforeApply(hook func()) {
	f.mu.Lock()
	f.beforeApply = hook
	f.mu.Unlock()
}

// follow keeps a watch stream open until ctx ends: it resumes a broken
// stream from the last index seen, with jittered exponential backoff, and
// marks the cache not live while no stream is.
func (f *Follower) follow(ctx context.Context) {
	backoff := minBackoff
	for {
		delivered, err := f.watchOnce(ctx)
		f.setLive(false)
		if ctx.Err() != nil {
			return
		}
		if delivered {
			backoff = minBackoff
		}
		f.cfg.Log.Warn("metadata watch stream broke; "+f.cfg.Broken,
			"err", err, "resume_after_index", f.Index(), "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		if backoff *= 2; backoff > maxBackoff {
			backoff = maxBackoff
		}
	}
}

// watchOnce runs one stream until it fails; delivered reports whether it
// got at least one response.
func (f *Follower) watchOnce(ctx context.Context) (delivered bool, err error) {
	from := f.Index()
	if from == 0 {
		// No position to resume from: "from now" could skip changes made
		// since the entries were stored, so none may survive.
		f.mu.Lock()
		f.cfg.DropAll()
		f.version++
		f.mu.Unlock()
	}
	f.mu.Lock()
	hook := f.beforeConnect
	f.mu.Unlock()
	if hook != nil {
		hook(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.mu.Lock()
	f.cancelStream = cancel
	f.mu.Unlock()
	op := f.cfg.Name + ".watch"
	stream, err := f.cfg.Meta.Watch(ctx, &metadatav1.WatchRequest{FromIndex: from, Kinds: f.cfg.Kinds})
	if err != nil {
		return false, errs.FromStatus(op, err)
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return delivered, errs.FromStatus(op, err)
		}
		f.mu.RLock()
		hook := f.beforeApply
		f.mu.RUnlock()
		if hook != nil {
			hook()
		}
		f.apply(resp)
		delivered = true
	}
}

// apply handles one watch response: invalidations first, then the stream
// is live (its first response means it has caught up to where it started).
func (f *Follower) apply(resp *metadatav1.WatchResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	log, now := f.cfg.Log, f.cfg.Now
	changed := !f.live
	switch {
	case !f.live && !f.brokeAt.IsZero() && now().Sub(f.brokeAt) > maxOutage:
		log.Info("metadata watch resumed after a long outage; dropping every "+f.cfg.What, "outage", now().Sub(f.brokeAt))
		f.cfg.DropAll()
	case resp.GetCompacted():
		// The changes after our index are gone: anything may have changed.
		log.Info("metadata watch history compacted; dropping every "+f.cfg.What, "index", resp.GetIndex())
		f.cfg.DropAll()
		changed = true
	case resp.GetIndex() < f.index:
		// The index went backwards (metadata restored or replaced): the
		// history we followed is not this one.
		log.Warn("metadata watch index went backwards; dropping every "+f.cfg.What,
			"had", f.index, "got", resp.GetIndex())
		f.cfg.DropAll()
		changed = true
	}
	for _, ch := range resp.GetChanges() {
		if slices.Contains(f.cfg.Kinds, ch.GetKind()) {
			f.cfg.Apply(ch)
			changed = true
		}
	}
	f.index = resp.GetIndex()
	f.live, f.brokeAt = true, time.Time{}
	if changed {
		f.version++
	}
}

// setLive(false) is called when a stream ends.
func (f *Follower) setLive(live bool) {
	f.mu.Lock()
	if f.live != live {
		f.live = live
		f.version++
		if !live {
			f.brokeAt = f.cfg.Now()
		}
	}
	f.mu.Unlock()
}
