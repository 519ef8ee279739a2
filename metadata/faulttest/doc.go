// Package faulttest runs the metadata role as real `coffer serve` processes
// and breaks them: kill -9 of the leader under a linearizability-checked
// load (porcupine), and a full-cluster crash and restart with membership
// changes through `coffer admin`. The tests live here, apart from the
// in-process tests of package metadata, so the two sets run in parallel.
package faulttest
