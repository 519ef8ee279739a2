package s3

import (
	"crypto/sha256"
	"hash"

	md5simd "github.com/minio/md5-simd"
)

// stdHasher adapts crypto/sha256 to minio-go's md5simd.Hasher interface.
type stdHasher struct{ hash.Hash }

func (stdHasher) Close() {}

func sha256Hasher() md5simd.Hasher { return stdHasher{sha256.New()} }
