package blobstore

import (
	"context"
	"sync"
	"time"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	blobv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/blob/v1"
	"github.com/coffer-project/coffer/services/errs"
	"github.com/coffer-project/coffer/services/runtime"
)

// The background jobs — scrub, repair scan, garbage collection — run from
// the node's own loops and, on an operator's demand, from RunMaintenance.
// Either way a run is one jobRun: it counts what it does, reports progress
// to whoever watches, and ends in the job metrics (services/runtime
// JobMetrics). One run of a job at a time per node: a demanded run waits
// for the loop's to finish, and the other way round.

// Job names, as in the metrics' job label.
const (
	jobScrub  = "scrub"
	jobRepair = "repair"
	jobGC     = "gc"
)

// jobRun is one run of a job. Its pass runs on one goroutine, which also
// calls progress, so the counters need no lock.
type jobRun struct {
	runtime.JobRun
	done, total int64
	// progress, when set, is told how far the run is (rate-limited).
	progress func(done, total int64)
	reported time.Time
}

// step counts one item gone through and reports progress now and then.
func (r *jobRun) step() {
	r.done++
	if r.progress != nil && time.Since(r.reported) >= progressEvery {
		r.reported = time.Now()
		r.progress(r.done, r.total)
	}
}

// progressEvery bounds how often a watched run reports progress.
const progressEvery = 200 * time.Millisecond

// jobLocks serialise the runs of each job on a node.
type jobLocks struct {
	scrub, repair, gc sync.Mutex
}

func (l *jobLocks) of(job string) *sync.Mutex {
	switch job {
	case jobScrub:
		return &l.scrub
	case jobRepair:
		return &l.repair
	}
	return &l.gc
}

// run runs one pass of job, alone, and records it.
func (m *maintainer) run(ctx context.Context, job string, pass func(context.Context, *jobRun) error, progress func(done, total int64)) *jobRun {
	lock := m.locks.of(job)
	lock.Lock()
	defer lock.Unlock()
	r := &jobRun{JobRun: runtime.JobRun{Job: job, Start: time.Now()}, progress: progress}
	done := m.jobs.Started(job)
	r.Err = pass(ctx, r)
	done()
	r.End = time.Now()
	m.jobs.Observe(r.JobRun)
	if r.Err == nil && ctx.Err() != nil {
		r.Err = ctx.Err()
	}
	return r
}

// passOf is the pass function of a job.
func (m *maintainer) passOf(job string) func(context.Context, *jobRun) error {
	switch job {
	case jobScrub:
		return m.scrubPass
	case jobRepair:
		return m.repairPass
	}
	return m.gcPass
}

var jobNames = map[blobv1.MaintenanceJob]string{
	blobv1.MaintenanceJob_MAINTENANCE_JOB_SCRUB:  jobScrub,
	blobv1.MaintenanceJob_MAINTENANCE_JOB_REPAIR: jobRepair,
	blobv1.MaintenanceJob_MAINTENANCE_JOB_GC:     jobGC,
}

// RunMaintenance implements BlobService: an operator's run of a job on this
// node, with progress streamed and a summary at the end.
func (s *Server) RunMaintenance(req *blobv1.RunMaintenanceRequest, stream blobv1.BlobService_RunMaintenanceServer) error {
	const op = "blobstore.RunMaintenance"
	ctx := stream.Context()
	job, ok := jobNames[req.GetJob()]
	if !ok {
		return errs.Errorf(errs.InvalidArgument, op, "job must be scrub, repair or gc")
	}
	if s.deps.Auth == nil {
		return errs.Errorf(errs.InvalidRequest, op, "this node has no authd to check an operator's key with")
	}
	v, err := s.deps.Auth.VerifyOperator(ctx, &authv1.VerifyOperatorRequest{AccountToken: req.GetAccountToken()})
	if err != nil {
		return err
	}
	m := s.maint.Load()
	if m == nil {
		return errs.Errorf(errs.Unavailable, op, "blobstore is not started")
	}
	if job != jobScrub && m.meta == nil || job == jobRepair && m.peers == nil {
		return errs.Errorf(errs.InvalidRequest, op, "%s needs the metadata and the other nodes, which this node is not given", job)
	}
	s.log.InfoContext(ctx, "maintenance run requested", "job", job, "key_id", v.GetPrincipal().GetKeyId(), "request_id", runtime.RequestID(ctx))
	var sendErr error
	r := m.run(ctx, job, m.passOf(job), func(done, total int64) {
		if sendErr == nil {
			sendErr = stream.Send(&blobv1.RunMaintenanceResponse{Done: done, Total: total})
		}
	})
	if sendErr != nil {
		return sendErr
	}
	if r.Err != nil {
		return r.Err
	}
	return stream.Send(&blobv1.RunMaintenanceResponse{Done: r.done, Total: max(r.total, r.done), Summary: &blobv1.MaintenanceSummary{
		NodeId: m.self, Job: req.GetJob(), Scanned: r.Scanned, Repaired: r.Repaired, Deleted: r.Deleted,
		Errors: r.Errors, Bytes: r.Bytes, DurationMillis: r.End.Sub(r.Start).Milliseconds(),
	}})
}
