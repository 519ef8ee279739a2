package b2

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/coffer-project/coffer/authd/policy"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Bucket settings as b2_create_bucket and b2_update_bucket carry them, and
// their pure validation (spec/b2-native.md §3.1, §3.5, §4.1, §9). CORS rules
// are validated by corsd, the one owner of CORS rules.

// Limits on bucket settings.
const (
	maxBucketInfoKey     = 50
	maxBucketInfoValues  = 10000
	maxBucketInfoEntries = 100
	maxLifecycleRules    = 100
	// maxLifecycleDays bounds daysFrom* (100 years): larger values are
	// never meant and would overflow day arithmetic elsewhere.
	maxLifecycleDays = 36500
	maxRetentionDays = 36500
	maxRetentionYrs  = 100
)

// bucketSettings are the settings both calls carry; nil means absent.
type bucketSettings struct {
	BucketType                  *string                  `json:"bucketType"`
	BucketInfo                  *map[string]string       `json:"bucketInfo"`
	CorsRules                   *[]corsRuleJSON          `json:"corsRules"`
	LifecycleRules              *[]lifecycleRuleJSON     `json:"lifecycleRules"`
	FileLockEnabled             *bool                    `json:"fileLockEnabled"`
	DefaultServerSideEncryption *sseRequest              `json:"defaultServerSideEncryption"`
	DefaultRetention            *defaultRetentionRequest `json:"defaultRetention"`
	ReplicationConfiguration    json.RawMessage          `json:"replicationConfiguration"`
}

// sseRequest is a requested encryption setting; the customer key and its
// MD5 (base64) come with SSE-C on file calls, never on bucket defaults.
type sseRequest struct {
	Mode           *string `json:"mode"`
	Algorithm      *string `json:"algorithm"`
	CustomerKey    *string `json:"customerKey"`
	CustomerKeyMd5 *string `json:"customerKeyMd5"`
}

// defaultRetentionRequest is a requested bucket default retention.
type defaultRetentionRequest struct {
	Mode   *string `json:"mode"`
	Period *struct {
		Duration *num   `json:"duration"`
		Unit     string `json:"unit"`
	} `json:"period"`
}

// parsedSettings are validated settings in metadata's terms.
type parsedSettings struct {
	typ            *metadatav1.BucketType
	info           map[string]string
	setInfo        bool
	cors           []*corsv1.CorsRule
	setCors        bool
	lifecycle      []*metadatav1.LifecycleRule
	setLifecycle   bool
	encryption     *metadatav1.ServerSideEncryption
	fileLock       *bool
	retention      *metadatav1.FileLockConfiguration // default mode/period only
	setRetention   bool
	capabilities   []string // the extra capabilities the settings need
	touchesAnyting bool
}

func bad(format string, args ...any) *errs.Error {
	return errs.Errorf(errs.InvalidArgument, "b2.bucket", format, args...)
}

// parse validates s.
func (s *bucketSettings) parse() (*parsedSettings, error) {
	p := &parsedSettings{capabilities: []string{policy.WriteBuckets}}
	if s.BucketType != nil {
		t, err := parseBucketType(*s.BucketType)
		if err != nil {
			return nil, err
		}
		p.typ = &t
		p.touchesAnyting = true
	}
	if s.BucketInfo != nil {
		info, err := parseBucketInfo(*s.BucketInfo)
		if err != nil {
			return nil, err
		}
		p.info, p.setInfo, p.touchesAnyting = info, true, true
	}
	if s.CorsRules != nil {
		p.cors, p.setCors, p.touchesAnyting = corsRulesOf(*s.CorsRules), true, true
	}
	if s.LifecycleRules != nil {
		rules, err := parseLifecycle(*s.LifecycleRules)
		if err != nil {
			return nil, err
		}
		p.lifecycle, p.setLifecycle, p.touchesAnyting = rules, true, true
	}
	if s.DefaultServerSideEncryption != nil {
		e, err := parseDefaultSSE(s.DefaultServerSideEncryption)
		if err != nil {
			return nil, err
		}
		p.encryption, p.touchesAnyting = e, true
		p.capabilities = append(p.capabilities, policy.WriteBucketEncryption)
	}
	if s.FileLockEnabled != nil {
		p.fileLock, p.touchesAnyting = s.FileLockEnabled, true
		p.capabilities = append(p.capabilities, policy.WriteBucketRetentions)
	}
	if s.DefaultRetention != nil {
		r, err := parseDefaultRetention(s.DefaultRetention)
		if err != nil {
			return nil, err
		}
		p.retention, p.setRetention, p.touchesAnyting = r, true, true
		p.capabilities = append(p.capabilities, policy.WriteBucketRetentions)
	}
	if raw := strings.TrimSpace(string(s.ReplicationConfiguration)); raw != "" && raw != "null" && raw != "{}" {
		return nil, errs.Errorf(errs.Unimplemented, "b2.bucket", "replication is not supported")
	}
	return p, nil
}

