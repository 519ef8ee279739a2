package objects

import (
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/coffer-project/coffer/services/errs"
)

// ValidateKey applies the object key rules shared by every dialect: 1–1024
// bytes of valid UTF-8 without control characters or DEL
// (spec/reliability.md §3.10). "..", "." and "//" are ordinary characters.
func ValidateKey(key string) error {
	const op = "objects.ValidateKey"
	if key == "" {
		return errs.Errorf(errs.InvalidKeyName, op, "Object keys must not be empty.")
	}
	if err := ValidateKeyLength(key); err != nil {
		return err
	}
	if !utf8.ValidString(key) {
		return errs.Errorf(errs.InvalidKeyName, op, "Object keys must be valid UTF-8.")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return errs.Errorf(errs.InvalidKeyName, op, "Object keys must not contain control characters.")
		}
	}
	return nil
}

// MaxKeyLength is the longest object key, in bytes.
const MaxKeyLength = 1024

// ValidateKeyLength refuses a key longer than MaxKeyLength: the one key
// rule that reads and deletes apply too (S3 answers KeyTooLongError on
// every operation, where a key that breaks another rule is just not found).
func ValidateKeyLength(key string) error {
	if len(key) > MaxKeyLength {
		return errs.Errorf(errs.KeyTooLong, "objects.ValidateKey", "Your key is too long.").WithKey(key[:64]+"…").
			WithDetail("size", strconv.Itoa(len(key))).WithDetail("max_size_allowed", strconv.Itoa(MaxKeyLength))
	}
	return nil
}

// reservedBucketNames collide with the gateway's own path prefixes
// (/client/v4/ is the R2-style API).
var reservedBucketNames = map[string]bool{"client": true}

// ValidateBucketName applies the bucket naming rules of the S3 and R2
// dialects: S3's rules intersected with B2's (spec/s3.md §7, spec/r2.md §1): 6–63 characters of lowercase letters, digits and
// '-', starting and ending with a letter or digit, none of S3's reserved
// prefixes or suffixes, not starting with "b2-". ('.' is legal on S3 but not
// on B2, so the intersection excludes it.)
func ValidateBucketName(name string) error {
	bad := func(why string) error {
		return errs.Errorf(errs.InvalidBucketName, "objects.ValidateBucketName", "The specified bucket is not valid: %s.", why).WithBucket(name)
	}
	if len(name) < 6 || len(name) > 63 {
		return bad("bucket names must be 6 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return bad("only lowercase letters, digits and '-' are allowed")
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return bad("bucket names must start and end with a letter or digit")
	}
	if reservedBucketNames[name] {
		return bad("the name " + name + " is reserved")
	}
	if net.ParseIP(name) != nil {
		return bad("bucket names must not be IP addresses")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-", "b2-"} {
		if strings.HasPrefix(name, p) {
			return bad("the prefix " + p + " is reserved")
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad("the suffix " + s + " is reserved")
		}
	}
	return nil
}
