package metadata

import (
	"context"
	"sync"
	"time"

	"github.com/coffer-project/coffer/metadata/fsm"
	"github.com/coffer-project/coffer/metadata/store"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// The lifecycle worker applies the buckets' B2 lifecycle rules (S3
// lifecycle configurations are mapped onto them by the front-end):
//
//   - daysFromUploadingToHiding: a current version uploaded at least N days
//     ago is hidden (a hide marker is added).
//   - daysFromHidingToDeleting: a version that stopped being current at
//     least N days ago (when the next newer version was committed) is
//     deleted; so is a hide marker that is its key's only version and was
//     committed at least N days ago (S3's expired delete marker; B2 removes
//     hide markers that hide nothing). Versions under retention or a legal
//     hold are skipped.
//   - daysFromStartingToCancelingUnfinishedLargeFiles: an upload started at
//     least N days ago is cancelled.
//
// Only the leader runs passes, every Config.LifecycleInterval. A pass scans
// the leader's state in steps of Config.LifecycleBatch entries (each step one
// short read transaction), then acts through ordinary Raft commands, at most
// a step's worth in flight. Each command carries the condition the scan saw
// (hide only if still current; delete only if non-current since the cutoff),
// re-checked by apply, so a change made between the scan and the command is
// never overridden, and a leader change mid-pass just stops the pass: the
// new leader's next pass picks up whatever is left. Commands are stamped
// with the leader's real clock, so lock checks never depend on the "now" a
// test passes to RunLifecycle.

const opLifecycle = "metadata.Lifecycle"

// defaultLifecycleBatch is used when Config.LifecycleBatch is 0.
const defaultLifecycleBatch = 500

// maxLifecycleInFlight bounds the commands a pass has in flight.
const maxLifecycleInFlight = 32

// LifecycleStats counts what a lifecycle pass did.
type LifecycleStats struct {
	// Hidden, Deleted and Aborted count hide markers added, versions (and
	// hide markers) deleted, and uploads cancelled.
	Hidden, Deleted, Aborted int
	// SkippedLocked counts deletions skipped for retention or a legal hold.
	SkippedLocked int
	// Conflicts counts actions refused because the state changed after the scan.
	Conflicts int
}

func (l LifecycleStats) any() bool {
	return l.Hidden+l.Deleted+l.Aborted+l.SkippedLocked+l.Conflicts > 0
}

// RunLifecycleOnce runs one lifecycle pass now (by Deps.Now) and returns
// what it did; it fails with NotLeader on a follower. Tests of this package
// call it; other roles' tests use ClusterService.RunLifecycle.
func (s *Server) RunLifecycleOnce(ctx context.Context) (LifecycleStats, error) {
	p, err := s.runLifecycle(ctx, s.now(), lifecycleOptions{})
	return p.stats, err
}

// Default and largest number of actions RunLifecycle lists.
const (
	defaultLifecycleActions = 1000
	maxLifecycleActions     = 100000
)

// RunLifecycle runs one pass on the leader (the call is routed there), as of
// now_unix_nanos when given, or with dry_run reports what a pass would do.
// The caller's account token must be an operator's: metadata asks authd
// (AuthService.VerifyOperator), so reaching this port is never enough.
func (c *clusterServer) RunLifecycle(ctx context.Context, req *metadatav1.RunLifecycleRequest) (*metadatav1.RunLifecycleResponse, error) {
	const op = "metadata.RunLifecycle"
	if c.s.auth == nil {
		return nil, errs.Errorf(errs.InvalidRequest, op, "metadata node %s has no authd to check an operator's key with", c.s.cfg.NodeID)
	}
	v, err := c.s.auth.VerifyOperator(ctx, &authv1.VerifyOperatorRequest{AccountToken: req.GetAccountToken()})
	if err != nil {
		return nil, err
	}
	max := int(req.GetMaxActions())
	switch {
	case max < 0 || max > maxLifecycleActions:
		return nil, errs.Errorf(errs.InvalidArgument, op, "max_actions must be between 0 and %d", maxLifecycleActions)
	case max == 0:
		max = defaultLifecycleActions
	}
	now := c.s.now()
	if req.GetNowUnixNanos() != 0 {
		now = time.Unix(0, req.GetNowUnixNanos())
	}
	c.s.log.InfoContext(ctx, "lifecycle run requested", "dry_run", req.GetDryRun(), "now", now, "key_id", v.GetPrincipal().GetKeyId())
	p, err := c.s.runLifecycle(ctx, now, lifecycleOptions{dry: req.GetDryRun(), maxActions: max})
	if err != nil {
		return nil, err
	}
	st := p.stats
	return &metadatav1.RunLifecycleResponse{
		Hidden: int32(st.Hidden), Deleted: int32(st.Deleted), Aborted: int32(st.Aborted),
		SkippedLocked: int32(st.SkippedLocked), Conflicts: int32(st.Conflicts), NowUnixNanos: now.UnixNano(),
		Actions: p.actions, ActionsOmitted: int32(p.omitted),
	}, nil
}

// lifecycleLoop runs a pass every interval while this node is the leader.
func (s *Server) lifecycleLoop() {
	defer s.loops.Done()
	if s.cfg.LifecycleInterval <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.LifecycleInterval)
	defer t.Stop()
	for {
		select {
		case <-s.life.Done():
			return
		case <-t.C:
		}
		st, err := s.store(opLifecycle)
		if err != nil || !st.IsLeader() {
			continue
		}
		stats, err := s.RunLifecycleOnce(s.life)
		switch {
		case err != nil && s.life.Err() == nil:
			s.log.Warn("lifecycle pass stopped", "err", err, "hidden", stats.Hidden, "deleted", stats.Deleted, "aborted", stats.Aborted)
		case stats.any():
			s.log.Info("lifecycle pass", "hidden", stats.Hidden, "deleted", stats.Deleted, "aborted", stats.Aborted,
				"skipped_locked", stats.SkippedLocked, "conflicts", stats.Conflicts)
		}
	}
}

