// Package app wires coffer together: the root configuration (one struct per
// role, composed here), the role registry with its dependency order, and the
// `coffer` command (serve, config, version; admin and healthcheck are
// services/admin's). main only calls Run; tests call Start directly.
//
// In the all-in-one default every role runs in this process and reaches the
// others through their generated gRPC clients over loopback, exactly as in
// the cluster.
package app
