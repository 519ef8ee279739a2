// Package tlstest runs real clients over HTTPS against the all-in-one
// server, as a newcomer would after `coffer cert dev`: aws-sdk-go-v2 with
// its default (trailing) checksums, minio-go, Go's HTTP/2 client, B2's
// account authorization, Debian's aws-cli and b2 command-line tool and
// boto3, each given only the development CA — and a renewed certificate
// served without a restart.
package tlstest
