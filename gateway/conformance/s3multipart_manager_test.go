package conformance

import (
	"testing"

	"github.com/coffer-project/coffer/services/clustertest"
)

// TestS3TransferManager runs the transfer-manager suite in-process.
func TestS3TransferManager(t *testing.T) {
	c := clustertest.Start(t)
	S3TransferManager(t, Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID,
		SecretKey: clustertest.SecretKey, Region: clustertest.Region})
}