func parseBucketType(t string) (metadatav1.BucketType, error) {
	switch t {
	case "allPrivate":
		return metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE, nil
	case "allPublic":
		return metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC, nil
	case "snapshot":
		return metadatav1.BucketType_BUCKET_TYPE_SNAPSHOT, nil
	}
	return 0, bad("bucketType must be allPublic or allPrivate, not %q", truncate(t, 32))
}

// bucketInfoKeyChars are the characters B2 allows in bucketInfo and
// X-Bz-Info-* keys besides letters and digits.
const bucketInfoKeyChars = "-_.`~!#$%^&*'|+"

// validInfoKey checks a bucketInfo / fileInfo key: 1–50 bytes of letters,
// digits and bucketInfoKeyChars.
func validInfoKey(k string) bool {
	if k == "" || len(k) > maxBucketInfoKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(bucketInfoKeyChars, c) >= 0) {
			return false
		}
	}
	return true
}

// parseBucketInfo validates bucketInfo; keys are stored lower-cased.
func parseBucketInfo(in map[string]string) (map[string]string, error) {
	if len(in) > maxBucketInfoEntries {
		return nil, bad("bucketInfo may hold at most %d entries", maxBucketInfoEntries)
	}
	out := make(map[string]string, len(in))
	total := 0
	for k, v := range in {
		if !validInfoKey(k) {
			return nil, bad("invalid bucketInfo key %q", truncate(k, 64))
		}
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "b2-") {
			return nil, bad("bucketInfo keys starting with b2- are reserved")
		}
		if _, dup := out[lk]; dup {
			return nil, bad("bucketInfo key %q appears twice", lk)
		}
		total += len(v)
		out[lk] = v
	}
	if total > maxBucketInfoValues {
		return nil, bad("bucketInfo values must total at most %d bytes", maxBucketInfoValues)
	}
	return out, nil
}

func corsRulesOf(in []corsRuleJSON) []*corsv1.CorsRule {
	out := make([]*corsv1.CorsRule, 0, len(in))
	for _, r := range in {
		rule := &corsv1.CorsRule{
			Name: r.CorsRuleName, AllowedOrigins: r.AllowedOrigins, AllowedOperations: r.AllowedOperations,
			AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders,
		}
		if r.MaxAgeSeconds != nil {
			// Out-of-range and non-integer values are corsd's to refuse;
			// -1 stands for them here, which corsd refuses too.
			n, err := strconv.ParseInt(string(*r.MaxAgeSeconds), 10, 32)
			if err != nil {
				n = -1
			}
			age := int32(n)
			rule.MaxAgeSeconds = &age
		} else {
			zero := int32(0) // absent on the native API means 0 (cors.md §1.1)
			rule.MaxAgeSeconds = &zero
		}
		out = append(out, rule)
	}
	return out
}

