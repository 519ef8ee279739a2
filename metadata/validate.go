package metadata

import (
	"strings"
	"unicode/utf8"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Requests are validated here, before anything reaches the Raft log; the
// state machine re-checks only what depends on the state.

const (
	// maxKeyBytes is the longest object key (S3 and B2).
	maxKeyBytes = 1024
	// maxListPage clamps object listings (S3 max-keys).
	maxListPage = 1000
	// maxBucketPage clamps and defaults ListBuckets pages.
	maxBucketPage = 1000
	// maxKeyPage clamps ListKeys pages (B2 maxKeyCount); defaultKeyPage is used for 0.
	maxKeyPage     = 10000
	defaultKeyPage = 1000
	// maxBlobCheck bounds one CheckBlobReferences batch.
	maxBlobCheck = 10000
)

// validateBucketName applies B2's rule: 6–63 characters of letters, digits
// and '-', not starting with "b2-". The S3 front-end adds S3's stricter rule.
func validateBucketName(op, name string) error {
	bad := func(msg string) error {
		return errs.Errorf(errs.InvalidBucketName, op, "bucket name %q %s", name, msg).WithBucket(name)
	}
	if len(name) < 6 || len(name) > 63 {
		return bad("must be 6 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return bad("may contain only letters, digits and '-'")
		}
	}
	if strings.HasPrefix(strings.ToLower(name), "b2-") {
		return bad(`must not start with "b2-"`)
	}
	return nil
}

// validateKey checks an object key: 1–1024 bytes of valid UTF-8 with no
// control characters (< 0x20) and no DEL. Because of this rule the state
// machine can use 0x00 as a separator in its composite keys.
func validateKey(op, bucketID, key string) error {
	switch {
	case key == "":
		return errs.Errorf(errs.InvalidKeyName, op, "the object key is empty").WithBucket(bucketID)
	case len(key) > maxKeyBytes:
		return errs.Errorf(errs.KeyTooLong, op, "the object key is %d bytes; at most %d are allowed", len(key), maxKeyBytes).WithBucket(bucketID)
	case !utf8.ValidString(key):
		return errs.Errorf(errs.InvalidKeyName, op, "the object key is not valid UTF-8").WithBucket(bucketID)
	}
	if i := strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return errs.Errorf(errs.InvalidKeyName, op, "the object key contains a control character at byte %d", i).WithBucket(bucketID).WithKey(key)
	}
	return nil
}

// validateID checks an opaque identifier chosen outside metadata (key ids,
// blob ids): non-empty, at most 200 bytes, no control characters.
func validateID(op, what, id string) error {
	if id == "" || len(id) > 200 || strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return errs.Errorf(errs.InvalidArgument, op, "invalid %s %q", what, id)
	}
	return nil
}

// listPage turns an object-listing page size into a limit: negative is
// refused, 0 means the default (1000), above 1000 clamps. (S3 max-keys=0,
// an empty page, is answered by the S3 front-end without a call.)
func listPage(op string, n int32) (int32, error) {
	l, err := pageOr(op, n, maxListPage, maxListPage)
	return int32(l), err
}

// pageOr turns a list's page size into a limit, the same way for every
// list: negative is refused, 0 means def, above limit clamps.
func pageOr(op string, n int32, def, limit int) (int, error) {
	switch {
	case n < 0:
		return 0, errs.Errorf(errs.InvalidArgument, op, "page size %d is negative", n)
	case n == 0:
		return def, nil
	}
	return min(int(n), limit), nil
}

// validBucketType accepts the known bucket types.
func validBucketType(op string, t metadatav1.BucketType) error {
	switch t {
	case metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE, metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC, metadatav1.BucketType_BUCKET_TYPE_SNAPSHOT:
		return nil
	}
	return errs.Errorf(errs.InvalidArgument, op, "unknown bucket type %v", t)
}

// validateAccountID checks an account id: 12 lowercase hex digits.
func validateAccountID(op, id string) error {
	if len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" {
		return errs.Errorf(errs.InvalidArgument, op, "account id %q is not 12 lowercase hex digits", id)
	}
	return nil
}

