package authd

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Data keys protect object bytes at rest (SSE-B2). The gateway asks for a
// fresh key per blob, encrypts with it, and stores only the wrapped form next
// to the ciphertext; to read, it sends the wrapped form back. The cluster key
// never leaves authd, so blobstore disks, the Raft log and a gateway's
// memory between requests hold nothing that decrypts an object by itself.
const (
	// dataKeyLabel derives the wrapping key from the KEK. It is independent
	// of the key that seals application secrets and of the token MAC key,
	// so no wrapped data key can be confused with either.
	dataKeyLabel = "coffer sse data key wrap v1"
	// DataKeySize is the length of a data key (AES-256).
	DataKeySize = 32
	// maxDataKeyContext bounds the context string.
	maxDataKeyContext = 256
	// wrappedFormat starts every wrapped key: a format byte, so a later
	// format can be told apart.
	wrappedFormat byte = 1
)

// dataKeyWrapper seals and opens data keys: format ‖ nonce ‖ AES-256-GCM
// (key), AAD = "coffer data key\x00" ‖ context.
type dataKeyWrapper struct {
	aead    cipher.AEAD
	version uint32
}

func newDataKeyWrapper(key []byte, version uint32) (dataKeyWrapper, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return dataKeyWrapper{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return dataKeyWrapper{}, err
	}
	return dataKeyWrapper{aead: aead, version: version}, nil
}

func dataKeyAAD(context string) []byte { return append([]byte("coffer data key\x00"), context...) }

func (w dataKeyWrapper) wrap(context string, key []byte) []byte {
	n := w.aead.NonceSize()
	out := make([]byte, 1+n, 1+n+len(key)+w.aead.Overhead())
	out[0] = wrappedFormat
	mustRead(out[1:])
	return w.aead.Seal(out, out[1:1+n], key, dataKeyAAD(context))
}

func (w dataKeyWrapper) unwrap(context string, version uint32, wrapped []byte) ([]byte, error) {
	if version != w.version {
		return nil, fmt.Errorf("the data key was wrapped under key-encryption key %d, this authd holds %d", version, w.version)
	}
	n := w.aead.NonceSize()
	if len(wrapped) < 1+n+w.aead.Overhead() || wrapped[0] != wrappedFormat {
		return nil, fmt.Errorf("the wrapped data key is malformed")
	}
	key, err := w.aead.Open(nil, wrapped[1:1+n], wrapped[1+n:], dataKeyAAD(context))
	if err != nil {
		return nil, fmt.Errorf("the wrapped data key does not open (wrong context or tampered)")
	}
	return key, nil
}

func validContext(op, context string) error {
	if context == "" || len(context) > maxDataKeyContext {
		return errs.Errorf(errs.InvalidArgument, op, "the data key context must be 1-%d bytes", maxDataKeyContext)
	}
	return nil
}

// GenerateDataKey returns a fresh random data key and its wrapped form.
// Neither is logged; the plaintext key exists only in this response.
func (s *Server) GenerateDataKey(ctx context.Context, req *authv1.GenerateDataKeyRequest) (*authv1.GenerateDataKeyResponse, error) {
	const op = "authd.GenerateDataKey"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	if err := validContext(op, req.GetContext()); err != nil {
		return nil, err
	}
	key := make([]byte, DataKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, errs.E(errs.Internal, op, err)
	}
	return &authv1.GenerateDataKeyResponse{
		DataKey: key, WrappedKey: st.dataKeys.wrap(req.GetContext(), key), KekVersion: st.dataKeys.version,
	}, nil
}

// UnwrapDataKey opens a wrapped data key. A key wrapped under another KEK,
// for another context, or altered, is DataLoss: the stored bytes cannot be
// decrypted by this cluster.
func (s *Server) UnwrapDataKey(ctx context.Context, req *authv1.UnwrapDataKeyRequest) (*authv1.UnwrapDataKeyResponse, error) {
	const op = "authd.UnwrapDataKey"
	st, err := s.started(op)
	if err != nil {
		return nil, err
	}
	if err := validContext(op, req.GetContext()); err != nil {
		return nil, err
	}
	key, err := st.dataKeys.unwrap(req.GetContext(), req.GetKekVersion(), req.GetWrappedKey())
	if err != nil {
		s.log.Error("cannot unwrap a data key", "context", req.GetContext(), "err", err)
		return nil, errs.E(errs.DataLoss, op, err)
	}
	return &authv1.UnwrapDataKeyResponse{DataKey: key}, nil
}
