package conformance

import (
	"testing"

	"github.com/coffer-project/coffer/services/clustertest"
)

// TestS3Core runs the suite against every role started in-process.
func TestS3Core(t *testing.T) {
	c := clustertest.Start(t)
	S3Core(t, Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID,
		SecretKey: clustertest.SecretKey, Region: clustertest.Region})
}