// lifecycleOptions choose how a pass runs.
type lifecycleOptions struct {
	// dry changes nothing: the pass records the actions it would take.
	dry bool
	// maxActions bounds the actions recorded (0: none are).
	maxActions int
}

// lifecyclePass is one pass's state.
type lifecyclePass struct {
	s     *Server
	now   time.Time // the pass's notion of now (ages are measured from it)
	batch int
	opts  lifecycleOptions
	stats LifecycleStats
	// scanned counts the entries looked at (versions, uploads).
	scanned int64
	mu      sync.Mutex // guards stats and actions while a step's commands run
	actions []*metadatav1.LifecycleAction
	omitted int
	// bucketNames names the buckets in actions.
	bucketNames map[string]string
	// dry is what a dry pass pretends it did (dryrun.go).
	dry *dryState
}

func (s *Server) runLifecycle(ctx context.Context, now time.Time, opts lifecycleOptions) (*lifecyclePass, error) {
	s.lifecycleMu.Lock()
	defer s.lifecycleMu.Unlock()
	p := &lifecyclePass{s: s, now: now, batch: s.cfg.LifecycleBatch, opts: opts, bucketNames: map[string]string{}}
	if p.batch <= 0 {
		p.batch = defaultLifecycleBatch
	}
	if opts.dry {
		p.dry = newDryState()
	}
	st, err := s.store(opLifecycle)
	if err != nil {
		return p, err
	}
	if !st.IsLeader() {
		return p, errs.Errorf(errs.NotLeader, opLifecycle, "lifecycle passes run on the leader")
	}
	if !opts.dry {
		start := time.Now()
		done := s.jobs.Started("lifecycle")
		defer func() {
			done()
			s.jobs.Observe(runtime.JobRun{Job: "lifecycle", Start: start, End: time.Now(), Err: err, Scanned: p.scanned,
				Deleted: int64(p.stats.Deleted), Hidden: int64(p.stats.Hidden), Aborted: int64(p.stats.Aborted)})
		}()
	}
	err = p.all(ctx, st)
	return p, err
}

