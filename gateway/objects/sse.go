package objects

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"

	"google.golang.org/grpc"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Server-side encryption at rest (spec/s3.md §6.6).
//
// Every encrypted blob is self-describing: a fixed 128-byte header, then the
// plaintext cut into packages of 64 KiB, each sealed with AES-256-GCM (16-byte
// tag). The header says the mode, carries a random per-blob salt and, for
// SSE-B2, the blob's data key wrapped by authd under the cluster key. Each
// package's nonce is its index plus a "final" flag, and the whole header is
// the associated data of every package, so packages cannot be reordered,
// truncated or moved between blobs, and a change to the header fails every
// package. A range read fetches the header and only the packages the range
// touches.
//
// Keys: SSE-B2 asks authd for a fresh data key per blob (GenerateDataKey,
// context = the blob id) and stores only the wrapped form, in the header;
// reading asks authd to unwrap it. SSE-C derives the blob's key from the
// customer key and the salt; the customer key is never stored — metadata
// keeps only its MD5, to tell a wrong key from a right one. In both modes the
// AES key of a blob is HMAC-SHA256(root, label ‖ salt), unique per blob, so a
// nonce never repeats under one key even when a part is uploaded twice.

// Format constants of an encrypted blob.
const (
	// SealPackageSize is the plaintext size of one package.
	SealPackageSize = 64 << 10
	// SealTagSize is the AES-GCM tag added to each package.
	SealTagSize = 16
	// SealHeaderSize is the fixed size of the blob header.
	SealHeaderSize = 128

	sealMagic              = "CFSE"
	sealFormat        byte = 1
	saltSize               = 32
	maxWrappedKeySize      = SealHeaderSize - 50
)

// CustomerKeySize is the length of an SSE-C key (AES-256).
const CustomerKeySize = 32

// DataKeys is what the layer needs from authd for SSE-B2;
// authv1.AuthServiceClient implements it. Safe for concurrent use.
type DataKeys interface {
	GenerateDataKey(ctx context.Context, in *authv1.GenerateDataKeyRequest, opts ...grpc.CallOption) (*authv1.GenerateDataKeyResponse, error)
	UnwrapDataKey(ctx context.Context, in *authv1.UnwrapDataKeyRequest, opts ...grpc.CallOption) (*authv1.UnwrapDataKeyResponse, error)
}

// Encryption says how one write is encrypted at rest, or what a read of an
// encrypted version brings to decrypt it. The zero value is "not encrypted".
type Encryption struct {
	// Mode is ENCRYPTION_MODE_SSE_B2, ENCRYPTION_MODE_SSE_C, or anything
	// else for none.
	Mode metadatav1.EncryptionMode
	// CustomerKey is the 32-byte SSE-C key; it is never stored or logged.
	CustomerKey []byte
}

// Encrypted reports whether e encrypts.
func (e Encryption) Encrypted() bool {
	return e.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 || e.Mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C
}

// Metadata is what a version stores about e: the mode, "AES256" and, for
// SSE-C, the base64 MD5 of the key. It is nil when e does not encrypt.
func (e Encryption) Metadata() *metadatav1.ServerSideEncryption {
	switch e.Mode {
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2:
		return &metadatav1.ServerSideEncryption{Mode: e.Mode, Algorithm: "AES256"}
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C:
		return &metadatav1.ServerSideEncryption{Mode: e.Mode, Algorithm: "AES256", CustomerKeyMd5: KeyMD5(e.CustomerKey)}
	}
	return nil
}

// KeyMD5 is the base64 MD5 of a customer key, the only trace of it we keep.
func KeyMD5(key []byte) string {
	sum := md5.Sum(key)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// NewCustomerKey validates an SSE-C triple as S3 and B2 send it (algorithm,
// base64 key, base64 MD5 of the key) and returns the encryption it asks for.
// The MD5 is optional on B2 and required on S3; pass requireMD5 accordingly.
func NewCustomerKey(algorithm, keyB64, keyMD5B64 string, requireMD5 bool) (Encryption, error) {
	const op = "objects.CustomerKey"
	if algorithm != "AES256" {
		return Encryption{}, errs.Errorf(errs.InvalidArgument, op, "The requested encryption algorithm is not valid, must be AES256.").
			WithDetail("argument_name", "x-amz-server-side-encryption-customer-algorithm")
	}
	key, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil || len(key) != CustomerKeySize {
		return Encryption{}, errs.Errorf(errs.InvalidArgument, op, "The secret key was invalid for the specified algorithm.").
			WithDetail("argument_name", "x-amz-server-side-encryption-customer-key")
	}
	if keyMD5B64 == "" && requireMD5 {
		return Encryption{}, errs.Errorf(errs.InvalidArgument, op, "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.")
	}
	if keyMD5B64 != "" && subtle.ConstantTimeCompare([]byte(KeyMD5(key)), []byte(keyMD5B64)) != 1 {
		return Encryption{}, errs.Errorf(errs.InvalidArgument, op, "The calculated MD5 hash of the key did not match the hash that was provided.")
	}
	return Encryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C, CustomerKey: key}, nil
}

