package metadata

import (
	"context"
	"unicode"

	"github.com/coffer-project/coffer/metadata/fsm"
	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Object tags (S3 object tagging; fsm/tags.go has the state rules).

// UpdateObjectTags replaces a version's tags; an empty list removes them.
// Without a version id the key's newest version is tagged, as the state
// machine finds it when the command applies, so a tag never lands on a
// version that a concurrent write has already replaced as "newest" by the
// time the caller asked. Refusals: VersionNotFound, ObjectNotFound (with
// the delete-marker details when the newest version is a hide marker),
// MethodNotAllowed (a hide marker by id), InvalidArgument (tags).
func (s *Server) UpdateObjectTags(ctx context.Context, req *metadatav1.UpdateObjectTagsRequest) (*metadatav1.UpdateObjectTagsResponse, error) {
	const op = "metadata.UpdateObjectTags"
	bucketID, err := bucketFor(op, req.GetBucketId(), req.GetVersionId())
	if err != nil {
		return nil, err
	}
	if req.GetVersionId() == "" || req.GetKey() != "" {
		if err := validateKey(op, bucketID, req.GetKey()); err != nil {
			return nil, err
		}
	}
	if err := validateTags(op, req.GetTags()); err != nil {
		return nil, err
	}
	res, err := s.propose(ctx, op, s.now(), req, &fsmv1.Command{Op: &fsmv1.Command_UpdateObjectTags{UpdateObjectTags: &fsmv1.UpdateObjectTags{
		BucketId: bucketID, Key: req.GetKey(), VersionId: req.GetVersionId(), Tags: req.GetTags(),
	}}})
	if err != nil {
		return nil, err
	}
	return &metadatav1.UpdateObjectTagsResponse{Version: res.Version}, nil
}

// validateTags applies S3's tag rules: the limits the state machine also
// enforces (at most 10 tags, keys of 1–128 characters, values of at most
// 256, no key twice) and the characters S3 allows in keys and values:
// letters, numbers, spaces and _ . : / = + - @. The front-ends check the
// same rules first, to answer with their dialect's exact errors.
func validateTags(op string, tags []*metadatav1.Tag) error {
	if len(tags) > fsm.MaxTags {
		return errs.Errorf(errs.InvalidArgument, op, "%d tags; at most %d are allowed", len(tags), fsm.MaxTags).WithDetail("s3_code", "BadRequest")
	}
	for _, t := range tags {
		if !tagText(t.GetKey()) || !tagText(t.GetValue()) {
			return errs.Errorf(errs.InvalidArgument, op, "the tag %q holds a character tags may not contain", t.GetKey()).WithDetail("s3_code", "InvalidTag")
		}
	}
	if e := fsm.CheckTags(op, tags); e != nil {
		return e.WithDetail("s3_code", "InvalidTag")
	}
	return nil
}

// tagText reports whether every character of s may appear in a tag.
func tagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.In(r, unicode.Z) && !isTagPunct(r) {
			return false
		}
	}
	return true
}

func isTagPunct(r rune) bool {
	switch r {
	case '_', '.', ':', '/', '=', '+', '-', '@':
		return true
	}
	return false
}
