package authd_test

import (
	"bytes"
	"testing"

	"github.com/coffer-project/coffer/authd"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// A data key round-trips through its wrapped form for the same context
// only; a flipped bit, another context or another KEK version is DataLoss;
// two keys are never equal and the wrapped form never contains the key.
func TestDataKeys(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	gen, err := c.GenerateDataKey(ctx(t), &authv1.GenerateDataKeyRequest{Context: "blob-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.DataKey) != authd.DataKeySize || len(gen.WrappedKey) < authd.DataKeySize || gen.KekVersion == 0 {
		t.Fatalf("key %d bytes, wrapped %d bytes, kek version %d", len(gen.DataKey), len(gen.WrappedKey), gen.KekVersion)
	}
	if bytes.Contains(gen.WrappedKey, gen.DataKey) {
		t.Fatal("the wrapped form contains the key")
	}
	again, err := c.GenerateDataKey(ctx(t), &authv1.GenerateDataKeyRequest{Context: "blob-1"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again.DataKey, gen.DataKey) || bytes.Equal(again.WrappedKey, gen.WrappedKey) {
		t.Fatal("two data keys are equal")
	}
	got, err := c.UnwrapDataKey(ctx(t), &authv1.UnwrapDataKeyRequest{Context: "blob-1", WrappedKey: gen.WrappedKey, KekVersion: gen.KekVersion})
	if err != nil || !bytes.Equal(got.DataKey, gen.DataKey) {
		t.Fatalf("unwrap: %v", err)
	}
	_, err = c.UnwrapDataKey(ctx(t), &authv1.UnwrapDataKeyRequest{Context: "blob-2", WrappedKey: gen.WrappedKey, KekVersion: gen.KekVersion})
	wantKind(t, err, errs.DataLoss)
	tampered := bytes.Clone(gen.WrappedKey)
	tampered[len(tampered)-1] ^= 1
	_, err = c.UnwrapDataKey(ctx(t), &authv1.UnwrapDataKeyRequest{Context: "blob-1", WrappedKey: tampered, KekVersion: gen.KekVersion})
	wantKind(t, err, errs.DataLoss)
	_, err = c.UnwrapDataKey(ctx(t), &authv1.UnwrapDataKeyRequest{Context: "blob-1", WrappedKey: gen.WrappedKey, KekVersion: gen.KekVersion + 1})
	wantKind(t, err, errs.DataLoss)
	_, err = c.UnwrapDataKey(ctx(t), &authv1.UnwrapDataKeyRequest{Context: "blob-1", WrappedKey: gen.WrappedKey[:5], KekVersion: gen.KekVersion})
	wantKind(t, err, errs.DataLoss)
	_, err = c.GenerateDataKey(ctx(t), &authv1.GenerateDataKeyRequest{})
	wantKind(t, err, errs.InvalidArgument)
	_, err = c.UnwrapDataKey(ctx(t), &authv1.UnwrapDataKeyRequest{Context: string(make([]byte, 300)), WrappedKey: gen.WrappedKey})
	wantKind(t, err, errs.InvalidArgument)
}
