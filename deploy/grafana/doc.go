// Package grafana holds coffer's Grafana dashboard (coffer.json: import it
// into Grafana with a Prometheus data source that scrapes every coffer
// process's admin port) and the test that keeps it true to the metrics the
// processes export.
package grafana