// all applies every rule of every bucket that has rules.
func (p *lifecyclePass) all(ctx context.Context, st *store.Store) error {
	var buckets []*metadatav1.Bucket
	for token := ""; ; {
		var page []*metadatav1.Bucket
		err := st.FSM().View(func(r *fsm.Reader) (err error) {
			page, token, err = r.ListBuckets(token, 1000)
			return err
		})
		if err != nil {
			return err
		}
		for _, b := range page {
			if len(b.GetLifecycleRules()) > 0 {
				buckets = append(buckets, b)
				p.bucketNames[b.GetBucketId()] = b.GetName()
			}
		}
		if token == "" {
			break
		}
	}
	for _, b := range buckets {
		for _, rule := range b.GetLifecycleRules() {
			if err := p.rule(ctx, b.GetBucketId(), rule); err != nil {
				return err
			}
		}
	}
	return nil
}

// cutoff is the time before which something N days old happened.
func (p *lifecyclePass) cutoff(days int32) int64 {
	return p.now.Add(-time.Duration(days) * 24 * time.Hour).UnixNano()
}

// rule applies one rule of a bucket.
func (p *lifecyclePass) rule(ctx context.Context, bucketID string, rule *metadatav1.LifecycleRule) error {
	if rule.DaysFromUploadingToHiding != nil {
		if err := p.hide(ctx, bucketID, rule.GetFileNamePrefix(), p.cutoff(rule.GetDaysFromUploadingToHiding())); err != nil {
			return err
		}
	}
	if rule.DaysFromHidingToDeleting != nil {
		if err := p.expire(ctx, bucketID, rule.GetFileNamePrefix(), p.cutoff(rule.GetDaysFromHidingToDeleting())); err != nil {
			return err
		}
	}
	if rule.DaysFromStartingToCancelingUnfinishedLargeFiles != nil {
		if err := p.abort(ctx, bucketID, rule.GetFileNamePrefix(), p.cutoff(rule.GetDaysFromStartingToCancelingUnfinishedLargeFiles())); err != nil {
			return err
		}
	}
	return nil
}

// view reads the leader's local state (the commands re-check what matters).
func (p *lifecyclePass) view(fn func(*fsm.Reader) error) error {
	st, err := p.s.store(opLifecycle)
	if err != nil {
		return err
	}
	return st.FSM().View(fn)
}

// hide adds a hide marker over every current version uploaded before cutoff.
func (p *lifecyclePass) hide(ctx context.Context, bucketID, prefix string, cutoff int64) error {
	for after := ""; ; {
		var page *metadatav1.ListObjectsResponse
		err := p.view(func(r *fsm.Reader) (err error) {
			page, err = r.ListObjects(&metadatav1.ListObjectsRequest{BucketId: bucketID, Prefix: prefix, StartAfter: after, PageSize: int32(p.batch)})
			return err
		})
		if errs.KindOf(err) == errs.BucketNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		var steps []lifecycleStep
		for _, v := range page.GetObjects() {
			p.scanned++
			if v.GetCreateTimeUnixNanos() <= cutoff && !p.dry.hides(v) {
				steps = append(steps, p.hideStep(v, prefix))
			}
		}
		if err := p.run(ctx, steps, &p.stats.Hidden); err != nil {
			return err
		}
		if !page.GetTruncated() {
			return nil
		}
		after = page.GetNextStartAfter()
	}
}

