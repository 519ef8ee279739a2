package s3

import (
	"encoding/xml"
	"fmt"
	"net/http"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Lifecycle configuration ↔ B2 lifecycle rules (spec/s3.md §6.9):
//
//	Expiration/Days                                   daysFromUploadingToHiding
//	NoncurrentVersionExpiration/NoncurrentDays        daysFromHidingToDeleting
//	AbortIncompleteMultipartUpload/DaysAfterInitiation daysFromStartingToCancelingUnfinishedLargeFiles
//	Filter/Prefix (or the legacy Rule/Prefix)         fileNamePrefix
//
// S3 rules with the same prefix merge into one B2 rule. B2 always removes
// orphan delete markers, so Expiration/ExpiredObjectDeleteMarker=true needs
// no rule, and each B2 rule that hides reads back as two S3 rules: one with
// Expiration/Days, one with Expiration/ExpiredObjectDeleteMarker. What B2
// cannot do (transitions, dates, tag or size filters, newer-noncurrent
// counts, disabled rules) is NotImplemented rather than silently dropped.

const maxLifecycleRules = 1000

// present marks an element whose content we do not read, only its presence.
type present struct{}

type lcAnd struct {
	Prefix                *string   `xml:"Prefix"`
	Tags                  []present `xml:"Tag"`
	ObjectSizeGreaterThan *string   `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *string   `xml:"ObjectSizeLessThan"`
}

type lcFilterIn struct {
	Prefix                *string  `xml:"Prefix"`
	Tag                   *present `xml:"Tag"`
	And                   *lcAnd   `xml:"And"`
	ObjectSizeGreaterThan *string  `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *string  `xml:"ObjectSizeLessThan"`
}

type lcRuleIn struct {
	ID         string      `xml:"ID"`
	Prefix     *string     `xml:"Prefix"`
	Filter     *lcFilterIn `xml:"Filter"`
	Status     string      `xml:"Status"`
	Expiration *struct {
		Days                      *int32   `xml:"Days"`
		Date                      *present `xml:"Date"`
		ExpiredObjectDeleteMarker *bool    `xml:"ExpiredObjectDeleteMarker"`
	} `xml:"Expiration"`
	NoncurrentVersionExpiration *struct {
		NoncurrentDays          *int32   `xml:"NoncurrentDays"`
		NewerNoncurrentVersions *present `xml:"NewerNoncurrentVersions"`
	} `xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload *struct {
		DaysAfterInitiation *int32 `xml:"DaysAfterInitiation"`
	} `xml:"AbortIncompleteMultipartUpload"`
	Transitions                  []present `xml:"Transition"`
	NoncurrentVersionTransitions []present `xml:"NoncurrentVersionTransition"`
}

type lifecycleIn struct {
	XMLName xml.Name   `xml:"LifecycleConfiguration"`
	Rules   []lcRuleIn `xml:"Rule"`
}

// parseLifecycle turns a LifecycleConfiguration document into B2 rules.
func parseLifecycle(body []byte) ([]*metadatav1.LifecycleRule, error) {
	const op = "s3.PutBucketLifecycleConfiguration"
	var cfg lifecycleIn
	if err := decodeXML(body, &cfg); err != nil {
		return nil, err
	}
	if len(cfg.Rules) == 0 || len(cfg.Rules) > maxLifecycleRules {
		return nil, errs.Errorf(errs.MalformedBody, op, "A lifecycle configuration has 1 to %d rules.", maxLifecycleRules)
	}
	malformed := func(format string, args ...any) error { return errs.Errorf(errs.MalformedBody, op, format, args...) }
	unsupported := func(what string) error {
		return errs.Errorf(errs.Unimplemented, op, "%s is not supported in lifecycle rules.", what)
	}
	var out []*metadatav1.LifecycleRule
	byPrefix := map[string]*metadatav1.LifecycleRule{}
	ids := map[string]bool{}
	for _, r := range cfg.Rules {
		if len(r.ID) > 255 {
			return nil, errs.Errorf(errs.InvalidArgument, op, "ID length should not exceed allowed limit of 255").WithDetail("argument_name", "ID")
		}
		if r.ID != "" {
			if ids[r.ID] {
				return nil, errs.Errorf(errs.InvalidArgument, op, "Rule ID must be unique. Found same ID for more than one rule").WithDetail("argument_name", "ID")
			}
			ids[r.ID] = true
		}
		switch r.Status {
		case "Enabled":
		case "Disabled":
			return nil, unsupported("A Disabled rule")
		default:
			return nil, malformed("A rule's Status must be Enabled or Disabled.")
		}
		prefix := ""
		switch {
		case r.Filter != nil && r.Prefix != nil:
			return nil, malformed("A rule has either Filter or Prefix.")
		case r.Prefix != nil:
			prefix = *r.Prefix
		case r.Filter != nil:
			f := r.Filter
			if f.Tag != nil || f.ObjectSizeGreaterThan != nil || f.ObjectSizeLessThan != nil {
				return nil, unsupported("Filtering by tag or size")
			}
			if f.And != nil {
				if f.Prefix != nil {
					return nil, malformed("A Filter has either Prefix or And.")
				}
				if len(f.And.Tags) > 0 || f.And.ObjectSizeGreaterThan != nil || f.And.ObjectSizeLessThan != nil {
					return nil, unsupported("Filtering by tag or size")
				}
				if f.And.Prefix != nil {
					prefix = *f.And.Prefix
				}
			} else if f.Prefix != nil {
				prefix = *f.Prefix
			}
		}
		if len(r.Transitions) > 0 || len(r.NoncurrentVersionTransitions) > 0 {
			return nil, unsupported("Transition to another storage class")
		}
		var hide, del, abort *int32
		if e := r.Expiration; e != nil {
			switch {
			case e.Date != nil:
				return nil, unsupported("Expiration by date")
			case e.Days != nil && e.ExpiredObjectDeleteMarker != nil:
				return nil, malformed("Expiration has either Days or ExpiredObjectDeleteMarker.")
			case e.Days != nil:
				hide = e.Days
			case e.ExpiredObjectDeleteMarker == nil:
				return nil, malformed("Expiration needs Days or ExpiredObjectDeleteMarker.")
			}
		}
		if n := r.NoncurrentVersionExpiration; n != nil {
			if n.NewerNoncurrentVersions != nil {
				return nil, unsupported("NewerNoncurrentVersions")
			}
			if n.NoncurrentDays == nil {
				return nil, malformed("NoncurrentVersionExpiration needs NoncurrentDays.")
			}
			del = n.NoncurrentDays
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			if a.DaysAfterInitiation == nil {
				return nil, malformed("AbortIncompleteMultipartUpload needs DaysAfterInitiation.")
			}
			abort = a.DaysAfterInitiation
		}
		if r.Expiration == nil && del == nil && abort == nil {
			return nil, malformed("A rule needs at least one action.")
		}
		for _, d := range []*int32{hide, del, abort} {
			if d != nil && *d < 1 {
				return nil, errs.Errorf(errs.InvalidArgument, op, "'Days' in a lifecycle rule must be a positive integer.").WithDetail("argument_name", "Days")
			}
		}
		if hide == nil && del == nil && abort == nil {
			continue // only ExpiredObjectDeleteMarker: what B2 always does
		}
		b2 := byPrefix[prefix]
		if b2 == nil {
			b2 = &metadatav1.LifecycleRule{FileNamePrefix: prefix}
			byPrefix[prefix] = b2
			out = append(out, b2)
		}
		for _, f := range []struct {
			dst **int32
			src *int32
		}{{&b2.DaysFromUploadingToHiding, hide}, {&b2.DaysFromHidingToDeleting, del}, {&b2.DaysFromStartingToCancelingUnfinishedLargeFiles, abort}} {
			if f.src == nil {
				continue
			}
			if *f.dst != nil && **f.dst != *f.src {
				return nil, errs.Errorf(errs.InvalidArgument, op, "Two rules for prefix %q set the same action to different days.", prefix)
			}
			v := *f.src
			*f.dst = &v
		}
	}
	return out, nil
}

type lcFilterOut struct {
	Prefix string `xml:"Prefix"`
}

type lcExpirationOut struct {
	Days                      *int32 `xml:"Days,omitempty"`
	ExpiredObjectDeleteMarker *bool  `xml:"ExpiredObjectDeleteMarker,omitempty"`
}

type lcRuleOut struct {
	ID                          string           `xml:"ID"`
	Filter                      lcFilterOut      `xml:"Filter"`
	Status                      string           `xml:"Status"`
	Expiration                  *lcExpirationOut `xml:"Expiration,omitempty"`
	NoncurrentVersionExpiration *struct {
		NoncurrentDays int32 `xml:"NoncurrentDays"`
	} `xml:"NoncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *struct {
		DaysAfterInitiation int32 `xml:"DaysAfterInitiation"`
	} `xml:"AbortIncompleteMultipartUpload,omitempty"`
}

