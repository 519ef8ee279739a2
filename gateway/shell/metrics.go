package shell

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP metrics, per dialect (api), operation (op, from the dialect's fixed
// table) and status class. Series are resolved once per operation and kept
// in a table indexed by the operation, so a request costs a few atomic
// adds and no allocation, and label values never come from clients.

// metrics are the shell's collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	inflight *prometheus.GaugeVec
}

// durationBuckets span a 4 KiB GET on loopback to a long upload.
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffer_http_requests_total",
			Help: "HTTP requests answered by the gateway, by API, operation and status class.",
		}, []string{"api", "op", "code_class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coffer_http_request_duration_seconds",
			Help:    "HTTP request latency, from the request's headers to the end of its response, by API and operation.",
			Buckets: durationBuckets,
		}, []string{"api", "op"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffer_http_request_bytes_total",
			Help: "Request body bytes read, by API and operation.",
		}, []string{"api", "op"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffer_http_response_bytes_total",
			Help: "Response body bytes written, by API and operation.",
		}, []string{"api", "op"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "coffer_http_inflight",
			Help: "HTTP requests being served, by API.",
		}, []string{"api"}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	m.bytesIn = register(reg, m.bytesIn)
	m.bytesOut = register(reg, m.bytesOut)
	m.inflight = register(reg, m.inflight)
	return m
}

// register registers c, or returns the collector already registered under
// its name (a gateway restarted within one process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
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

// classes are the status classes counted: index status/100.
var classes = [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// opSeries are one operation's series.
type opSeries struct {
	requests [len(classes)]prometheus.Counter
	duration prometheus.Observer
	in, out  prometheus.Counter
}

// apiSeries are one dialect's series, resolved lazily per operation.
type apiSeries struct {
	m        *metrics
	api      string
	ops      []string
	series   []atomic.Pointer[opSeries]
	inflight prometheus.Gauge
}

func (m *metrics) forAPI(api string, ops []string) *apiSeries {
	return &apiSeries{m: m, api: api, ops: ops, series: make([]atomic.Pointer[opSeries], len(ops)),
		inflight: m.inflight.WithLabelValues(api)}
}

// op returns the series of operation i, resolving them on first use.
func (a *apiSeries) op(i int) *opSeries {
	if s := a.series[i].Load(); s != nil {
		return s
	}
	name := a.ops[i]
	s := &opSeries{
		duration: a.m.duration.WithLabelValues(a.api, name),
		in:       a.m.bytesIn.WithLabelValues(a.api, name),
		out:      a.m.bytesOut.WithLabelValues(a.api, name),
	}
	for c := 1; c < len(classes); c++ {
		s.requests[c] = a.m.requests.WithLabelValues(a.api, name, classes[c])
	}
	a.series[i].CompareAndSwap(nil, s)
	return a.series[i].Load()
}

// observe records one finished request.
func (a *apiSeries) observe(op, status int, seconds float64, in, out int64) {
	s := a.op(op)
	if c := status / 100; c >= 1 && c < len(classes) {
		s.requests[c].Inc()
	}
	s.duration.Observe(seconds)
	if in > 0 {
		s.in.Add(float64(in))
	}
	if out > 0 {
		s.out.Add(float64(out))
	}
}
