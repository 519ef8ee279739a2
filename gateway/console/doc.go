// Package console is coffer's web console: plain HTML, CSS and JavaScript
// modules embedded in the binary and served on a listener of their own
// (--console-addr). The console is a client of the public B2 Native API,
// as Backblaze's own console is; its origin also serves the gateway's B2
// handler (the same instance as on the gateway port), so the browser's
// calls are same-origin. The one endpoint of its own is a read-only cluster
// status, authorized by a B2 account token. DESIGN.md says why it is
// shaped this way.
package console