type lifecycleOut struct {
	XMLName xml.Name    `xml:"LifecycleConfiguration"`
	NS      string      `xml:"xmlns,attr"`
	Rules   []lcRuleOut `xml:"Rule"`
}

// lifecycleView renders B2 rules as S3 rules (two per hiding rule).
func lifecycleView(rules []*metadatav1.LifecycleRule) lifecycleOut {
	out := lifecycleOut{NS: s3NS}
	for i, r := range rules {
		id := fmt.Sprintf("b2-rule-%d", i+1)
		s3r := lcRuleOut{ID: id, Filter: lcFilterOut{Prefix: r.GetFileNamePrefix()}, Status: "Enabled"}
		if r.DaysFromUploadingToHiding != nil {
			d := r.GetDaysFromUploadingToHiding()
			s3r.Expiration = &lcExpirationOut{Days: &d}
		}
		if r.DaysFromHidingToDeleting != nil {
			s3r.NoncurrentVersionExpiration = &struct {
				NoncurrentDays int32 `xml:"NoncurrentDays"`
			}{r.GetDaysFromHidingToDeleting()}
		}
		if r.DaysFromStartingToCancelingUnfinishedLargeFiles != nil {
			s3r.AbortIncompleteMultipartUpload = &struct {
				DaysAfterInitiation int32 `xml:"DaysAfterInitiation"`
			}{r.GetDaysFromStartingToCancelingUnfinishedLargeFiles()}
		}
		if s3r.Expiration == nil && s3r.NoncurrentVersionExpiration == nil && s3r.AbortIncompleteMultipartUpload == nil {
			continue
		}
		out.Rules = append(out.Rules, s3r)
		if s3r.Expiration != nil {
			yes := true
			out.Rules = append(out.Rules, lcRuleOut{
				ID: id + "-delete-markers", Filter: lcFilterOut{Prefix: r.GetFileNamePrefix()}, Status: "Enabled",
				Expiration: &lcExpirationOut{ExpiredObjectDeleteMarker: &yes},
			})
		}
	}
	return out
}

func (h *Handler) getBucketLifecycle(w http.ResponseWriter, _ *http.Request, c *call) error {
	view := lifecycleView(c.bucket.GetLifecycleRules())
	if len(view.Rules) == 0 {
		return errs.E(errs.NoSuchConfiguration, "s3.GetBucketLifecycleConfiguration", nil).WithDetail("config", "lifecycle").WithBucket(c.req.Bucket)
	}
	writeXML(w, http.StatusOK, view)
	return nil
}

func (h *Handler) putBucketLifecycle(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := h.configBody(r, c, maxConfigBody, true)
	if err != nil {
		return err
	}
	rules, err := parseLifecycle(body)
	if err != nil {
		return err
	}
	if _, err := h.updateBucket(r, c, &metadatav1.UpdateBucketRequest{SetLifecycleRules: true, LifecycleRules: rules}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucketLifecycle(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := h.updateBucket(r, c, &metadatav1.UpdateBucketRequest{SetLifecycleRules: true}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