// ResolveEncryption decides how a new version (or upload) in bucket b is
// encrypted: as requested, or — when the request names no encryption — as
// the bucket's default (NONE counts as unspecified). It fails when SSE-B2 is asked of a layer without
// data keys.
func (l *Layer) ResolveEncryption(b *metadatav1.Bucket, requested Encryption) (Encryption, error) {
	const op = "objects.ResolveEncryption"
	e := requested
	// Neither S3 nor B2 can ask for "no encryption" explicitly, so NONE
	// and unspecified both take the bucket's default.
	if !e.Encrypted() && b.GetDefaultEncryption().GetMode() == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2 {
		e = Encryption{Mode: metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2}
	}
	switch e.Mode {
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_B2:
		if l.dataKeys == nil {
			return e, errs.Errorf(errs.Unimplemented, op, "Server-side encryption is not configured on this gateway.")
		}
		e.CustomerKey = nil
	case metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C:
		if len(e.CustomerKey) != CustomerKeySize {
			return e, errs.Errorf(errs.InvalidArgument, op, "The secret key was invalid for the specified algorithm.")
		}
	default:
		e = Encryption{}
	}
	return e, nil
}

// CheckReadKey checks what a read brings against how the version is
// stored: an SSE-C version needs its key (InvalidRequest without one,
// PermissionDenied with another); a version not stored with SSE-C takes no
// customer key (InvalidRequest), as on S3.
func CheckReadKey(stored *metadatav1.ServerSideEncryption, e Encryption) error {
	const op = "objects.CheckReadKey"
	sseC := stored.GetMode() == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C
	switch {
	case sseC && len(e.CustomerKey) == 0:
		return errs.Errorf(errs.InvalidRequest, op,
			"The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
	case sseC && subtle.ConstantTimeCompare([]byte(KeyMD5(e.CustomerKey)), []byte(stored.GetCustomerKeyMd5())) != 1:
		return errs.Errorf(errs.PermissionDenied, op, "The provided customer key does not match the key the object was encrypted with.")
	case !sseC && len(e.CustomerKey) > 0:
		return errs.Errorf(errs.InvalidRequest, op, "The encryption parameters are not applicable to this object.")
	}
	return nil
}

// SealedSize is the blob size of an encrypted segment of plain bytes.
func SealedSize(plain int64) int64 {
	return SealHeaderSize + plain + packages(plain)*SealTagSize
}

// packages is the number of packages of a segment; an empty one has one
// empty package, so that even emptiness is authenticated.
func packages(plain int64) int64 {
	return max(1, (plain+SealPackageSize-1)/SealPackageSize)
}

// sealHeader is the header of an encrypted blob:
//
//	0:4   "CFSE"            4     format (1)
//	5     mode (the EncryptionMode number)   6:8 zero
//	8:12  package size      12:16 KEK version (SSE-B2) or 0
//	16:48 salt              48:50 wrapped key length n
//	50:50+n wrapped key (SSE-B2)   rest zero
type sealHeader struct {
	mode       metadatav1.EncryptionMode
	kekVersion uint32
	salt       [saltSize]byte
	wrapped    []byte
}

func (h sealHeader) marshal() []byte {
	b := make([]byte, SealHeaderSize)
	copy(b, sealMagic)
	b[4] = sealFormat
	b[5] = byte(h.mode)
	binary.BigEndian.PutUint32(b[8:], SealPackageSize)
	binary.BigEndian.PutUint32(b[12:], h.kekVersion)
	copy(b[16:48], h.salt[:])
	binary.BigEndian.PutUint16(b[48:], uint16(len(h.wrapped)))
	copy(b[50:], h.wrapped)
	return b
}

func parseSealHeader(b []byte) (sealHeader, error) {
	var h sealHeader
	bad := func(why string) error {
		return errs.Errorf(errs.DataLoss, "objects.sealHeader", "encrypted blob header: %s", why)
	}
	if len(b) != SealHeaderSize || string(b[:4]) != sealMagic {
		return h, bad("bad magic")
	}
	if b[4] != sealFormat {
		return h, bad("unknown format")
	}
	if binary.BigEndian.Uint32(b[8:]) != SealPackageSize {
		return h, bad("unexpected package size")
	}
	h.mode = metadatav1.EncryptionMode(b[5])
	h.kekVersion = binary.BigEndian.Uint32(b[12:])
	copy(h.salt[:], b[16:48])
	n := int(binary.BigEndian.Uint16(b[48:]))
	if n > maxWrappedKeySize {
		return h, bad("wrapped key too long")
	}
	h.wrapped = append([]byte(nil), b[50:50+n]...)
	return h, nil
}

// blobKey derives a blob's AES-256 key from the root (the unwrapped data
// key, or the customer key) and the blob's salt.
func blobKey(mode metadatav1.EncryptionMode, root []byte, salt []byte) []byte {
	m := hmac.New(sha256.New, root)
	if mode == metadatav1.EncryptionMode_ENCRYPTION_MODE_SSE_C {
		m.Write([]byte("coffer sse-c blob key v1\x00"))
	} else {
		m.Write([]byte("coffer sse-b2 blob key v1\x00"))
	}
	m.Write(salt)
	return m.Sum(nil)
}

// packageNonce is package i's nonce: the index and whether it is the last.
func packageNonce(i int64, final bool) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[:8], uint64(i))
	if final {
		n[11] = 1
	}
	return n[:]
}
