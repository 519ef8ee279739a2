package b2

import (
	"encoding/json"
	"slices"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// The JSON shapes of spec/b2-native.md §3. Field order follows B2's
// responses; nulls are explicit where B2 sends null, because old clients
// index some fields with [] and crash on a missing key.

// Sizes advertised by b2_authorize_account (spec/b2-native.md §9).
const (
	recommendedPartSize     = 100_000_000
	absoluteMinimumPartSize = 5_000_000
)

// hideMarkerContentType is the content type B2 shows for hide markers.
const hideMarkerContentType = "application/x-bz-hide-marker"

// authorized wraps a sub-object whose reading needs a capability: without
// it B2 answers {"isClientAuthorizedToRead": false, "value": null}.
type authorized struct {
	IsClientAuthorizedToRead bool `json:"isClientAuthorizedToRead"`
	Value                    any  `json:"value"`
}

func guarded(p *authv1.Principal, capability string, value func() any) authorized {
	if !slices.Contains(p.GetCapabilities(), capability) {
		return authorized{}
	}
	return authorized{IsClientAuthorizedToRead: true, Value: value()}
}

// sseJSON is a serverSideEncryption object; the key is never shown.
type sseJSON struct {
	Mode      string `json:"mode"`
	Algorithm string `json:"algorithm,omitempty"`
}

func sseOf(e *metadatav1.ServerSideEncryption) sseJSON {
	switch e.GetMode() {
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2:
		return sseJSON{Mode: "SSE-B2", Algorithm: "AES256"}
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C:
		return sseJSON{Mode: "SSE-C", Algorithm: "AES256"}
	}
	return sseJSON{Mode: "none"}
}

// corsRuleJSON is a native CORS rule (cors.md §1.1), request and response.
type corsRuleJSON struct {
	CorsRuleName      string   `json:"corsRuleName"`
	AllowedOrigins    []string `json:"allowedOrigins"`
	AllowedOperations []string `json:"allowedOperations"`
	AllowedHeaders    []string `json:"allowedHeaders"`
	ExposeHeaders     []string `json:"exposeHeaders"`
	MaxAgeSeconds     *num     `json:"maxAgeSeconds,omitempty"`
}

func corsRulesJSON(rules []*corsv1.CorsRule) []corsRuleJSON {
	out := make([]corsRuleJSON, 0, len(rules))
	for _, r := range rules {
		j := corsRuleJSON{
			CorsRuleName: r.GetName(), AllowedOrigins: nonNil(r.GetAllowedOrigins()),
			AllowedOperations: nonNil(r.GetAllowedOperations()), AllowedHeaders: nonNil(r.GetAllowedHeaders()),
			ExposeHeaders: nonNil(r.GetExposeHeaders()),
		}
		age := num(itoa(int(r.GetMaxAgeSeconds())))
		j.MaxAgeSeconds = &age
		out = append(out, j)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// lifecycleRuleJSON is one lifecycle rule (spec/b2-native.md §3.5).
type lifecycleRuleJSON struct {
	FileNamePrefix                                  *string `json:"fileNamePrefix"`
	DaysFromUploadingToHiding                       *num    `json:"daysFromUploadingToHiding"`
	DaysFromHidingToDeleting                        *num    `json:"daysFromHidingToDeleting"`
	DaysFromStartingToCancelingUnfinishedLargeFiles *num    `json:"daysFromStartingToCancelingUnfinishedLargeFiles"`
}

func lifecycleRulesJSON(rules []*metadatav1.LifecycleRule) []lifecycleRuleJSON {
	out := make([]lifecycleRuleJSON, 0, len(rules))
	days := func(d *int32) *num {
		if d == nil {
			return nil
		}
		n := num(itoa(int(*d)))
		return &n
	}
	for _, r := range rules {
		prefix := r.GetFileNamePrefix()
		out = append(out, lifecycleRuleJSON{
			FileNamePrefix:                                  &prefix,
			DaysFromUploadingToHiding:                       days(r.DaysFromUploadingToHiding),
			DaysFromHidingToDeleting:                        days(r.DaysFromHidingToDeleting),
			DaysFromStartingToCancelingUnfinishedLargeFiles: days(r.DaysFromStartingToCancelingUnfinishedLargeFiles),
		})
	}
	return out
}

// periodJSON is a default retention period.
type periodJSON struct {
	Duration int32  `json:"duration"`
	Unit     string `json:"unit"`
}

// defaultRetentionJSON is a bucket's default retention.
type defaultRetentionJSON struct {
	Mode   *string     `json:"mode"`
	Period *periodJSON `json:"period"`
}

type fileLockJSON struct {
	IsFileLockEnabled bool                 `json:"isFileLockEnabled"`
	DefaultRetention  defaultRetentionJSON `json:"defaultRetention"`
}

func fileLockOf(fl *metadatav1.FileLockConfiguration) fileLockJSON {
	out := fileLockJSON{IsFileLockEnabled: fl.GetEnabled()}
	if m := modeName(fl.GetDefaultMode()); m != "" {
		out.DefaultRetention.Mode = &m
		unit := "days"
		if fl.GetDefaultPeriodUnit() == metadatav1.PeriodUnit_PERIOD_UNIT_YEARS {
			unit = "years"
		}
		out.DefaultRetention.Period = &periodJSON{Duration: fl.GetDefaultPeriod(), Unit: unit}
	}
	return out
}

func modeName(m metadatav1.RetentionMode) string {
	switch m {
	case metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE:
		return "governance"
	case metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE:
		return "compliance"
	}
	return ""
}

// bucketJSON is a bucket (spec/b2-native.md §3.1).
type bucketJSON struct {
	AccountID                   string              `json:"accountId"`
	BucketID                    string              `json:"bucketId"`
	BucketName                  string              `json:"bucketName"`
	BucketType                  string              `json:"bucketType"`
	BucketInfo                  map[string]string   `json:"bucketInfo"`
	CORSRules                   []corsRuleJSON      `json:"corsRules"`
	LifecycleRules              []lifecycleRuleJSON `json:"lifecycleRules"`
	DefaultServerSideEncryption authorized          `json:"defaultServerSideEncryption"`
	FileLockConfiguration       authorized          `json:"fileLockConfiguration"`
	ReplicationConfiguration    authorized          `json:"replicationConfiguration"`
	Options                     []string            `json:"options"`
	Revision                    int64               `json:"revision"`
	// CreationTimestamp (milliseconds) is coffer's addition: B2 shows a
	// bucket's creation date in its console but has no API field for it,
	// and coffer's console is a client of this API. Clients ignore
	// fields they do not know.
	CreationTimestamp int64 `json:"creationTimestamp"`
}

var bucketTypeNames = map[metadatav1.BucketType]string{
	metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE: "allPrivate",
	metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC:  "allPublic",
	metadatav1.BucketType_BUCKET_TYPE_SNAPSHOT:    "snapshot",
}

func bucketOf(p *authv1.Principal, b *metadatav1.Bucket) bucketJSON {
	info := b.GetInfo()
	if info == nil {
		info = map[string]string{}
	}
	return bucketJSON{
		AccountID:      b.GetAccountId(),
		BucketID:       b.GetBucketId(),
		BucketName:     b.GetName(),
		BucketType:     bucketTypeNames[b.GetType()],
		BucketInfo:     info,
		CORSRules:      corsRulesJSON(b.GetCorsRules()),
		LifecycleRules: lifecycleRulesJSON(b.GetLifecycleRules()),
		DefaultServerSideEncryption: guarded(p, policy.ReadBucketEncryption, func() any {
			return sseOf(b.GetDefaultEncryption())
		}),
		FileLockConfiguration: guarded(p, policy.ReadBucketRetentions, func() any {
			return fileLockOf(b.GetFileLock())
		}),
		ReplicationConfiguration: guarded(p, policy.ReadBucketReplications, func() any { return nil }),
		Options:                  []string{"s3"},
		Revision:                 b.GetRevision(),
		CreationTimestamp:        b.GetCreateTimeUnixNanos() / 1e6,
	}
}

// retentionJSON is a file's retention value.
type retentionJSON struct {
	Mode                 *string `json:"mode"`
	RetainUntilTimestamp *int64  `json:"retainUntilTimestamp"`
}

func retentionOf(r *metadatav1.Retention) retentionJSON {
	var out retentionJSON
	if m := modeName(r.GetMode()); m != "" {
		until := r.GetRetainUntilUnixMillis()
		out.Mode, out.RetainUntilTimestamp = &m, &until
	}
	return out
}

func legalHoldName(h metadatav1.LegalHold) any {
	switch h {
	case metadatav1.LegalHold_LEGAL_HOLD_ON:
		return "on"
	case metadatav1.LegalHold_LEGAL_HOLD_OFF:
		return "off"
	}
	return nil
}

// fileJSON is a file version (spec/b2-native.md §3.2).
type fileJSON struct {
	AccountID            string            `json:"accountId"`
	Action               string            `json:"action"`
	BucketID             string            `json:"bucketId"`
	ContentLength        int64             `json:"contentLength"`
	Size                 *int64            `json:"size,omitempty"` // v1 only (§11)
	ContentMD5           *string           `json:"contentMd5"`
	ContentSHA1          *string           `json:"contentSha1"`
	ContentType          *string           `json:"contentType"`
	FileID               *string           `json:"fileId"`
	FileInfo             map[string]string `json:"fileInfo"`
	FileName             string            `json:"fileName"`
	FileRetention        authorized        `json:"fileRetention"`
	LegalHold            authorized        `json:"legalHold"`
	ReplicationStatus    *string           `json:"replicationStatus"`
	ServerSideEncryption *sseJSON          `json:"serverSideEncryption"`
	UploadTimestamp      int64             `json:"uploadTimestamp"`
}

var actionNames = map[metadatav1.VersionAction]string{
	metadatav1.VersionAction_VERSION_ACTION_UPLOAD: "upload",
	metadatav1.VersionAction_VERSION_ACTION_HIDE:   "hide",
	metadatav1.VersionAction_VERSION_ACTION_START:  "start",
}

func strp(s string) *string { return &s }

// fileOf renders a version for a caller with principal p on API version ver.
func fileOf(p *authv1.Principal, ver int, accountID string, v *metadatav1.ObjectVersion) fileJSON {
	f := fileJSON{
		AccountID:       accountID,
		Action:          actionNames[v.GetAction()],
		BucketID:        v.GetBucketId(),
		ContentLength:   v.GetSize(),
		FileID:          strp(v.GetVersionId()),
		FileInfo:        v.GetInfo(),
		FileName:        v.GetKey(),
		UploadTimestamp: v.GetCreateTimeUnixNanos() / 1e6,
		FileRetention: guarded(p, policy.ReadFileRetentions, func() any {
			return retentionOf(v.GetRetention())
		}),
		LegalHold: guarded(p, policy.ReadFileLegalHolds, func() any { return legalHoldName(v.GetLegalHold()) }),
	}
	if f.FileInfo == nil {
		f.FileInfo = map[string]string{}
	}
	switch v.GetAction() {
	case metadatav1.VersionAction_VERSION_ACTION_HIDE:
		f.ContentType = strp(hideMarkerContentType)
		// B2 sends "none", and b2sdk reads the field as a string: null
		// crashes every listing that holds a hide marker, and hide_file.
		f.ContentSHA1 = strp("none")
		f.ContentLength = 0
	case metadatav1.VersionAction_VERSION_ACTION_START:
		f.ContentType = strp(v.GetContentType())
		f.ContentSHA1 = strp("none")
		f.ContentLength = 0
		sse := sseOf(v.GetEncryption())
		f.ServerSideEncryption = &sse
	default:
		f.ContentType = strp(v.GetContentType())
		if s := v.GetContentSha1(); s != "" {
			f.ContentSHA1 = strp(s)
		} else {
			f.ContentSHA1 = strp("none")
		}
		if m := v.GetContentMd5(); m != "" {
			f.ContentMD5 = strp(m)
		}
		sse := sseOf(v.GetEncryption())
		f.ServerSideEncryption = &sse
	}
	if ver == 1 {
		n := f.ContentLength
		f.Size = &n
	}
	return f
}

// folderOf renders a common prefix as B2's synthetic "folder" row.
func folderOf(ver int, bucketID, name string) fileJSON {
	f := fileJSON{Action: "folder", BucketID: bucketID, FileName: name, FileInfo: map[string]string{}}
	if ver == 1 {
		zero := int64(0)
		f.Size = &zero
	}
	return f
}

// partJSON is one part of a large file (spec/b2-native.md §3.3).
type partJSON struct {
	FileID               string  `json:"fileId"`
	PartNumber           int32   `json:"partNumber"`
	ContentLength        int64   `json:"contentLength"`
	ContentSHA1          string  `json:"contentSha1"`
	ContentMD5           *string `json:"contentMd5"`
	ServerSideEncryption sseJSON `json:"serverSideEncryption"`
	UploadTimestamp      int64   `json:"uploadTimestamp"`
}

func partOf(upload *metadatav1.ObjectVersion, p *metadatav1.Part) partJSON {
	out := partJSON{
		FileID: p.GetUploadId(), PartNumber: p.GetPartNumber(), ContentLength: p.GetSegment().GetSize(),
		ContentSHA1: p.GetSegment().GetSha1(), ServerSideEncryption: sseOf(upload.GetEncryption()),
		UploadTimestamp: p.GetCreateTimeUnixNanos() / 1e6,
	}
	if m := p.GetSegment().GetMd5(); m != "" {
		out.ContentMD5 = strp(m)
	}
	return out
}

// keyJSON is an application key (spec/b2-native.md §3.4). v1–v3 name one
// bucket (bucketId), v4 a list (bucketIds); each version sends its field,
// null when the key is not restricted, and omits the other.
type keyJSON struct {
	KeyName             string   `json:"keyName"`
	ApplicationKeyID    string   `json:"applicationKeyId"`
	ApplicationKey      string   `json:"applicationKey,omitempty"`
	Capabilities        []string `json:"capabilities"`
	AccountID           string   `json:"accountId"`
	ExpirationTimestamp *int64   `json:"expirationTimestamp"`
	BucketID            any      `json:"bucketId,omitempty"`
	BucketIDs           any      `json:"bucketIds,omitempty"`
	NamePrefix          *string  `json:"namePrefix"`
	Options             []string `json:"options"`
}

// jsonNull is an explicit null for fields that are omitted when nil.
var jsonNull = json.RawMessage("null")

func keyOf(ver int, k *authv1.KeyInfo, secret string) keyJSON {
	out := keyJSON{
		KeyName: k.GetName(), ApplicationKeyID: k.GetKeyId(), ApplicationKey: secret,
		Capabilities: nonNil(k.GetCapabilities()), AccountID: k.GetAccountId(), Options: []string{"s3"},
	}
	if exp := k.GetExpirationTimeUnixMillis(); exp != 0 {
		out.ExpirationTimestamp = &exp
	}
	if p := k.GetNamePrefix(); p != "" {
		out.NamePrefix = &p
	}
	ids := k.GetBucketIds()
	switch {
	case ver >= 4 && len(ids) > 0:
		out.BucketIDs = ids
	case ver >= 4:
		out.BucketIDs = jsonNull
	case len(ids) > 0:
		out.BucketID = ids[0]
	default:
		out.BucketID = jsonNull
	}
	return out
}
