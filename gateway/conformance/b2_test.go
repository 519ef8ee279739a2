package conformance

import (
	"context"
	"testing"
	"time"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/clustertest"
	"github.com/coffer-project/coffer/services/runtime"
)

// TestB2 runs the B2 suite and the cross-dialect checks against every role
// started in-process, with X-Bz-Test-Mode enabled and lifecycle passes run
// on demand with a clock days ahead.
func TestB2(t *testing.T) {
	c := clustertest.Start(t, "--b2-test-mode")
	cc, err := runtime.Dial("passthrough:///" + c.Process.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	cluster := metadatav1.NewClusterServiceClient(cc)
	runLifecycle := func(t testing.TB, now time.Time) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := cluster.RunLifecycle(ctx, &metadatav1.RunLifecycleRequest{NowUnixNanos: now.UnixNano(), AccountToken: c.AccountToken()}); err != nil {
			t.Fatalf("RunLifecycle: %v", err)
		}
	}
	b2t := B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}
	t.Run("Core", func(t *testing.T) { B2Core(t, b2t, B2Options{TestMode: true, RunLifecycle: runLifecycle}) })
	t.Run("Rclone", func(t *testing.T) { testB2Rclone(t, b2t) })
	t.Run("CLI", func(t *testing.T) { testB2CLI(t, b2t) })
	t.Run("CrossDialect", func(t *testing.T) {
		CrossDialect(t, Target{Endpoint: c.Endpoint, AccessKeyID: clustertest.AccessKeyID,
			SecretKey: clustertest.SecretKey, Region: clustertest.Region}, b2t)
	})
}
