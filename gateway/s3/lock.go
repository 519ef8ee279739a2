package s3

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Object Lock (spec/s3.md §6.7): the bucket setting, per-version retention
// and legal hold, and the lock headers of new objects. Metadata enforces
// the rules (a locked version cannot be deleted or its retention
// shortened); this file parses S3's shapes and checks capabilities.

// allow applies the one authorization decision to a further capability an
// operation needs beyond its own (bypassGovernance, writeFileRetentions...).
func (h *Handler) allow(c *call, capability, key string) error {
	return h.allowOn(c, c.bucket, capability, key)
}

// allowOn is allow for a key in another bucket (a copy source).
func (h *Handler) allowOn(c *call, b *metadatav1.Bucket, capability, key string) error {
	if testHookNoAuth.Load() {
		return nil
	}
	return policy.Decide(c.principal, &authv1.Access{
		Capability: capability, BucketId: b.GetBucketId(), BucketName: b.GetName(), Name: key,
		BucketPublic: b.GetType() == metadatav1.BucketType_BUCKET_TYPE_ALL_PUBLIC,
	}, time.Now())
}

// bypassGovernance reports whether the request asks to bypass governance
// retention, after checking the key may.
func (h *Handler) bypassGovernance(r *http.Request, c *call, key string) (bool, error) {
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("x-amz-bypass-governance-retention")), "true") {
		return false, nil
	}
	if err := h.allow(c, policy.BypassGovernance, key); err != nil {
		return false, err
	}
	return true, nil
}

func errNoBucketLock(op string) error {
	return errs.Errorf(errs.InvalidRequest, op, "Bucket is missing Object Lock Configuration")
}

type defaultRetention struct {
	Mode  string `xml:"Mode"`
	Days  *int32 `xml:"Days"`
	Years *int32 `xml:"Years"`
}

type objectLockRule struct {
	DefaultRetention *defaultRetention `xml:"DefaultRetention"`
}

