// Package admin is the operator's side of the coffer command: `coffer admin`
// (the cluster report, the metadata Raft group's membership) and `coffer
// healthcheck` (container health checks). It is a client of the roles, like
// any other: it reaches them through their generated gRPC clients and never
// imports their internals, so it lives apart from services/app, which wires
// the roles of a serving process.
package admin
