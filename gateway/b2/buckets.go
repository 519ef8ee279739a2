package b2

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	corsv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/cors/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// reservedBucketNames collide with the gateway's own S3 path prefixes (the
// R2-style API under /client/); B2 names are case-insensitive.
var reservedBucketNames = map[string]bool{"client": true}

type createBucketRequest struct {
	AccountID  string `json:"accountId"`
	BucketName string `json:"bucketName"`
	bucketSettings
	settings *parsedSettings
}

func (q *createBucketRequest) check() (err error) {
	if q.AccountID == "" {
		return required("accountId")
	}
	if q.BucketName == "" {
		return required("bucketName")
	}
	if q.BucketType == nil {
		return required("bucketType")
	}
	if reservedBucketNames[strings.ToLower(q.BucketName)] {
		return errs.Errorf(errs.InvalidBucketName, "b2.bucket", "the bucket name %s is reserved", q.BucketName)
	}
	q.settings, err = q.parse()
	return err
}

// decideAll authorizes every capability in caps on the access.
func (h *Handler) decideAll(c *call, bucketID string, caps []string) error {
	for _, capability := range caps {
		if err := h.decide(c, &authv1.Access{Capability: capability, BucketId: bucketID}); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) createBucket(w http.ResponseWriter, r *http.Request, c *call) error {
	var q createBucketRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	s := q.settings
	if err := checkAccount(c, q.AccountID); err != nil {
		return err
	}
	if err := h.decideAll(c, "", s.capabilities); err != nil {
		return err
	}
	b := &metadatav1.Bucket{
		Name: q.BucketName, AccountId: c.accountID(), Type: *s.typ, Info: s.info,
		LifecycleRules: s.lifecycle, DefaultEncryption: s.encryption,
	}
	if s.fileLock != nil && *s.fileLock || s.setRetention {
		fl := &metadatav1.FileLockConfiguration{Enabled: s.fileLock != nil && *s.fileLock}
		if s.setRetention {
			if !fl.Enabled {
				return withCode(bad("a default retention needs file lock enabled"), 400, "file_lock_conflict")
			}
			fl.DefaultMode, fl.DefaultPeriod, fl.DefaultPeriodUnit = s.retention.DefaultMode, s.retention.DefaultPeriod, s.retention.DefaultPeriodUnit
		}
		b.FileLock = fl
	}
	if len(s.cors) > 0 && h.cors == nil {
		return errs.Errorf(errs.Unavailable, "b2.createBucket", "CORS rules cannot be set on this gateway")
	}
	resp, err := h.meta.CreateBucket(r.Context(), &metadatav1.CreateBucketRequest{Bucket: b, RequestId: c.id})
	if err != nil {
		return err
	}
	b = resp.GetBucket()
	if len(s.cors) > 0 {
		// corsd owns the validation of CORS rules. If it refuses them, the
		// bucket this call just created is removed again, so a refused
		// b2_create_bucket leaves nothing behind.
		if _, err := h.cors.PutBucketCors(r.Context(), &corsv1.PutBucketCorsRequest{
			BucketId: b.GetBucketId(), Rules: s.cors, Dialect: corsv1.Dialect_DIALECT_B2, RequestId: c.id + "-cors",
		}); err != nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
			defer cancel()
			if _, derr := h.meta.DeleteBucket(ctx, &metadatav1.DeleteBucketRequest{BucketId: b.GetBucketId()}); derr != nil {
				h.log.Warn("removing a bucket whose CORS rules were refused failed", "bucket", b.GetName(), "err", derr)
			}
			return err
		}
		if b, err = h.bucketByID(r, b.GetBucketId()); err != nil {
			return err
		}
	}
	return writeJSON(w, bucketOf(c.principal, b))
}

type updateBucketRequest struct {
	AccountID    string `json:"accountId"`
	BucketID     string `json:"bucketId"`
	IfRevisionIs *num   `json:"ifRevisionIs"`
	bucketSettings
	settings *parsedSettings
	revision int64
}

func (q *updateBucketRequest) check() (err error) {
	if q.AccountID == "" {
		return required("accountId")
	}
	if q.BucketID == "" {
		return required("bucketId")
	}
	if q.revision, err = intParam("ifRevisionIs", q.IfRevisionIs, 0, 1, 1<<53); err != nil {
		return err
	}
	if q.settings, err = q.parse(); err != nil {
		return err
	}
	if !q.settings.touchesAnyting {
		return bad("nothing to update")
	}
	return nil
}