// parseLifecycle validates lifecycle rules (spec/b2-native.md §3.5): at most
// 100, each with a prefix ("" = the whole bucket) and positive days, and no
// prefix that is a prefix of another.
func parseLifecycle(in []lifecycleRuleJSON) ([]*metadatav1.LifecycleRule, error) {
	if len(in) > maxLifecycleRules {
		return nil, bad("at most %d lifecycle rules are allowed", maxLifecycleRules)
	}
	out := make([]*metadatav1.LifecycleRule, 0, len(in))
	days := func(name string, n *num) (*int32, error) {
		if n == nil {
			return nil, nil
		}
		v, err := strconv.ParseInt(string(*n), 10, 32)
		if err != nil || v < 1 || v > maxLifecycleDays {
			return nil, bad("%s must be a whole number of days from 1 to %d", name, maxLifecycleDays)
		}
		d := int32(v)
		return &d, nil
	}
	for i, r := range in {
		if r.FileNamePrefix == nil {
			return nil, bad("lifecycle rule %d has no fileNamePrefix", i+1)
		}
		rule := &metadatav1.LifecycleRule{FileNamePrefix: *r.FileNamePrefix}
		var err error
		if rule.DaysFromUploadingToHiding, err = days("daysFromUploadingToHiding", r.DaysFromUploadingToHiding); err != nil {
			return nil, err
		}
		if rule.DaysFromHidingToDeleting, err = days("daysFromHidingToDeleting", r.DaysFromHidingToDeleting); err != nil {
			return nil, err
		}
		if rule.DaysFromStartingToCancelingUnfinishedLargeFiles, err = days("daysFromStartingToCancelingUnfinishedLargeFiles",
			r.DaysFromStartingToCancelingUnfinishedLargeFiles); err != nil {
			return nil, err
		}
		for _, prev := range out {
			if strings.HasPrefix(prev.FileNamePrefix, rule.FileNamePrefix) || strings.HasPrefix(rule.FileNamePrefix, prev.FileNamePrefix) {
				return nil, bad("lifecycle rules for %q and %q overlap", truncate(prev.FileNamePrefix, 64), truncate(rule.FileNamePrefix, 64))
			}
		}
		out = append(out, rule)
	}
	return out, nil
}

// parseDefaultSSE validates a bucket default encryption: SSE-B2 or none
// (SSE-C cannot be a default).
func parseDefaultSSE(in *sseRequest) (*metadatav1.ServerSideEncryption, error) {
	mode := ""
	if in.Mode != nil {
		mode = *in.Mode
	}
	switch mode {
	case "", "none":
		return &metadatav1.ServerSideEncryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_NONE}, nil
	case "SSE-B2":
		if in.CustomerKey != nil || in.CustomerKeyMd5 != nil {
			return nil, bad("SSE-B2 takes no customer key")
		}
		if in.Algorithm != nil && *in.Algorithm != "AES256" {
			return nil, bad("the only algorithm is AES256")
		}
		return &metadatav1.ServerSideEncryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2, Algorithm: "AES256"}, nil
	}
	return nil, bad("defaultServerSideEncryption mode must be SSE-B2 or none")
}

// parseRetentionMode parses "governance" / "compliance" (null: none).
func parseRetentionMode(m *string) (metadatav1.RetentionMode, error) {
	if m == nil {
		return metadatav1.RetentionMode_RETENTION_MODE_UNSPECIFIED, nil
	}
	switch *m {
	case "governance":
		return metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE, nil
	case "compliance":
		return metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE, nil
	}
	return 0, bad("retention mode must be governance or compliance")
}

// parseDefaultRetention validates a bucket default retention: a mode with a
// period, or a null mode (no default).
func parseDefaultRetention(in *defaultRetentionRequest) (*metadatav1.FileLockConfiguration, error) {
	mode, err := parseRetentionMode(in.Mode)
	if err != nil {
		return nil, err
	}
	out := &metadatav1.FileLockConfiguration{DefaultMode: mode}
	if mode == metadatav1.RetentionMode_RETENTION_MODE_UNSPECIFIED {
		return out, nil
	}
	if in.Period == nil || in.Period.Duration == nil {
		return nil, bad("a default retention needs a period")
	}
	limit := int64(maxRetentionDays)
	switch in.Period.Unit {
	case "days":
		out.DefaultPeriodUnit = metadatav1.PeriodUnit_PERIOD_UNIT_DAYS
	case "years":
		out.DefaultPeriodUnit = metadatav1.PeriodUnit_PERIOD_UNIT_YEARS
		limit = maxRetentionYrs
	default:
		return nil, bad("the retention period unit must be days or years")
	}
	d, err := strconv.ParseInt(string(*in.Period.Duration), 10, 32)
	if err != nil || d < 1 || d > limit {
		return nil, bad("the retention period must be from 1 to %d %s", limit, in.Period.Unit)
	}
	out.DefaultPeriod = int32(d)
	return out, nil
}
