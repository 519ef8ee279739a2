// Package metadatatest holds test helpers for running metadata nodes for
// real: a fault-injecting TCP proxy (partitions by cutting a link), free
// loopback ports, and `coffer` child processes built from this module (so a
// test can kill -9 a node and restart it on its data directory).
//
// Nothing here is used outside tests.
package metadatatest
