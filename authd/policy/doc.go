// Package policy is authd's one authorization decision: given who is calling
// (an authv1.Principal built from an application key, or anonymous) and what a
// request wants to do (an authv1.Access naming one B2 capability, a bucket and
// an object name or listing prefix), Decide says yes or returns a domain error.
//
// Every S3 and B2 operation is mapped by the gateway to the capability it
// needs (spec/b2-native.md §2.1); this package applies the same rules to all
// of them: capability present, key not expired, bucket restriction, name-prefix
// restriction, and public-bucket reads. It is pure (the clock is a parameter),
// so the rules are table-tested here once.
package policy