type objectLockConfiguration struct {
	XMLName           xml.Name        `xml:"ObjectLockConfiguration"`
	NS                string          `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string          `xml:"ObjectLockEnabled,omitempty"`
	Rule              *objectLockRule `xml:"Rule"`
}

func retentionModeName(m metadatav1.RetentionMode) string {
	switch m {
	case metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE:
		return "GOVERNANCE"
	case metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE:
		return "COMPLIANCE"
	}
	return ""
}

func parseRetentionMode(s string) (metadatav1.RetentionMode, bool) {
	switch s {
	case "GOVERNANCE":
		return metadatav1.RetentionMode_RETENTION_MODE_GOVERNANCE, true
	case "COMPLIANCE":
		return metadatav1.RetentionMode_RETENTION_MODE_COMPLIANCE, true
	}
	return 0, false
}

func (h *Handler) getObjectLockConfiguration(w http.ResponseWriter, _ *http.Request, c *call) error {
	fl := c.bucket.GetFileLock()
	if !fl.GetEnabled() {
		return errs.E(errs.NoSuchConfiguration, "s3.GetObjectLockConfiguration", nil).WithDetail("config", "lock").WithBucket(c.req.Bucket)
	}
	cfg := objectLockConfiguration{NS: s3NS, ObjectLockEnabled: "Enabled"}
	if mode := retentionModeName(fl.GetDefaultMode()); mode != "" && fl.GetDefaultPeriod() > 0 {
		d := &defaultRetention{Mode: mode}
		p := fl.GetDefaultPeriod()
		if fl.GetDefaultPeriodUnit() == metadatav1.PeriodUnit_PERIOD_UNIT_YEARS {
			d.Years = &p
		} else {
			d.Days = &p
		}
		cfg.Rule = &objectLockRule{DefaultRetention: d}
	}
	writeXML(w, http.StatusOK, cfg)
	return nil
}

// putObjectLockConfiguration enables Object Lock (never disabled again; B2
// allows enabling it on an existing bucket) and sets or clears the default
// retention.
func (h *Handler) putObjectLockConfiguration(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.PutObjectLockConfiguration"
	body, err := h.configBody(r, c, maxConfigBody, true)
	if err != nil {
		return err
	}
	var cfg objectLockConfiguration
	if err := decodeXML(body, &cfg); err != nil {
		return err
	}
	if cfg.ObjectLockEnabled != "Enabled" {
		return errs.Errorf(errs.MalformedBody, op, "ObjectLockEnabled must be Enabled.")
	}
	fl := &metadatav1.FileLockConfiguration{Enabled: true}
	if cfg.Rule != nil {
		d := cfg.Rule.DefaultRetention
		if d == nil {
			return errs.Errorf(errs.MalformedBody, op, "A Rule needs a DefaultRetention.")
		}
		mode, ok := parseRetentionMode(d.Mode)
		if !ok {
			return errs.Errorf(errs.MalformedBody, op, "The retention mode must be GOVERNANCE or COMPLIANCE.")
		}
		switch {
		case (d.Days == nil) == (d.Years == nil):
			return errs.Errorf(errs.MalformedBody, op, "A default retention has either Days or Years.")
		case d.Days != nil && *d.Days < 1, d.Years != nil && *d.Years < 1:
			return errs.Errorf(errs.InvalidArgument, op, "Default retention period must be a positive integer value.").WithDetail("retention_period", "true")
		case d.Days != nil && *d.Days > 36500:
			return errs.Errorf(errs.InvalidArgument, op, "Default retention period too large.").WithDetail("argument_name", "Days")
		case d.Years != nil && *d.Years > 100:
			return errs.Errorf(errs.InvalidArgument, op, "Default retention period too large.").WithDetail("argument_name", "Years")
		case d.Days != nil:
			fl.DefaultMode, fl.DefaultPeriod, fl.DefaultPeriodUnit = mode, *d.Days, metadatav1.PeriodUnit_PERIOD_UNIT_DAYS
		default:
			fl.DefaultMode, fl.DefaultPeriod, fl.DefaultPeriodUnit = mode, *d.Years, metadatav1.PeriodUnit_PERIOD_UNIT_YEARS
		}
	}
	if _, err := h.updateBucket(r, c, &metadatav1.UpdateBucketRequest{FileLock: fl}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type retentionXML struct {
	XMLName         xml.Name `xml:"Retention"`
	NS              string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

type legalHoldXML struct {
	XMLName xml.Name `xml:"LegalHold"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// parseRetainUntil parses an ISO 8601 date (with or without fractional
// seconds) into unix milliseconds.
func parseRetainUntil(s string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

func retainUntilString(ms int64) string { return time.UnixMilli(ms).UTC().Format(timeFormat) }

func errNoObjectLock(op string) error {
	return errs.E(errs.NoSuchConfiguration, op, nil).WithDetail("config", "object_lock")
}

func (h *Handler) getObjectRetention(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.GetObjectRetention"
	if !c.bucket.GetFileLock().GetEnabled() {
		return errNoBucketLock(op)
	}
	v, err := h.objectVersion(r, c)
	if err != nil {
		return err
	}
	ret := v.GetRetention()
	mode := retentionModeName(ret.GetMode())
	if mode == "" {
		return errNoObjectLock(op)
	}
	writeXML(w, http.StatusOK, retentionXML{NS: s3NS, Mode: mode, RetainUntilDate: retainUntilString(ret.GetRetainUntilUnixMillis())})
	return nil
}

func (h *Handler) putObjectRetention(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.PutObjectRetention"
	if !c.bucket.GetFileLock().GetEnabled() {
		return errNoBucketLock(op)
	}
	body, err := h.configBody(r, c, maxConfigBody, true)
	if err != nil {
		return err
	}
	var x retentionXML
	if err := decodeXML(body, &x); err != nil {
		return err
	}
	ret := &metadatav1.Retention{}
	switch {
	case x.Mode == "" && x.RetainUntilDate == "":
		// Removing retention: allowed for governance with bypass, and
		// refused by metadata while a compliance retention runs.
	case x.Mode == "" || x.RetainUntilDate == "":
		return errs.Errorf(errs.MalformedBody, op, "A retention has both Mode and RetainUntilDate.")
	default:
		mode, ok := parseRetentionMode(x.Mode)
		if !ok {
			return errs.Errorf(errs.MalformedBody, op, "The retention mode must be GOVERNANCE or COMPLIANCE.")
		}
		until, ok := parseRetainUntil(x.RetainUntilDate)
		if !ok {
			return errs.Errorf(errs.MalformedBody, op, "RetainUntilDate must be an ISO 8601 date.")
		}
		if until <= time.Now().UnixMilli() {
			return errs.Errorf(errs.InvalidArgument, op, "The retain until date must be in the future!").WithDetail("argument_name", "RetainUntilDate")
		}
		ret.Mode, ret.RetainUntilUnixMillis = mode, until
	}
	bypass, err := h.bypassGovernance(r, c, c.req.Key)
	if err != nil {
		return err
	}
	v, err := h.objectVersion(r, c)
	if err != nil {
		return err
	}
	if _, err := h.meta.UpdateObjectRetention(r.Context(), &metadatav1.UpdateObjectRetentionRequest{
		BucketId: c.bucket.GetBucketId(), Key: c.req.Key, VersionId: v.GetVersionId(), Retention: ret, BypassGovernance: bypass,
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getObjectLegalHold(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.GetObjectLegalHold"
	if !c.bucket.GetFileLock().GetEnabled() {
		return errNoBucketLock(op)
	}
	v, err := h.objectVersion(r, c)
	if err != nil {
		return err
	}
	switch v.GetLegalHold() {
	case metadatav1.LegalHold_LEGAL_HOLD_ON:
		writeXML(w, http.StatusOK, legalHoldXML{NS: s3NS, Status: "ON"})
	case metadatav1.LegalHold_LEGAL_HOLD_OFF:
		writeXML(w, http.StatusOK, legalHoldXML{NS: s3NS, Status: "OFF"})
	default:
		return errNoObjectLock(op)
	}
	return nil
}

func parseLegalHold(s string) (metadatav1.LegalHold, bool) {
	switch s {
	case "ON":
		return metadatav1.LegalHold_LEGAL_HOLD_ON, true
	case "OFF":
		return metadatav1.LegalHold_LEGAL_HOLD_OFF, true
	}
	return 0, false
}

func (h *Handler) putObjectLegalHold(w http.ResponseWriter, r *http.Request, c *call) error {
	const op = "s3.PutObjectLegalHold"
	if !c.bucket.GetFileLock().GetEnabled() {
		return errNoBucketLock(op)
	}
	body, err := h.configBody(r, c, maxConfigBody, true)
	if err != nil {
		return err
	}
	var x legalHoldXML
	if err := decodeXML(body, &x); err != nil {
		return err
	}
	hold, ok := parseLegalHold(x.Status)
	if !ok {
		return errs.Errorf(errs.MalformedBody, op, "The legal hold status must be ON or OFF.")
	}
	v, err := h.objectVersion(r, c)
	if err != nil {
		return err
	}
	if _, err := h.meta.UpdateObjectLegalHold(r.Context(), &metadatav1.UpdateObjectLegalHoldRequest{
		BucketId: c.bucket.GetBucketId(), Key: c.req.Key, VersionId: v.GetVersionId(), LegalHold: hold,
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// objectLockHeaders parses the Object Lock headers of a new object
// (PutObject, CopyObject, CreateMultipartUpload): x-amz-object-lock-mode
// with x-amz-object-lock-retain-until-date, and x-amz-object-lock-legal-hold.
// They need a lock-enabled bucket and the writeFileRetentions /
// writeFileLegalHolds capabilities; with requireDigest (a request with a
// body), a Content-MD5 or x-amz-checksum-* too.
func (h *Handler) objectLockHeaders(r *http.Request, c *call, op string, requireDigest bool) (*metadatav1.Retention, metadatav1.LegalHold, error) {
	mode, until, hold := r.Header.Get("x-amz-object-lock-mode"), r.Header.Get("x-amz-object-lock-retain-until-date"), r.Header.Get("x-amz-object-lock-legal-hold")
	if mode == "" && until == "" && hold == "" {
		return nil, 0, nil
	}
	if !c.bucket.GetFileLock().GetEnabled() {
		return nil, 0, errNoBucketLock(op)
	}
	// S3 wants Content-MD5 or a checksum with lock headers. A signed payload
	// hash protects the body as well, and is all aws-sdk-go-v2 sends over
	// plain HTTP, so it counts too.
	if requireDigest && r.Header.Get("Content-MD5") == "" && !hasChecksumHeader(r.Header) && !signedPayload(c) {
		return nil, 0, errs.Errorf(errs.InvalidRequest, op,
			"Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
	}
	var ret *metadatav1.Retention
	if mode != "" || until != "" {
		if mode == "" || until == "" {
			return nil, 0, errs.Errorf(errs.InvalidArgument, op,
				"x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
		}
		m, ok := parseRetentionMode(mode)
		if !ok {
			return nil, 0, errs.Errorf(errs.InvalidArgument, op, "Unknown wormMode directive.").WithDetail("argument_name", "x-amz-object-lock-mode")
		}
		ms, ok := parseRetainUntil(until)
		if !ok {
			return nil, 0, errs.Errorf(errs.InvalidArgument, op, "The retain until date must be provided in ISO 8601 format").
				WithDetail("argument_name", "x-amz-object-lock-retain-until-date")
		}
		if ms <= time.Now().UnixMilli() {
			return nil, 0, errs.Errorf(errs.InvalidArgument, op, "The retain until date must be in the future!").
				WithDetail("argument_name", "x-amz-object-lock-retain-until-date")
		}
		if err := h.allow(c, policy.WriteFileRetentions, c.req.Key); err != nil {
			return nil, 0, err
		}
		ret = &metadatav1.Retention{Mode: m, RetainUntilUnixMillis: ms}
	}
	var lh metadatav1.LegalHold
	if hold != "" {
		var ok bool
		if lh, ok = parseLegalHold(hold); !ok {
			return nil, 0, errs.Errorf(errs.InvalidArgument, op, "Legal Hold must be either of 'ON' or 'OFF'").
				WithDetail("argument_name", "x-amz-object-lock-legal-hold")
		}
		if err := h.allow(c, policy.WriteFileLegalHolds, c.req.Key); err != nil {
			return nil, 0, err
		}
	}
	return ret, lh, nil
}

// signedPayload reports whether the signature covers the body's SHA-256.
func signedPayload(c *call) bool {
	p := c.sig.GetPayloadHash()
	return len(p) == 64 && !strings.HasPrefix(p, "STREAMING-")
}

// hasChecksumHeader reports whether a request carries an x-amz-checksum-*
// value or announces one as a trailer.
func hasChecksumHeader(hd http.Header) bool {
	if hd.Get("x-amz-trailer") != "" {
		return true
	}
	for name := range hd {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-checksum-") && l != "x-amz-checksum-type" && l != "x-amz-checksum-algorithm" && l != "x-amz-checksum-mode" {
			return true
		}
	}
	return false
}

// setLockHeaders writes a version's Object Lock state on GET/HEAD.
func setLockHeaders(hd http.Header, v *metadatav1.ObjectVersion) {
	if mode := retentionModeName(v.GetRetention().GetMode()); mode != "" {
		hd.Set("x-amz-object-lock-mode", mode)
		hd.Set("x-amz-object-lock-retain-until-date", retainUntilString(v.GetRetention().GetRetainUntilUnixMillis()))
	}
	switch v.GetLegalHold() {
	case metadatav1.LegalHold_LEGAL_HOLD_ON:
		hd.Set("x-amz-object-lock-legal-hold", "ON")
	case metadatav1.LegalHold_LEGAL_HOLD_OFF:
		hd.Set("x-amz-object-lock-legal-hold", "OFF")
	}
}