func (p *lifecyclePass) hideStep(v *metadatav1.ObjectVersion, prefix string) lifecycleStep {
	stamp := p.s.now()
	marker := &metadatav1.ObjectVersion{
		BucketId: v.GetBucketId(), Key: v.GetKey(), VersionId: newVersionID(v.GetBucketId(), stamp),
		Action: metadatav1.VersionAction_VERSION_ACTION_HIDE, CreateTimeUnixNanos: stamp.UnixNano(),
	}
	return lifecycleStep{
		cmd: &fsmv1.Command{Op: &fsmv1.Command_HideObject{HideObject: &fsmv1.HideObject{
			Marker: marker, IfCurrentVersionId: v.GetVersionId(),
		}}},
		action: p.action(metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_HIDE, v, prefix),
		marker: marker,
	}
}

// expire deletes versions that stopped being current before cutoff, and
// hide markers left alone that were committed before cutoff.
func (p *lifecyclePass) expire(ctx context.Context, bucketID, prefix string, cutoff int64) error {
	var (
		key        string
		newer      int64 // commit time of the previous non-START version of key; -1: none yet
		marker     *metadatav1.ObjectVersion
		othersGone bool // every older version of key is being deleted
	)
	lockNow := p.s.now().UnixNano() // the time apply will judge locks by
	endKey := func(second []lifecycleStep) []lifecycleStep {
		if marker != nil && othersGone && fsm.CommitTime(marker) <= cutoff {
			second = append(second, p.deleteStep(marker, cutoff, prefix))
		}
		marker = nil
		return second
	}
	for after := []byte(nil); ; {
		var page []*metadatav1.ObjectVersion
		var next []byte
		err := p.view(func(r *fsm.Reader) (err error) {
			page, next, err = r.VersionsAfter(bucketID, prefix, after, p.batch)
			return err
		})
		if errs.KindOf(err) == errs.BucketNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		var first, second []lifecycleStep
		visit := func(v *metadatav1.ObjectVersion) {
			if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_START || p.dry.deletes(v) {
				return
			}
			p.scanned++
			switch {
			case newer < 0:
				// The newest version: a hide marker may go once it is alone.
				if v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE {
					marker, othersGone = v, true
				}
			case newer > cutoff:
				othersGone = false
			case locked(v, lockNow):
				p.stats.SkippedLocked++
				othersGone = false
			default:
				first = append(first, p.deleteStep(v, cutoff, prefix))
			}
			newer = fsm.CommitTime(v)
		}
		for _, v := range page {
			if v.GetKey() != key {
				second = endKey(second)
				key, newer = v.GetKey(), -1
				// A dry pass sees the hide marker it pretends it added
				// as the key's newest version, as a real pass would.
				if m := p.dry.markerOf(v); m != nil {
					visit(m)
				}
			}
			visit(v)
		}
		if next == nil {
			second = endKey(second)
		}
		if err := p.run(ctx, first, &p.stats.Deleted); err != nil {
			return err
		}
		// Markers go after the versions they hid, so apply finds them alone.
		if err := p.run(ctx, second, &p.stats.Deleted); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		after = next
	}
}

// locked reports whether a deletion of v at now would be refused for a lock.
func locked(v *metadatav1.ObjectVersion, now int64) bool {
	r := v.GetRetention()
	return v.GetLegalHold() == metadatav1.LegalHold_LEGAL_HOLD_ON ||
		(r.GetMode() != metadatav1.RetentionMode_RETENTION_MODE_UNSPECIFIED && r.GetRetainUntilUnixMillis() > now/1e6)
}

func (p *lifecyclePass) deleteStep(v *metadatav1.ObjectVersion, cutoff int64, prefix string) lifecycleStep {
	return lifecycleStep{
		cmd: &fsmv1.Command{Op: &fsmv1.Command_DeleteObjectVersion{DeleteObjectVersion: &fsmv1.DeleteObjectVersion{
			BucketId: v.GetBucketId(), Key: v.GetKey(), VersionId: v.GetVersionId(), LifecycleCutoffUnixNanos: cutoff,
		}}},
		action:  p.action(metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_DELETE, v, prefix),
		version: v,
	}
}

