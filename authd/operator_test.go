package authd_test

import (
	"testing"

	"github.com/coffer-project/coffer/authd/policy"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// TestKeyManagementNeedsAKeyThatMay: creating, listing and deleting keys
// take the caller's account token, and its key must hold the capability;
// reaching authd's port is not enough (issue 14: anything that reached it
// could mint a key that reads every bucket). VerifyOperator admits only an
// unrestricted key with writeKeys.
func TestKeyManagementNeedsAKeyThatMay(t *testing.T) {
	f := newFixture(t)
	c := f.auth.client
	wantKind(t, err2(c.CreateKey(ctx(t), &authv1.CreateKeyRequest{Name: "mint", Capabilities: []string{policy.ReadFiles}})), errs.Unauthenticated)
	wantKind(t, err2(c.CreateKey(ctx(t), &authv1.CreateKeyRequest{Name: "mint", Capabilities: []string{policy.ReadFiles}, AccountToken: "c1_forged"})), errs.Unauthenticated)
	wantKind(t, err2(c.ListKeys(ctx(t), &authv1.ListKeysRequest{})), errs.Unauthenticated)
	wantKind(t, err2(c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{KeyId: adminID})), errs.Unauthenticated)
	wantKind(t, err2(c.VerifyOperator(ctx(t), &authv1.VerifyOperatorRequest{})), errs.Unauthenticated)

	// A key without the capabilities.
	readerID, readerSecret := f.createKey(t, &authv1.CreateKeyRequest{Name: "reader", Capabilities: []string{policy.ReadFiles, policy.ListBuckets}})
	reader := f.authorize(t, readerID, readerSecret).AuthorizationToken
	wantKind(t, err2(c.CreateKey(ctx(t), &authv1.CreateKeyRequest{Name: "mint", Capabilities: []string{policy.ReadFiles}, AccountToken: reader})), errs.PermissionDenied)
	wantKind(t, err2(c.ListKeys(ctx(t), &authv1.ListKeysRequest{AccountToken: reader})), errs.PermissionDenied)
	wantKind(t, err2(c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{KeyId: readerID, AccountToken: reader})), errs.PermissionDenied)
	wantKind(t, err2(c.VerifyOperator(ctx(t), &authv1.VerifyOperatorRequest{AccountToken: reader})), errs.PermissionDenied)
	// An upload token is not an account token.
	up, err := c.CreateUploadToken(ctx(t), &authv1.CreateUploadTokenRequest{AccountToken: adminToken(t, c), Target: "0123456789abcdef01234567"})
	if err == nil {
		wantKind(t, err2(c.CreateKey(ctx(t), &authv1.CreateKeyRequest{Name: "mint", Capabilities: []string{policy.ReadFiles}, AccountToken: up.AuthorizationToken})), errs.Unauthenticated)
	}

	// A key with writeKeys mints; it is an operator.
	minterID, minterSecret := f.createKey(t, &authv1.CreateKeyRequest{Name: "minter", Capabilities: []string{policy.WriteKeys}})
	minter := f.authorize(t, minterID, minterSecret).AuthorizationToken
	if _, err := c.CreateKey(ctx(t), &authv1.CreateKeyRequest{Name: "minted", Capabilities: []string{policy.ReadFiles}, AccountToken: minter}); err != nil {
		t.Fatalf("CreateKey with writeKeys: %v", err)
	}
	op, err := c.VerifyOperator(ctx(t), &authv1.VerifyOperatorRequest{AccountToken: minter})
	if err != nil || op.Principal.KeyId != minterID {
		t.Fatalf("VerifyOperator of a writeKeys key: %v %v", op, err)
	}
	// Deleting the key stops its token at once.
	if _, err := c.DeleteKey(ctx(t), &authv1.DeleteKeyRequest{KeyId: minterID, AccountToken: adminToken(t, c)}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, err2(c.VerifyOperator(ctx(t), &authv1.VerifyOperatorRequest{AccountToken: minter})), errs.Unauthenticated)
}
