// Package clitest runs scripted sessions of the command-line S3 tools people
// actually use — Debian's awscli, s3cmd and rclone — against a real
// `coffer serve` binary (every role in one process) built by the test. The
// tools are installed with apt-get when missing, never skipped: they sign,
// encode keys and split multipart uploads each in their own way, which is
// what an SDK-only suite cannot cover.
package clitest
