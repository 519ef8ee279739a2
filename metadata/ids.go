package metadata

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// Identifiers are chosen here, on the leader, before a command enters the
// log: the state machine never draws random numbers (STYLE rule 11).

// newBucketID returns a B2 bucketId: 24 lowercase hex digits.
func newBucketID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newVersionID returns a B2 fileId (also the S3 VersionId and UploadId):
//
//	4_z<bucketId>_f1<15 hex>_d<YYYYMMDD>_m<HHMMSS>_c001_v0001001_t0001_u<13-digit ms>
//
// The 15 hex digits are random (60 bits); the rest is the stamped time.
func newVersionID(bucketID string, t time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	t = t.UTC()
	return fmt.Sprintf("4_z%s_f1%015x_d%s_m%s_c001_v0001001_t0001_u%013d",
		bucketID, binary.BigEndian.Uint64(b[:])>>4, t.Format("20060102"), t.Format("150405"), t.UnixMilli())
}

var versionIDPattern = regexp.MustCompile(`^4_z([0-9a-f]{24})_f[12][0-9a-f]{15}_d\d{8}_m\d{6}_c\d{3}_v\d{7}_t\d{4}(_u\d{13,14})?$`)

// bucketOfVersion returns the bucket id embedded in a version id, or "".
func bucketOfVersion(versionID string) string {
	if m := versionIDPattern.FindStringSubmatch(versionID); m != nil {
		return m[1]
	}
	return ""
}
