// Package archtest holds tests of the repository's shape: the import layers
// DESIGN.md and STYLE.md rule 20 promise. It has no code of its own.
package archtest
