package console_test

import (
	"testing"
)

// TestConsole walks the console through the B2 quick start (issue 12's
// items 1–10) and its quality bar, one subtest per item, on one server and
// one Chromium.
func TestConsole(t *testing.T) {
	e := newEnv(t)
	t.Run("Serving", func(t *testing.T) { testServing(t, e) })
	t.Run("SignIn", func(t *testing.T) { testSignIn(t, e) })
	t.Run("Buckets", func(t *testing.T) { testBuckets(t, e) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, e) })
	t.Run("CORS", func(t *testing.T) { testCORS(t, e) })
	t.Run("ObjectLock", func(t *testing.T) { testObjectLock(t, e) })
	t.Run("Upload", func(t *testing.T) { testUpload(t, e) })
	t.Run("Browse", func(t *testing.T) { testBrowse(t, e) })
	t.Run("FileDetails", func(t *testing.T) { testFileDetails(t, e) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, e) })
	t.Run("Cluster", func(t *testing.T) { testCluster(t, e) })
	t.Run("Restricted", func(t *testing.T) { testRestricted(t, e) })
	t.Run("Quality", func(t *testing.T) { testQuality(t, e) })
}