// updateBucket is b2_update_bucket: each present setting replaces the
// stored one. CORS rules go through corsd (which validates them) first, so
// invalid rules change nothing; the other settings follow in one metadata
// update. ifRevisionIs is checked against the bucket read first and,
// atomically, by that update (which expects one more revision when corsd
// changed the rules in between).
func (h *Handler) updateBucket(w http.ResponseWriter, r *http.Request, c *call) error {
	var q updateBucketRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	s, rev := q.settings, q.revision
	if err := checkAccount(c, q.AccountID); err != nil {
		return err
	}
	if err := h.decideAll(c, q.BucketID, s.capabilities); err != nil {
		return err
	}
	b, err := h.bucketByID(r, q.BucketID)
	if err != nil {
		return err
	}
	if rev != 0 && b.GetRevision() != rev {
		return errs.Errorf(errs.Conflict, "b2.updateBucket", "ifRevisionIs is %d but the bucket's revision is %d", rev, b.GetRevision())
	}
	u := &metadatav1.UpdateBucketRequest{
		BucketId: q.BucketID, Type: s.typ, SetInfo: s.setInfo, Info: s.info,
		SetLifecycleRules: s.setLifecycle, LifecycleRules: s.lifecycle, DefaultEncryption: s.encryption,
		IfRevisionIs: rev, RequestId: c.id,
	}
	if s.fileLock != nil || s.setRetention {
		fl := &metadatav1.FileLockConfiguration{}
		if cur := b.GetFileLock(); cur != nil {
			fl.Enabled, fl.DefaultMode, fl.DefaultPeriod, fl.DefaultPeriodUnit = cur.Enabled, cur.DefaultMode, cur.DefaultPeriod, cur.DefaultPeriodUnit
		}
		if s.fileLock != nil {
			if fl.Enabled && !*s.fileLock {
				return withCode(bad("file lock cannot be disabled once enabled"), 400, "file_lock_conflict")
			}
			fl.Enabled = *s.fileLock
		}
		if s.setRetention {
			if !fl.Enabled {
				return withCode(bad("a default retention needs file lock enabled"), 400, "file_lock_conflict")
			}
			fl.DefaultMode, fl.DefaultPeriod, fl.DefaultPeriodUnit = s.retention.DefaultMode, s.retention.DefaultPeriod, s.retention.DefaultPeriodUnit
		}
		u.FileLock = fl
	}
	if s.setCors && h.cors == nil {
		return errs.Errorf(errs.Unavailable, "b2.updateBucket", "CORS rules cannot be set on this gateway")
	}
	if s.setCors {
		if len(s.cors) == 0 {
			_, err = h.cors.DeleteBucketCors(r.Context(), &corsv1.DeleteBucketCorsRequest{BucketId: q.BucketID, RequestId: c.id + "-cors"})
		} else {
			_, err = h.cors.PutBucketCors(r.Context(), &corsv1.PutBucketCorsRequest{
				BucketId: q.BucketID, Rules: s.cors, Dialect: corsv1.Dialect_DIALECT_B2, RequestId: c.id + "-cors",
			})
		}
		if err != nil {
			return err
		}
		if u.IfRevisionIs != 0 {
			u.IfRevisionIs++
		}
	}
	if u.Type != nil || u.SetInfo || u.SetLifecycleRules || u.DefaultEncryption != nil || u.FileLock != nil {
		resp, err := h.meta.UpdateBucket(r.Context(), u)
		if err != nil {
			return err
		}
		b = resp.GetBucket()
	} else if b, err = h.bucketByID(r, q.BucketID); err != nil {
		return err
	}
	return writeJSON(w, bucketOf(c.principal, b))
}

type listBucketsRequest struct {
	AccountID   string    `json:"accountId"`
	BucketID    string    `json:"bucketId"`
	BucketName  string    `json:"bucketName"`
	BucketTypes *[]string `json:"bucketTypes"`
	typeSet     map[string]bool
}

func (q *listBucketsRequest) check() (err error) {
	if q.AccountID == "" {
		return required("accountId")
	}
	q.typeSet, err = q.types()
	return err
}

