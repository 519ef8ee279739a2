// Package kek holds authd's key-encryption key (KEK) and seals application
// key secrets with it before they leave authd for the metadata role, and so
// before they enter the Raft log and its snapshots (spec/reliability.md §3.12).
//
// A secret is sealed with AES-256-GCM under a random 96-bit nonce, with the
// application key id as additional authenticated data, and stored as
// nonce || ciphertext. Binding the key id means a sealed secret copied onto
// another key's record does not open. The KEK's Version is a fingerprint of
// the KEK itself, stored next to each sealed secret, so that a replica
// started with a different KEK reports that plainly instead of failing
// authentication; a later rotation keeps older KEKs by version.
//
// Derive gives other purposes keys of their own computed from the KEK (the
// MAC key of B2 tokens, for one), so that every replica holding the KEK
// agrees on them while none of them is the key that seals secrets.
package kek
