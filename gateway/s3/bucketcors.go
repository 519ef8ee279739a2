package s3

import (
	"encoding/xml"
	"net/http"

	"google.golang.org/protobuf/proto"

	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Bucket CORS configuration (Get/Put/DeleteBucketCors). The rules are
// stored by corsd as one native list per bucket; S3 reads and writes the S3
// view of it (spec/cors.md §4): the XML maps field for field onto
// corsv1.CorsRule with Name = the rule's ID and AllowedOperations = its
// AllowedMethod values, and corsd converts and validates.

// maxCORSRules bounds a CORSConfiguration (S3 and B2 agree on 100).
const maxCORSRules = 100

type corsRuleXML struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int32   `xml:"MaxAgeSeconds"`
}

type corsConfiguration struct {
	XMLName xml.Name      `xml:"CORSConfiguration"`
	NS      string        `xml:"xmlns,attr,omitempty"`
	Rules   []corsRuleXML `xml:"CORSRule"`
}

// parseCORS decodes a CORSConfiguration into the S3 view's rules. Structure
// is checked here (MalformedXML); rule semantics are corsd's to validate.
func parseCORS(body []byte) ([]*corsv1.CorsRule, error) {
	const op = "s3.PutBucketCors"
	var cfg corsConfiguration
	if err := decodeXML(body, &cfg); err != nil {
		return nil, err
	}
	if len(cfg.Rules) == 0 || len(cfg.Rules) > maxCORSRules {
		return nil, errs.Errorf(errs.MalformedBody, op, "A CORS configuration must have between 1 and %d rules.", maxCORSRules)
	}
	rules := make([]*corsv1.CorsRule, 0, len(cfg.Rules))
	for i, r := range cfg.Rules {
		if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
			return nil, errs.Errorf(errs.MalformedBody, op, "CORSRule %d needs at least one AllowedOrigin and one AllowedMethod.", i+1)
		}
		rule := &corsv1.CorsRule{
			Name: r.ID, AllowedOrigins: r.AllowedOrigins, AllowedOperations: r.AllowedMethods,
			AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders,
		}
		if r.MaxAgeSeconds != nil {
			rule.MaxAgeSeconds = proto.Int32(*r.MaxAgeSeconds)
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

// corsView renders S3-view rules as a CORSConfiguration document.
func corsView(rules []*corsv1.CorsRule) corsConfiguration {
	cfg := corsConfiguration{NS: s3NS}
	for _, r := range rules {
		x := corsRuleXML{
			ID: r.GetName(), AllowedOrigins: r.GetAllowedOrigins(), AllowedMethods: r.GetAllowedOperations(),
			AllowedHeaders: r.GetAllowedHeaders(), ExposeHeaders: r.GetExposeHeaders(),
		}
		if r.MaxAgeSeconds != nil {
			v := r.GetMaxAgeSeconds()
			x.MaxAgeSeconds = &v
		}
		cfg.Rules = append(cfg.Rules, x)
	}
	return cfg
}

func (h *Handler) getBucketCORS(w http.ResponseWriter, r *http.Request, c *call) error {
	resp, err := h.cors.GetBucketCors(r.Context(), &corsv1.GetBucketCorsRequest{
		BucketId: c.bucket.GetBucketId(), Dialect: corsv1.Dialect_DIALECT_S3,
	})
	if err != nil {
		if e := errs.As(err); e != nil {
			e.WithBucket(c.req.Bucket)
		}
		return err
	}
	writeXML(w, http.StatusOK, corsView(resp.GetRules()))
	return nil
}

func (h *Handler) putBucketCORS(w http.ResponseWriter, r *http.Request, c *call) error {
	// S3 requires Content-MD5 or an x-amz-checksum-* on PutBucketCors.
	body, err := h.configBody(r, c, maxCORSBody, true)
	if err != nil {
		return err
	}
	rules, err := parseCORS(body)
	if err != nil {
		return err
	}
	if _, err := h.cors.PutBucketCors(r.Context(), &corsv1.PutBucketCorsRequest{
		BucketId: c.bucket.GetBucketId(), Rules: rules, Dialect: corsv1.Dialect_DIALECT_S3, RequestId: c.id,
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucketCORS(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := h.cors.DeleteBucketCors(r.Context(), &corsv1.DeleteBucketCorsRequest{
		BucketId: c.bucket.GetBucketId(), RequestId: c.id,
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