// bucketTypeFilter is the set of types b2_list_buckets returns.
func (q *listBucketsRequest) types() (map[string]bool, error) {
	if q.BucketTypes == nil {
		return map[string]bool{"allPublic": true, "allPrivate": true, "snapshot": true}, nil
	}
	types := *q.BucketTypes
	if len(types) == 0 {
		return nil, bad("bucketTypes must not be empty")
	}
	out := map[string]bool{}
	for _, t := range types {
		switch t {
		case "all":
			if len(types) != 1 {
				return nil, bad(`"all" must be the only bucket type`)
			}
			return nil, nil // every type
		case "allPublic", "allPrivate", "snapshot", "restricted", "shared":
			out[t] = true
		default:
			return nil, bad("unknown bucket type %q", truncate(t, 32))
		}
	}
	return out, nil
}

// listBuckets is b2_list_buckets. A key restricted to buckets sees only
// those (all names with listAllBucketNames).
func (h *Handler) listBuckets(w http.ResponseWriter, r *http.Request, c *call) error {
	var q listBucketsRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	types := q.typeSet
	if err := checkAccount(c, q.AccountID); err != nil {
		return err
	}
	if err := h.decide(c, &authv1.Access{Capability: policy.ListBuckets, BucketId: q.BucketID}); err != nil {
		return err
	}
	restricted := c.principal.GetBucketIds()
	seeAll := len(restricted) == 0 || slices.Contains(c.principal.GetCapabilities(), policy.ListAllBucketNames)
	out := struct {
		Buckets []bucketJSON `json:"buckets"`
	}{Buckets: []bucketJSON{}}
	keep := func(b *metadatav1.Bucket) {
		switch {
		case q.BucketID != "" && b.GetBucketId() != q.BucketID:
		case q.BucketName != "" && b.GetName() != q.BucketName:
		case types != nil && !types[bucketTypeNames[b.GetType()]]:
		case !seeAll && !slices.Contains(restricted, b.GetBucketId()):
		default:
			out.Buckets = append(out.Buckets, bucketOf(c.principal, b))
		}
	}
	switch {
	case q.BucketID != "" || q.BucketName != "":
		req := &metadatav1.GetBucketRequest{Selector: &metadatav1.GetBucketRequest_BucketId{BucketId: q.BucketID}}
		if q.BucketID == "" {
			req.Selector = &metadatav1.GetBucketRequest_Name{Name: q.BucketName}
		}
		resp, err := h.meta.GetBucket(r.Context(), req)
		switch {
		case err == nil:
			keep(resp.GetBucket())
		case errs.Is(err, errs.BucketNotFound), errs.Is(err, errs.InvalidArgument), errs.Is(err, errs.InvalidBucketName):
			// A filter that matches nothing is an empty list.
		default:
			return err
		}
	default:
		token := ""
		for {
			resp, err := h.meta.ListBuckets(r.Context(), &metadatav1.ListBucketsRequest{PageSize: 1000, PageToken: token})
			if err != nil {
				return err
			}
			for _, b := range resp.GetBuckets() {
				keep(b)
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	return writeJSON(w, out)
}

type deleteBucketRequest struct {
	AccountID string `json:"accountId"`
	BucketID  string `json:"bucketId"`
}

func (q *deleteBucketRequest) check() error {
	if q.AccountID == "" {
		return required("accountId")
	}
	if q.BucketID == "" {
		return required("bucketId")
	}
	return nil
}

func (h *Handler) deleteBucket(w http.ResponseWriter, r *http.Request, c *call) error {
	var q deleteBucketRequest
	if err := h.decode(r, &q); err != nil {
		return err
	}
	if err := checkAccount(c, q.AccountID); err != nil {
		return err
	}
	if err := h.decide(c, &authv1.Access{Capability: policy.DeleteBuckets, BucketId: q.BucketID}); err != nil {
		return err
	}
	resp, err := h.meta.DeleteBucket(r.Context(), &metadatav1.DeleteBucketRequest{BucketId: q.BucketID, RequestId: c.id})
	if err != nil {
		return err
	}
	return writeJSON(w, bucketOf(c.principal, resp.GetBucket()))
}

// request is a JSON call's parameters. check validates them by
// themselves — required fields, ranges, shapes — and keeps what it parsed,
// before anything else is asked (FuzzB2RequestJSON drives exactly this).
type request interface {
	check() error
}

// decode reads, decodes and checks a JSON call's parameters.
func (h *Handler) decode(r *http.Request, q request) error {
	data, err := readBody(r, q)
	if err != nil {
		return err
	}
	return parseRequest(data, q)
}

// parseRequest decodes and checks a JSON body.
func parseRequest(data []byte, q request) error {
	if err := decodeJSON(data, q); err != nil {
		return err
	}
	return q.check()
}
