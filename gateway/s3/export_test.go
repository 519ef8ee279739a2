package s3

// DisableAuthForBenchmark turns authentication off (on=true) or back on for
// every S3 handler in this test binary, so a benchmark can measure what
// authentication costs. It exists only in tests: production code has no way
// to reach the hook.
func DisableAuthForBenchmark(on bool) { testHookNoAuth.Store(on) }