// validateLockFields checks the shape of a new version's retention and
// legal hold (whether the bucket allows them is the state machine's call).
func validateLockFields(op string, v *metadatav1.ObjectVersion) error {
	if err := validateRetention(op, v.GetRetention()); err != nil {
		return err
	}
	switch v.GetLegalHold() {
	case metadatav1.LegalHold_LEGAL_HOLD_UNSPECIFIED, metadatav1.LegalHold_LEGAL_HOLD_ON, metadatav1.LegalHold_LEGAL_HOLD_OFF:
		return nil
	}
	return errs.Errorf(errs.InvalidArgument, op, "unknown legal hold %v", v.GetLegalHold())
}

// validateRetention checks a retention: a known mode with a retain-until,
// or no mode (no retention).
func validateRetention(op string, r *metadatav1.Retention) error {
	switch r.GetMode() {
	case metadatav1.RetentionMode_RETENTION_MODE_UNSPECIFIED:
		return nil
	case metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE, metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE:
		if r.GetRetainUntilUnixMillis() <= 0 {
			return errs.Errorf(errs.InvalidArgument, op, "a retention mode needs a retain-until date")
		}
		return nil
	}
	return errs.Errorf(errs.InvalidArgument, op, "unknown retention mode %v", r.GetMode())
}

// maxRetentionDays and maxRetentionYears bound a bucket's default retention.
const (
	maxRetentionDays  = 36500
	maxRetentionYears = 100
)

// validateFileLock checks a bucket's file-lock setting: a default retention
// needs file lock enabled, a mode, and a positive period in days or years.
// (Disabling an enabled lock is refused by the state machine.)
func validateFileLock(op string, fl *metadatav1.FileLockConfiguration) error {
	if fl == nil {
		return nil
	}
	switch fl.GetDefaultMode() {
	case metadatav1.RetentionMode_RETENTION_MODE_UNSPECIFIED:
		if fl.GetDefaultPeriod() != 0 {
			return errs.Errorf(errs.InvalidArgument, op, "a default retention period needs a mode")
		}
		return nil
	case metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE, metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE:
	default:
		return errs.Errorf(errs.InvalidArgument, op, "unknown retention mode %v", fl.GetDefaultMode())
	}
	if !fl.GetEnabled() {
		return errs.Errorf(errs.InvalidRequest, op, "a default retention needs file lock (object lock) enabled")
	}
	limit := int32(0)
	switch fl.GetDefaultPeriodUnit() {
	case metadatav1.PeriodUnit_PERIOD_UNIT_DAYS:
		limit = maxRetentionDays
	case metadatav1.PeriodUnit_PERIOD_UNIT_YEARS:
		limit = maxRetentionYears
	default:
		return errs.Errorf(errs.InvalidArgument, op, "a default retention period needs a unit (days or years)")
	}
	if p := fl.GetDefaultPeriod(); p <= 0 || p > limit {
		return errs.Errorf(errs.InvalidArgument, op, "default retention period %d is not in 1..%d", p, limit)
	}
	return nil
}

// maxLifecycleRules bounds a bucket's lifecycle rules.
const maxLifecycleRules = 1000

// validateLifecycleRules checks lifecycle rules: a prefix that is a valid
// key prefix (may be empty), and day counts that are positive when set.
// Overlapping prefixes are allowed here (S3 allows them; the B2 front-end
// refuses them as B2 does): the worker applies every matching rule.
func validateLifecycleRules(op string, rules []*metadatav1.LifecycleRule) error {
	if len(rules) > maxLifecycleRules {
		return errs.Errorf(errs.InvalidArgument, op, "%d lifecycle rules; at most %d", len(rules), maxLifecycleRules)
	}
	for _, r := range rules {
		if p := r.GetFileNamePrefix(); p != "" {
			if err := validateKey(op, "", p); err != nil {
				return errs.Errorf(errs.InvalidArgument, op, "lifecycle rule prefix: %v", err)
			}
		}
		for _, d := range []*int32{r.DaysFromUploadingToHiding, r.DaysFromHidingToDeleting, r.DaysFromStartingToCancelingUnfinishedLargeFiles} {
			if d != nil && *d <= 0 {
				return errs.Errorf(errs.InvalidArgument, op, "lifecycle days must be positive (prefix %q)", r.GetFileNamePrefix())
			}
		}
	}
	return nil
}
