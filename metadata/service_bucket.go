package metadata

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/coffer-project/coffer/metadata/fsm"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// InitAccount sets the account id once; later calls return the stored one.
func (s *Server) InitAccount(ctx context.Context, req *metadatav1.InitAccountRequest) (*metadatav1.InitAccountResponse, error) {
	const op = "metadata.InitAccount"
	if err := validateAccountID(op, req.GetAccountId()); err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.propose(ctx, op, now, nil, &fsmv1.Command{Op: &fsmv1.Command_InitAccount{InitAccount: &fsmv1.InitAccount{
		Account: &metadatav1.Account{AccountId: req.GetAccountId(), CreateTimeUnixNanos: now.UnixNano()},
	}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.InitAccountResponse{Account: res.Account}, nil
}

// GetAccount returns the account; before InitAccount it fails with
// NoSuchConfiguration (the account is not configured yet).
func (s *Server) GetAccount(ctx context.Context, req *metadatav1.GetAccountRequest) (*metadatav1.GetAccountResponse, error) {
	const op = "metadata.GetAccount"
	var a *metadatav1.Account
	err := s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		a, err = r.Account()
		return err
	})
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errs.Errorf(errs.NoSuchConfiguration, op, "the account is not initialised")
	}
	return &metadatav1.GetAccountResponse{Account: a}, nil
}

