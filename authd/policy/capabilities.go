package policy

// B2 capability names (case-sensitive), spec/b2-native.md §2.1.
const (
	ListKeys                  = "listKeys"
	WriteKeys                 = "writeKeys"
	DeleteKeys                = "deleteKeys"
	ListBuckets               = "listBuckets"
	ListAllBucketNames        = "listAllBucketNames"
	ReadBuckets               = "readBuckets"
	WriteBuckets              = "writeBuckets"
	DeleteBuckets             = "deleteBuckets"
	ReadBucketEncryption      = "readBucketEncryption"
	WriteBucketEncryption     = "writeBucketEncryption"
	ReadBucketRetentions      = "readBucketRetentions"
	WriteBucketRetentions     = "writeBucketRetentions"
	ReadFileRetentions        = "readFileRetentions"
	WriteFileRetentions       = "writeFileRetentions"
	ReadFileLegalHolds        = "readFileLegalHolds"
	WriteFileLegalHolds       = "writeFileLegalHolds"
	ReadBucketReplications    = "readBucketReplications"
	WriteBucketReplications   = "writeBucketReplications"
	BypassGovernance          = "bypassGovernance"
	ListFiles                 = "listFiles"
	ReadFiles                 = "readFiles"
	ShareFiles                = "shareFiles"
	WriteFiles                = "writeFiles"
	DeleteFiles               = "deleteFiles"
	ReadBucketNotifications   = "readBucketNotifications"
	WriteBucketNotifications  = "writeBucketNotifications"
	ReadBucketLogging         = "readBucketLogging"
	WriteBucketLogging        = "writeBucketLogging"
	ReadBucketLifecycleRules  = "readBucketLifecycleRules"
	WriteBucketLifecycleRules = "writeBucketLifecycleRules"
)

// all lists every capability: b2sdk's ALL_CAPABILITIES (2026) followed by the
// newer names seen in Backblaze's TypeScript SDK, which we accept too.
var all = []string{
	ListKeys, WriteKeys, DeleteKeys, ListBuckets, ListAllBucketNames, ReadBuckets, WriteBuckets,
	DeleteBuckets, ReadBucketEncryption, WriteBucketEncryption, ReadBucketRetentions,
	WriteBucketRetentions, ReadFileRetentions, WriteFileRetentions, ReadFileLegalHolds,
	WriteFileLegalHolds, ReadBucketReplications, WriteBucketReplications, BypassGovernance,
	ListFiles, ReadFiles, ShareFiles, WriteFiles, DeleteFiles, ReadBucketNotifications,
	WriteBucketNotifications,
	ReadBucketLogging, WriteBucketLogging, ReadBucketLifecycleRules, WriteBucketLifecycleRules,
}

var known = func() map[string]bool {
	m := make(map[string]bool, len(all))
	for _, c := range all {
		m[c] = true
	}
	return m
}()

// fileCapabilities act on object names, so a key's name prefix restricts them.
var fileCapabilities = map[string]bool{
	ListFiles: true, ReadFiles: true, ShareFiles: true, WriteFiles: true, DeleteFiles: true,
	ReadFileRetentions: true, WriteFileRetentions: true, ReadFileLegalHolds: true,
	WriteFileLegalHolds: true, BypassGovernance: true,
}

// accountCapabilities may not be given to a bucket-restricted key
// (spec/b2-native.md §10.1).
var accountCapabilities = map[string]bool{
	ListKeys: true, WriteKeys: true, DeleteKeys: true, WriteBuckets: true, DeleteBuckets: true,
	ReadBucketReplications: true, WriteBucketReplications: true,
}

// AllCapabilities returns every capability name, in B2's order. The
// bootstrap key gets all of them.
func AllCapabilities() []string { return append([]string(nil), all...) }

// Known reports whether c is a capability name we accept.
func Known(c string) bool { return known[c] }

// FileCapability reports whether c acts on object names (and is therefore
// subject to a key's name prefix).
func FileCapability(c string) bool { return fileCapabilities[c] }

// AccountCapability reports whether c is account-wide, which a
// bucket-restricted key may not carry.
func AccountCapability(c string) bool { return accountCapabilities[c] }
