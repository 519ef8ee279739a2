package objects

import (
	"unicode"
	"unicode/utf8"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Object tags: S3's rules, checked here so that every front-end answers a
// bad tag set before anything is written (metadata checks them again).

// Tag limits (S3: at most 10 tags per object; a key of 1–128 and a value of
// at most 256 Unicode characters).
const (
	MaxTags          = 10
	MaxTagKeyChars   = 128
	MaxTagValueChars = 256
)

// TagError builds a tag refusal in S3's terms: s3Code is the S3 error code
// (InvalidTag, BadRequest), and the tag's key and value, when given, become
// the <TagKey> and <TagValue> S3 returns with InvalidTag.
func TagError(s3Code, msg, key, value string) *errs.Error {
	e := errs.Errorf(errs.InvalidArgument, "objects.Tags", "%s", msg).WithDetail("s3_code", s3Code)
	if key != "" {
		e.WithDetail("tag_key", key)
	}
	if value != "" {
		e.WithDetail("tag_value", value)
	}
	return e
}

// ValidateTags checks a tag set: at most MaxTags tags, each key of 1–128
// and each value of at most 256 characters of valid UTF-8 made of letters,
// numbers, spaces and _ . : / = + - @, and no key twice.
func ValidateTags(tags []*metadatav1.Tag) error {
	if len(tags) > MaxTags {
		return TagError("BadRequest", "Object tags cannot be greater than 10", "", "")
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		k, v := t.GetKey(), t.GetValue()
		if n := utf8.RuneCountInString(k); n == 0 || n > MaxTagKeyChars || !tagText(k) {
			return TagError("InvalidTag", "The TagKey you have provided is invalid", k, "")
		}
		if utf8.RuneCountInString(v) > MaxTagValueChars || !tagText(v) {
			return TagError("InvalidTag", "The TagValue you have provided is invalid", k, v)
		}
		if seen[k] {
			return TagError("InvalidTag", "Cannot provide multiple Tags with the same key", k, "")
		}
		seen[k] = true
	}
	return nil
}

// tagText reports whether s is valid UTF-8 made only of characters a tag
// may hold.
func tagText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsNumber(r), unicode.In(r, unicode.Z):
		case r == '_', r == '.', r == ':', r == '/', r == '=', r == '+', r == '-', r == '@':
		default:
			return false
		}
	}
	return true
}
