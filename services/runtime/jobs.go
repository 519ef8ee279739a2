package runtime

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// JobRun is what one run of a background job did: a blobstore node's
// scrub, repair scan or garbage collection, or a metadata lifecycle pass.
type JobRun struct {
	Job             string // "scrub", "repair", "gc", "lifecycle"
	Start, End      time.Time
	Err             error // why the run stopped early, if it did
	Scanned         int64 // items looked at (blobs, placements, versions)
	Repaired        int64 // damage found (scrub) or shards rebuilt (repair)
	Deleted         int64 // blobs removed (gc), versions deleted (lifecycle)
	Hidden, Aborted int64 // lifecycle: hide markers added, uploads cancelled
	Errors          int64 // items that failed (the run went on)
	Bytes           int64 // bytes read (scrub)
}

// JobMetrics are the background jobs' series, shared by every role of a
// process (a registry holds them once):
//
//	coffer_maintenance_runs_total{job,outcome}        finished runs (ok, error)
//	coffer_maintenance_scanned_total{job}             items looked at
//	coffer_maintenance_repaired_total{job}            damage found or shards rebuilt
//	coffer_maintenance_deleted_total{job}             blobs or versions removed
//	coffer_maintenance_hidden_total{job}              hide markers added (lifecycle)
//	coffer_maintenance_aborted_total{job}             uploads cancelled (lifecycle)
//	coffer_maintenance_errors_total{job}              items that failed
//	coffer_maintenance_bytes_total{job}               bytes read
//	coffer_maintenance_last_run_timestamp_seconds{job}      end of the last run
//	coffer_maintenance_last_success_timestamp_seconds{job}  end of the last run without error
//	coffer_maintenance_last_run_duration_seconds{job}       how long the last run took
//	coffer_maintenance_run_duration_seconds{job}            histogram of run durations
//	coffer_maintenance_running{job}                   runs in progress
type JobMetrics struct {
	runs                                                     *prometheus.CounterVec
	scanned, repaired, deleted, hidden, aborted, errs, bytes *prometheus.CounterVec
	lastRun, lastSuccess, lastDuration, running              *prometheus.GaugeVec
	duration                                                 *prometheus.HistogramVec
}

// NewJobMetrics registers the series with reg, or finds them there when
// another role of the process did first. A nil reg gives metrics that
// count nowhere.
func NewJobMetrics(reg prometheus.Registerer) *JobMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append([]string{"job"}, labels...)))
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"job"}))
	}
	return &JobMetrics{
		runs:         counter("coffer_maintenance_runs_total", "Finished background job runs, by job and outcome (ok, error).", "outcome"),
		scanned:      counter("coffer_maintenance_scanned_total", "Items a background job looked at (blobs, placements, versions)."),
		repaired:     counter("coffer_maintenance_repaired_total", "Damage found by scrubbing, shards rebuilt by repair."),
		deleted:      counter("coffer_maintenance_deleted_total", "Blobs removed by GC, versions deleted by lifecycle rules."),
		hidden:       counter("coffer_maintenance_hidden_total", "Hide markers added by lifecycle rules."),
		aborted:      counter("coffer_maintenance_aborted_total", "Unfinished uploads cancelled by lifecycle rules."),
		errs:         counter("coffer_maintenance_errors_total", "Items a background job failed on (the run went on)."),
		bytes:        counter("coffer_maintenance_bytes_total", "Bytes read by background jobs (scrub)."),
		lastRun:      gauge("coffer_maintenance_last_run_timestamp_seconds", "When the last run of a background job ended (Unix time)."),
		lastSuccess:  gauge("coffer_maintenance_last_success_timestamp_seconds", "When the last run of a background job without error ended (Unix time)."),
		lastDuration: gauge("coffer_maintenance_last_run_duration_seconds", "How long the last run of a background job took."),
		running:      gauge("coffer_maintenance_running", "Background job runs in progress."),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "coffer_maintenance_run_duration_seconds", Help: "Durations of background job runs.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 12),
		}, []string{"job"})),
	}
}

// register registers c, or returns the collector already registered under
// the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// Started counts a run in progress; call the returned function when it ends.
func (m *JobMetrics) Started(job string) (done func()) {
	g := m.running.WithLabelValues(job)
	g.Inc()
	return g.Dec
}

// Observe records a finished run.
func (m *JobMetrics) Observe(r JobRun) {
	outcome := "ok"
	if r.Err != nil {
		outcome = "error"
	}
	m.runs.WithLabelValues(r.Job, outcome).Inc()
	for c, n := range map[*prometheus.CounterVec]int64{m.scanned: r.Scanned, m.repaired: r.Repaired, m.deleted: r.Deleted,
		m.hidden: r.Hidden, m.aborted: r.Aborted, m.errs: r.Errors, m.bytes: r.Bytes} {
		c.WithLabelValues(r.Job).Add(float64(n))
	}
	d := r.End.Sub(r.Start).Seconds()
	m.lastRun.WithLabelValues(r.Job).Set(float64(r.End.UnixNano()) / 1e9)
	m.lastDuration.WithLabelValues(r.Job).Set(d)
	m.duration.WithLabelValues(r.Job).Observe(d)
	if r.Err == nil {
		m.lastSuccess.WithLabelValues(r.Job).Set(float64(r.End.UnixNano()) / 1e9)
	}
}
