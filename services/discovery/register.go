package discovery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/naming/endpoints"
)

// Registration keeps one role instance registered in etcd: its entry
// (<prefix>/roles/<role>/<addr>, written with naming/endpoints) is attached
// to a lease it keeps alive. When the lease is lost — etcd was down longer
// than the TTL, or its data was replaced — a new lease is granted and the
// entry written again, so an instance reappears at most a few seconds after
// etcd is back. Close revokes the lease, which deletes the entry.
type Registration struct {
	e   *Etcd
	em  endpoints.Manager
	key string

	mu   sync.Mutex
	inst Instance

	changed chan struct{}
	lease   atomic.Int64 // current lease id (0: none)
	live    atomic.Bool  // the entry is written under a live lease
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

// Register starts keeping inst registered. It does not wait for etcd: the
// registration is retried in the background until Close.
func (e *Etcd) Register(inst Instance) (*Registration, error) {
	if inst.Role == "" || strings.Contains(inst.Role, "/") {
		return nil, fmt.Errorf("discovery: bad role %q", inst.Role)
	}
	if _, _, err := splitHostPort(inst.Addr); err != nil {
		return nil, fmt.Errorf("discovery: register %s: %w", inst.Role, err)
	}
	em, err := endpoints.NewManager(e.cli, e.roleKey(inst.Role))
	if err != nil {
		return nil, err
	}
	r := &Registration{
		e: e, em: em, key: e.roleKey(inst.Role) + "/" + inst.Addr, inst: inst,
		changed: make(chan struct{}, 1), done: make(chan struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(e.ctx)
	go r.loop()
	return r, nil
}

// Key is the etcd key of the entry.
func (r *Registration) Key() string { return r.key }

// Live reports whether the entry is currently written under a lease that
// etcd last confirmed (for tests and status).
func (r *Registration) Live() bool { return r.live.Load() }

// Update replaces what the entry says (the address must not change); it is
// written at once when etcd answers, later otherwise.
func (r *Registration) Update(inst Instance) {
	r.mu.Lock()
	inst.Role, inst.Addr = r.inst.Role, r.inst.Addr
	r.inst = inst
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Instance is what the entry says.
func (r *Registration) Instance() Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inst
}

// Close stops keeping the entry alive and revokes its lease, which removes
// the entry (best effort within ctx: when etcd is unreachable the lease
// lapses by itself after its TTL). It is idempotent.
func (r *Registration) Close(ctx context.Context) error {
	r.cancel()
	<-r.done
	id := r.lease.Swap(0)
	if id == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := r.e.cli.Revoke(ctx, clientv3.LeaseID(id)); err != nil {
		return fmt.Errorf("discovery: deregister %s: %w", r.key, err)
	}
	return nil
}

// loop runs sessions (a lease, the entry, keep-alives) until Close. A
// failure is logged once until a session succeeds again.
func (r *Registration) loop() {
	defer close(r.done)
	pause := 200 * time.Millisecond
	reported := false
	for r.ctx.Err() == nil {
		wasLive, err := r.session()
		r.live.Store(false)
		if r.ctx.Err() != nil {
			return
		}
		if wasLive {
			reported, pause = false, 200*time.Millisecond
		}
		if !reported {
			r.e.log.Warn("etcd registration lost or refused; registering again", "key", r.key, "err", err)
			reported = true
		}
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 3*time.Second)
	}
}

// session grants a lease, writes the entry under it and keeps the lease
// alive until it is lost or the registration closes.
func (r *Registration) session() (wasLive bool, err error) {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel() // ends this session's keep-alives
	ttl := int64(math.Ceil(r.e.ttl.Seconds()))
	gctx, gcancel := context.WithTimeout(ctx, 5*time.Second)
	lease, gerr := r.e.cli.Grant(gctx, ttl)
	gcancel()
	if gerr != nil {
		return false, fmt.Errorf("grant lease: %w", gerr)
	}
	r.lease.Store(int64(lease.ID))
	ka, err := r.e.cli.KeepAlive(ctx, lease.ID)
	if err != nil {
		return false, fmt.Errorf("keep lease alive: %w", err)
	}
	put := func() error {
		r.mu.Lock()
		inst := r.inst
		r.mu.Unlock()
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		defer pcancel()
		return r.em.AddEndpoint(pctx, r.key, endpoints.Endpoint{Addr: inst.Addr, Metadata: inst}, clientv3.WithLease(lease.ID))
	}
	if err := put(); err != nil {
		return false, fmt.Errorf("write entry: %w", err)
	}
	r.live.Store(true)
	r.e.log.Debug("registered in etcd", "key", r.key, "lease", fmt.Sprintf("%x", lease.ID))
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case _, ok := <-ka:
			if !ok {
				return true, errors.New("lease keep-alive ended (lease expired or etcd unreachable)")
			}
		case <-r.changed:
			if err := put(); err != nil {
				// Keep the session: the keep-alive decides whether the
				// lease is lost; the change is written at the next one.
				r.e.log.Debug("etcd entry update failed; retrying", "key", r.key, "err", err)
				time.AfterFunc(time.Second, func() {
					select {
					case r.changed <- struct{}{}:
					default:
					}
				})
			}
		}
	}
}
