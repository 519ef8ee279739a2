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
