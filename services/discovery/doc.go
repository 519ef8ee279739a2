// Package discovery tells a role where the other roles are.
//
// Static maps each role to a fixed list of gRPC addresses: it serves the
// all-in-one server (every role at the process's own gRPC address) and tests.
//
// Etcd is the cluster's discovery. Every role instance registers under
// <prefix>/roles/<role>/<addr>, in the naming/endpoints format of
// go.etcd.io/etcd/client/v3, attached to a lease it keeps alive and revokes
// when it stops (Registration); an instance that dies disappears when its
// lease lapses. Readers keep one watched set per role: gRPC connections dial
// etcd:///<prefix>/roles/<role> through a resolver fed by that set (installed
// per connection with DialOptions), with round robin over the instances that
// pass gRPC health checks and, for metadata, the instance flagged as Raft
// leader first; Endpoints lists the set (the blobstore client's node list).
// Blobstore nodes publish their node id and zone, gateways their HTTP address.
//
// etcd is for discovery only, never for correctness: nothing on the data path
// waits for it, an etcd error or an empty answer never clears what a reader
// knows (spec/reliability.md §4.5), and registrations are made again when
// etcd returns after an outage.
package discovery
