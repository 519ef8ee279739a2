package conformance

import (
	"testing"

	"github.com/coffer-project/coffer/services/clustertest"
)

// TestS3Fidelity runs the S3 fidelity checks against every role started
// in-process.
func TestS3Fidelity(t *testing.T) {
	c := clustertest.Start(t)
	S3Fidelity(t, Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID,
		SecretKey: clustertest.SecretKey, Region: clustertest.Region})
}

// TestB2Fidelity runs the B2 fidelity checks against every role started
// in-process.
func TestB2Fidelity(t *testing.T) {
	c := clustertest.Start(t)
	B2Fidelity(t, B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey})
}
