// Package certs holds coffer's certificates: a cluster CA, certificates
// that name the roles their holder may act as, the TLS configurations of
// the HTTP edge and of mutual TLS between roles, and a key pair that is
// reloaded from its files when they change.
//
// A role's identity is a URI SAN, spiffe://coffer/role/<role> (one per role
// for a process that runs several), in a certificate signed by the cluster
// CA. Servers require such a certificate from every caller and authorize
// each call by the roles it names (services/runtime applies the table);
// clients check that the server they reached holds the role they meant to
// call, so an address from discovery is a hint, never a grant of trust.
// Host names are not checked between roles: addresses change (containers,
// discovery), identities do not.
//
// It is part of the shared platform: it imports no role.
package certs