// abort cancels the uploads started before cutoff.
func (p *lifecyclePass) abort(ctx context.Context, bucketID, prefix string, cutoff int64) error {
	for after := []byte(nil); ; {
		var page []*metadatav1.ObjectVersion
		var next []byte
		err := p.view(func(r *fsm.Reader) (err error) {
			page, next, err = r.UploadsAfter(bucketID, prefix, after, p.batch)
			return err
		})
		if errs.KindOf(err) == errs.BucketNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		var steps []lifecycleStep
		for _, u := range page {
			p.scanned++
			if u.GetCreateTimeUnixNanos() <= cutoff && !p.dry.deletes(u) {
				steps = append(steps, lifecycleStep{
					cmd: &fsmv1.Command{Op: &fsmv1.Command_AbortUpload{AbortUpload: &fsmv1.AbortUpload{
						UploadId: u.GetVersionId(), BucketId: u.GetBucketId(),
					}}},
					action:  p.action(metadatav1.LifecycleActionKind_LIFECYCLE_ACTION_KIND_ABORT, u, prefix),
					version: u,
				})
			}
		}
		if err := p.run(ctx, steps, &p.stats.Aborted); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		after = next
	}
}

// lifecycleStep is one action of a pass: the command that does it, and
// what it is, to report.
type lifecycleStep struct {
	cmd    *fsmv1.Command
	action *metadatav1.LifecycleAction
	// marker is the hide marker a hide adds; version the version (or
	// upload) a delete or an abort removes. A dry pass remembers them.
	marker, version *metadatav1.ObjectVersion
}

// action describes an action on v under a rule with prefix.
func (p *lifecyclePass) action(kind metadatav1.LifecycleActionKind, v *metadatav1.ObjectVersion, prefix string) *metadatav1.LifecycleAction {
	a := &metadatav1.LifecycleAction{
		Kind: kind, BucketId: v.GetBucketId(), BucketName: p.bucketNames[v.GetBucketId()], Key: v.GetKey(),
		VersionId: v.GetVersionId(), HideMarker: v.GetAction() == metadatav1.VersionAction_VERSION_ACTION_HIDE, RulePrefix: prefix,
	}
	if p.dry.pretended(v) {
		// The marker a dry pass pretends to add has no id yet.
		a.VersionId = ""
	}
	return a
}

// record lists an action, within the pass's bound (p.mu held or no
// concurrency).
func (p *lifecyclePass) record(a *metadatav1.LifecycleAction) {
	if len(p.actions) < p.opts.maxActions {
		p.actions = append(p.actions, a)
	} else if p.opts.maxActions > 0 {
		p.omitted++
	}
}

// run proposes the steps' commands, at most maxLifecycleInFlight at a time
// (they share Raft's group commit), counting successes in done. A refusal
// caused by a change since the scan is counted as a conflict (a lock as
// skipped); any other failure (leadership lost, shutting down) stops the
// pass. A dry pass proposes nothing: it records each step as done and
// remembers its effect for the rest of the pass.
func (p *lifecyclePass) run(ctx context.Context, steps []lifecycleStep, done *int) error {
	if len(steps) == 0 {
		return nil
	}
	if p.dry != nil {
		for _, st := range steps {
			p.dry.apply(st)
			p.record(st.action)
			*done++
		}
		return nil
	}
	sem := make(chan struct{}, maxLifecycleInFlight)
	var wg sync.WaitGroup
	var first error
	for _, step := range steps {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := p.s.propose(ctx, opLifecycle, p.s.now(), nil, step.cmd)
			p.mu.Lock()
			defer p.mu.Unlock()
			if err == nil {
				*done++
				p.record(step.action)
				return
			}
			switch errs.KindOf(err) {
			case errs.ObjectLocked:
				p.stats.SkippedLocked++
				return
			case errs.PreconditionFailed, errs.ObjectNotFound, errs.VersionNotFound, errs.UploadNotFound, errs.BucketNotFound, errs.Conflict:
				p.stats.Conflicts++
				return
			}
			if first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	return first
}