// CreateBucket validates the name and type, stamps the bucket id, time and
// account, and proposes the bucket. Name uniqueness is decided by the state
// machine (case-insensitively).
func (s *Server) CreateBucket(ctx context.Context, req *metadatav1.CreateBucketRequest) (*metadatav1.CreateBucketResponse, error) {
	const op = "metadata.CreateBucket"
	if req.GetBucket() == nil {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket is required")
	}
	b := proto.Clone(req.GetBucket()).(*metadatav1.Bucket)
	if err := validateBucketName(op, b.Name); err != nil {
		return nil, err
	}
	if b.Type == metadatav1.BucketType_BUCKET_TYPE_UNSPECIFIED {
		b.Type = metadatav1.BucketType_BUCKET_TYPE_ALL_PRIVATE
	}
	if err := validBucketType(op, b.Type); err != nil {
		return nil, err
	}
	if err := validateFileLock(op, b.FileLock); err != nil {
		return nil, err
	}
	if err := validateLifecycleRules(op, b.LifecycleRules); err != nil {
		return nil, err
	}
	// The account and the bucket count come from the leader's local state.
	// The count check is not serialised with concurrent creates, so the cap
	// can be overshot by a few racing requests; it is a quota, not an invariant.
	var count int
	err := s.read(ctx, op, true, func(r *fsm.Reader) error {
		count = r.BucketCount()
		if b.AccountId == "" {
			a, err := r.Account()
			b.AccountId = a.GetAccountId()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.cfg.MaxBuckets > 0 && count >= s.cfg.MaxBuckets {
		return nil, errs.Errorf(errs.TooManyBuckets, op, "at most %d buckets are allowed", s.cfg.MaxBuckets).WithBucket(b.Name)
	}
	now := s.now()
	b.BucketId = newBucketID()
	b.CreateTimeUnixNanos = now.UnixNano()
	b.Revision, b.CreateIndex, b.ModifyIndex, b.CorsIndex = 0, 0, 0, 0
	res, err := s.propose(ctx, op, now, req, &fsmv1.Command{Op: &fsmv1.Command_CreateBucket{CreateBucket: &fsmv1.CreateBucket{Bucket: b}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.CreateBucketResponse{Bucket: res.Bucket}, nil
}

// GetBucket returns a bucket by id or by name.
func (s *Server) GetBucket(ctx context.Context, req *metadatav1.GetBucketRequest) (*metadatav1.GetBucketResponse, error) {
	const op = "metadata.GetBucket"
	var b *metadatav1.Bucket
	var ref string
	err := s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		switch sel := req.GetSelector().(type) {
		case *metadatav1.GetBucketRequest_BucketId:
			ref = sel.BucketId
			b, err = r.Bucket(sel.BucketId)
		case *metadatav1.GetBucketRequest_Name:
			ref = sel.Name
			b, err = r.BucketByName(sel.Name)
		default:
			return errs.Errorf(errs.InvalidArgument, op, "bucket_id or name is required")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errs.E(errs.BucketNotFound, op, nil).WithBucket(ref)
	}
	return &metadatav1.GetBucketResponse{Bucket: b}, nil
}

// ListBuckets lists buckets in name order (names compared case-insensitively).
func (s *Server) ListBuckets(ctx context.Context, req *metadatav1.ListBucketsRequest) (*metadatav1.ListBucketsResponse, error) {
	const op = "metadata.ListBuckets"
	limit, err := pageOr(op, req.GetPageSize(), maxBucketPage, maxBucketPage)
	if err != nil {
		return nil, err
	}
	resp := &metadatav1.ListBucketsResponse{}
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		resp.Buckets, resp.NextPageToken, err = r.ListBuckets(req.GetPageToken(), limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// UpdateBucket replaces the settings present in the request; ifRevisionIs
// and file-lock rules are checked by the state machine.
func (s *Server) UpdateBucket(ctx context.Context, req *metadatav1.UpdateBucketRequest) (*metadatav1.UpdateBucketResponse, error) {
	const op = "metadata.UpdateBucket"
	if req.GetBucketId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
	}
	if req.Type == nil && !req.GetSetInfo() && !req.GetSetCorsRules() && !req.GetSetLifecycleRules() &&
		req.DefaultEncryption == nil && req.FileLock == nil {
		return nil, errs.Errorf(errs.InvalidArgument, op, "nothing to update").WithBucket(req.GetBucketId())
	}
	if req.Type != nil {
		if err := validBucketType(op, req.GetType()); err != nil {
			return nil, err
		}
	}
	if err := validateFileLock(op, req.FileLock); err != nil {
		return nil, err
	}
	if err := validateLifecycleRules(op, req.GetLifecycleRules()); err != nil {
		return nil, err
	}
	u := proto.Clone(req).(*metadatav1.UpdateBucketRequest)
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_UpdateBucket{UpdateBucket: &fsmv1.UpdateBucket{Update: u}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.UpdateBucketResponse{Bucket: res.Bucket}, nil
}

// DeleteBucket deletes a bucket with no versions and no unfinished uploads.
func (s *Server) DeleteBucket(ctx context.Context, req *metadatav1.DeleteBucketRequest) (*metadatav1.DeleteBucketResponse, error) {
	const op = "metadata.DeleteBucket"
	if req.GetBucketId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "bucket_id is required")
	}
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_DeleteBucket{DeleteBucket: &fsmv1.DeleteBucket{BucketId: req.GetBucketId()}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.DeleteBucketResponse{Bucket: res.Bucket}, nil
}

// CreateKey stores an application key as given (authd chose the id and
// encrypted the secret); the creation time is stamped here.
func (s *Server) CreateKey(ctx context.Context, req *metadatav1.CreateKeyRequest) (*metadatav1.CreateKeyResponse, error) {
	const op = "metadata.CreateKey"
	if req.GetKey() == nil {
		return nil, errs.Errorf(errs.InvalidArgument, op, "key is required")
	}
	if err := validateID(op, "key id", req.GetKey().GetKeyId()); err != nil {
		return nil, err
	}
	now := s.now()
	k := proto.Clone(req.GetKey()).(*metadatav1.ApplicationKey)
	k.CreateTimeUnixNanos = now.UnixNano()
	k.CreateIndex = 0
	res, err := s.propose(ctx, op, now, req, &fsmv1.Command{Op: &fsmv1.Command_CreateKey{CreateKey: &fsmv1.CreateKey{Key: k}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.CreateKeyResponse{Key: res.Key}, nil
}

// GetKey returns an application key by id.
func (s *Server) GetKey(ctx context.Context, req *metadatav1.GetKeyRequest) (*metadatav1.GetKeyResponse, error) {
	const op = "metadata.GetKey"
	var k *metadatav1.ApplicationKey
	err := s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		k, err = r.Key(req.GetKeyId())
		return err
	})
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, errs.Errorf(errs.KeyNotFound, op, "no key %s", req.GetKeyId())
	}
	return &metadatav1.GetKeyResponse{Key: k}, nil
}

// ListKeys lists application keys in key-id order from start_key_id (inclusive).
func (s *Server) ListKeys(ctx context.Context, req *metadatav1.ListKeysRequest) (*metadatav1.ListKeysResponse, error) {
	const op = "metadata.ListKeys"
	limit, err := pageOr(op, req.GetPageSize(), defaultKeyPage, maxKeyPage)
	if err != nil {
		return nil, err
	}
	resp := &metadatav1.ListKeysResponse{}
	err = s.read(ctx, op, req.GetStaleOk(), func(r *fsm.Reader) (err error) {
		resp.Keys, resp.NextKeyId, err = r.ListKeys(req.GetStartKeyId(), limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// DeleteKey deletes an application key and returns it.
func (s *Server) DeleteKey(ctx context.Context, req *metadatav1.DeleteKeyRequest) (*metadatav1.DeleteKeyResponse, error) {
	const op = "metadata.DeleteKey"
	if req.GetKeyId() == "" {
		return nil, errs.Errorf(errs.InvalidArgument, op, "key_id is required")
	}
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_DeleteKey{DeleteKey: &fsmv1.DeleteKey{KeyId: req.GetKeyId()}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.DeleteKeyResponse{Key: res.Key}, nil
}
