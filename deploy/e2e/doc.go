// Package e2e is coffer's end-to-end test of the docker-compose cluster
// (deploy/docker-compose.yml). Its tests carry the build tag e2e, so
// `go test ./...` skips them; `make e2e` builds the images and runs them:
//
//	go test -tags e2e -count=1 -timeout 40m -v ./deploy/e2e
//
// The test starts the cluster under its own compose project (coffer-e2e, on
// its own internal subnet and free loopback ports), runs the S3 and B2
// conformance suites against a gateway, then kills, disconnects and stops
// containers under a running load of writes and reads, prints the figures
// (lost writes, failover seconds, error counts) and tears everything down.
package e2e
