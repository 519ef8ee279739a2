// Package shell is the request shell every HTTP front-end of the gateway
// runs in (S3, B2 native, the R2-style API). It owns what each request
// needs whatever its dialect: the request id, the in-flight slots (with a
// smaller share for anonymous requests), deadlines that drop a client
// making no progress, the record of the status and the bytes moved, panic
// recovery, the rule that an error after the response started cuts the
// connection, the HTTP metrics and the access log. A front-end brings a
// Dialect — its name, its operations and its error writer — and a Handler;
// the shell never renders a body itself, so every answer, overload
// included, is in the client's own format.
package shell
