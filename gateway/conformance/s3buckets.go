package conformance

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Bucket settings: versioning, canned ACLs (bucket and object), default
// encryption, Object Lock configuration, lifecycle and CORS.

func testVersioning(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "versioning")
	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &b})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning %q, %v", v.Status, err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("enable: %v", err)
	}
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	WantError(t, err, "InvalidArgument", 400)
	locked := newLockedBucket(t, c, "versioning-lock")
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &locked,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	WantError(t, err, "InvalidBucketState", 409)
	v, err = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &locked})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("lock bucket versioning %q, %v", v.Status, err)
	}
}

// anonymousGet fetches a path without credentials.
func anonymousGet(t *testing.T, tg Target, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(tg.Endpoint + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func hasAllUsersRead(grants []types.Grant) bool {
	return slices.ContainsFunc(grants, func(g types.Grant) bool {
		return g.Grantee != nil && aws.ToString(g.Grantee.URI) == "http://acs.amazonaws.com/groups/global/AllUsers" && g.Permission == types.PermissionRead
	})
}

func testACLs(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := BucketName("acl")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b, ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { EmptyBucket(context.Background(), t, c, b) })
	put(t, c, b, "pub", "public bytes")
	acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: &b})
	if err != nil || !hasAllUsersRead(acl.Grants) || acl.Owner == nil || aws.ToString(acl.Owner.ID) == "" {
		t.Fatalf("public bucket ACL: %+v %v", acl, err)
	}
	if status, body := anonymousGet(t, tg, "/"+b+"/pub"); status != 200 || body != "public bytes" {
		t.Fatalf("anonymous GET of a public object: %d %q", status, body)
	}
	if status, _ := anonymousGet(t, tg, "/"+b+"?list-type=2"); status != 403 {
		t.Fatalf("anonymous listing of a public bucket: %d", status)
	}
	req, _ := http.NewRequest(http.MethodPut, tg.Endpoint+"/"+b+"/anon", strings.NewReader("x"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("anonymous PUT to a public bucket: %d", resp.StatusCode)
	}
	// Object ACLs inherit the bucket's; another one is refused with 403.
	oacl, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("pub")})
	if err != nil || !hasAllUsersRead(oacl.Grants) {
		t.Fatalf("object ACL: %+v %v", oacl, err)
	}
	if _, err := c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: &b, Key: aws.String("pub"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatalf("object ACL equal to the bucket's: %v", err)
	}
	_, err = c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: &b, Key: aws.String("pub"), ACL: types.ObjectCannedACLPrivate})
	WantError(t, err, "AccessDenied", 403)
	_, err = c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("missing")})
	WantError(t, err, "NoSuchKey", 404)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("x"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPrivate})
	WantError(t, err, "AccessDenied", 403)
	// The bucket becomes private, then public again through an
	// AccessControlPolicy body.
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: &b, ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if status, _ := anonymousGet(t, tg, "/"+b+"/pub"); status != 403 {
		t.Fatalf("anonymous GET after private: %d", status)
	}
	acl, err = c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: &b})
	if err != nil || hasAllUsersRead(acl.Grants) {
		t.Fatalf("private ACL: %+v %v", acl.Grants, err)
	}
	policy := &types.AccessControlPolicy{Owner: acl.Owner, Grants: append(acl.Grants, types.Grant{
		Grantee:    &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")},
		Permission: types.PermissionRead,
	})}
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: &b, AccessControlPolicy: policy}); err != nil {
		t.Fatalf("put ACL policy: %v", err)
	}
	if status, _ := anonymousGet(t, tg, "/"+b+"/pub"); status != 200 {
		t.Fatalf("anonymous GET after public-read policy: %d", status)
	}
	_, err = c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: &b, ACL: types.BucketCannedACLPublicReadWrite})
	WantError(t, err, "InvalidArgument", 400)
	_, err = c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: &b, AccessControlPolicy: &types.AccessControlPolicy{Owner: acl.Owner, Grants: []types.Grant{{
		Grantee:    &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")},
		Permission: types.PermissionWrite,
	}}}})
	WantError(t, err, "NotImplemented", 501)
}

func testBucketEncryption(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "bucket-sse")
	_, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: &b})
	WantError(t, err, "ServerSideEncryptionConfigurationNotFoundError", 404)
	rule := types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}
	if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: &b,
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{rule}}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: &b})
	if err != nil || len(got.ServerSideEncryptionConfiguration.Rules) != 1 ||
		got.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
		t.Fatalf("get encryption: %+v %v", got, err)
	}
	// New objects take the default.
	p := put(t, c, b, "by-default", "encrypted by default")
	if p.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Fatalf("put under a default: SSE %q", p.ServerSideEncryption)
	}
	out, body := getBody(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("by-default")})
	if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || string(body) != "encrypted by default" {
		t.Fatalf("get under a default: SSE %q body %q", out.ServerSideEncryption, body)
	}
	kms := types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms}}
	_, err = c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: &b,
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{kms}}})
	WantError(t, err, "NotImplemented", 501)
	if _, err := c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: &b})
	WantError(t, err, "ServerSideEncryptionConfigurationNotFoundError", 404)
	if p := put(t, c, b, "after-delete", "plain"); p.ServerSideEncryption != "" {
		t.Fatalf("put after the default was deleted: SSE %q", p.ServerSideEncryption)
	}
}

// newLockedBucket creates a bucket with Object Lock enabled. Its cleanup
// bypasses governance retention; compliance-locked versions stay.
func newLockedBucket(t *testing.T, c *s3.Client, prefix string) string {
	t.Helper()
	ctx := context.Background()
	b := BucketName(prefix)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatalf("create locked bucket: %v", err)
	}
	t.Cleanup(func() { emptyLockedBucket(t, c, b) })
	return b
}

func testObjectLockConfiguration(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	plain := newBucket(t, c, "lockcfg-plain")
	_, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &plain})
	WantError(t, err, "ObjectLockConfigurationNotFoundError", 404)
	b := newLockedBucket(t, c, "lockcfg")
	got, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &b})
	if err != nil || got.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled || got.ObjectLockConfiguration.Rule != nil {
		t.Fatalf("lock configuration: %+v %v", got.ObjectLockConfiguration, err)
	}
	cfg := &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled, Rule: &types.ObjectLockRule{
		DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)},
	}}
	if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: &b, ObjectLockConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &b})
	if err != nil || got.ObjectLockConfiguration.Rule == nil || got.ObjectLockConfiguration.Rule.DefaultRetention.Mode != types.ObjectLockRetentionModeGovernance ||
		aws.ToInt32(got.ObjectLockConfiguration.Rule.DefaultRetention.Days) != 1 {
		t.Fatalf("default retention: %+v %v", got.ObjectLockConfiguration, err)
	}
	// New versions get the default retention.
	put(t, c, b, "defaulted", "x")
	ret, err := c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &b, Key: aws.String("defaulted")})
	if err != nil || ret.Retention.Mode != types.ObjectLockRetentionModeGovernance {
		t.Fatalf("retention from the bucket default: %+v %v", ret, err)
	}
	both := &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled, Rule: &types.ObjectLockRule{
		DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1), Years: aws.Int32(1)},
	}}
	_, err = c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: &b, ObjectLockConfiguration: both})
	WantError(t, err, "MalformedXML", 400)
	// Clearing the default keeps the lock enabled.
	if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: &b,
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &b})
	if err != nil || got.ObjectLockConfiguration.Rule != nil || got.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		t.Fatalf("after clearing the default: %+v %v", got.ObjectLockConfiguration, err)
	}
	// B2 lets Object Lock be enabled on an existing bucket.
	if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: &plain,
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}}); err != nil {
		t.Fatalf("enable on an existing bucket: %v", err)
	}
	if _, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &plain}); err != nil {
		t.Fatal(err)
	}
}

func testLifecycle(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "lifecycle")
	_, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &b})
	WantError(t, err, "NoSuchLifecycleConfiguration", 404)
	rules := []types.LifecycleRule{
		{ID: aws.String("logs-expire"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(30)}},
		{ID: aws.String("logs-noncurrent"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			NoncurrentVersionExpiration:    &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(7)},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(3)}},
		{ID: aws.String("tmp"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}},
		{ID: aws.String("markers"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{ExpiredObjectDeleteMarker: aws.Bool(true)}},
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	// logs/ merges into one B2 rule that hides, which reads back as two S3
	// rules; tmp/ is one; the marker-only rule is what B2 always does.
	type view struct {
		prefix                    string
		days, noncurrent, abort   int32
		expiredObjectDeleteMarker bool
	}
	var views []view
	for _, r := range got.Rules {
		v := view{prefix: aws.ToString(r.Filter.Prefix)}
		if r.Status != types.ExpirationStatusEnabled {
			t.Fatalf("rule status %q", r.Status)
		}
		if e := r.Expiration; e != nil {
			v.days, v.expiredObjectDeleteMarker = aws.ToInt32(e.Days), aws.ToBool(e.ExpiredObjectDeleteMarker)
		}
		if n := r.NoncurrentVersionExpiration; n != nil {
			v.noncurrent = aws.ToInt32(n.NoncurrentDays)
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			v.abort = aws.ToInt32(a.DaysAfterInitiation)
		}
		views = append(views, v)
	}
	want := []view{{"logs/", 30, 7, 3, false}, {"logs/", 0, 0, 0, true}, {"tmp/", 0, 1, 0, false}}
	if !slices.Equal(views, want) {
		t.Fatalf("lifecycle read back\n got  %+v\n want %+v", views, want)
	}
	for name, r := range map[string]types.LifecycleRule{
		"transition": {Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("a/")},
			Transitions: []types.Transition{{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassGlacier}}},
		"date": {Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("a/")},
			Expiration: &types.LifecycleExpiration{Date: aws.Time(mustTime("2030-01-01T00:00:00Z"))}},
		"disabled": {Status: types.ExpirationStatusDisabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("a/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}},
		"tag": {Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Tag: &types.Tag{Key: aws.String("k"), Value: aws.String("v")}},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}},
	} {
		_, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
			LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{r}}})
		if code, status := APIError(err); code != "NotImplemented" || status != 501 {
			t.Fatalf("%s rule: %s (%d) %v", name, code, status, err)
		}
	}
	_, err = c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: &b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{Prefix: aws.String("a/")}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(0)}}}}})
	WantError(t, err, "InvalidArgument", 400)
	// A body without Content-MD5 or a checksum is refused.
	doc := []byte(`<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><Prefix>x/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`)
	if r := tg.Signed(t, http.MethodPut, "/"+b+"?lifecycle", doc, nil); r.Status != 400 || r.Code() != "InvalidRequest" {
		t.Fatalf("lifecycle without a digest: %d %s", r.Status, r.Body)
	}
	if r := tg.Signed(t, http.MethodPut, "/"+b+"?lifecycle", doc, http.Header{"Content-Md5": {ContentMD5(doc)}}); r.Status != 200 {
		t.Fatalf("lifecycle with Content-MD5: %d %s", r.Status, r.Body)
	}
	if _, err := c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &b})
	WantError(t, err, "NoSuchLifecycleConfiguration", 404)
}

func testBucketCORS(t *testing.T, tg Target) {
	ctx := context.Background()
	c := tg.AWS(t)
	b := newBucket(t, c, "cors")
	_, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: &b})
	WantError(t, err, "NoSuchCORSConfiguration", 404)
	rules := []types.CORSRule{
		{ID: aws.String("web-app"), AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(3000)},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"HEAD"}},
	}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: &types.CORSConfiguration{CORSRules: rules}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: &b})
	if err != nil || len(got.CORSRules) != 2 {
		t.Fatalf("get CORS: %+v %v", got, err)
	}
	r0 := got.CORSRules[0]
	if aws.ToString(r0.ID) != "web-app" || !slices.Equal(r0.AllowedMethods, []string{"GET", "PUT"}) ||
		!slices.Equal(r0.AllowedOrigins, []string{"https://*.example.com"}) || !slices.Equal(r0.AllowedHeaders, []string{"*"}) ||
		!slices.Equal(r0.ExposeHeaders, []string{"ETag"}) || aws.ToInt32(r0.MaxAgeSeconds) != 3000 {
		t.Fatalf("rule 0 read back as %+v", r0)
	}
	if r1 := got.CORSRules[1]; !slices.Equal(r1.AllowedMethods, []string{"HEAD"}) || r1.MaxAgeSeconds != nil {
		t.Fatalf("rule 1 read back as %+v", r1)
	}
	_, err = c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PATCH"}},
	}}})
	WantError(t, err, "InvalidRequest", 400)
	doc := []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)
	if r := tg.Signed(t, http.MethodPut, "/"+b+"?cors", doc, nil); r.Status != 400 || r.Code() != "InvalidRequest" {
		t.Fatalf("CORS without a digest: %d %s", r.Status, r.Body)
	}
	if r := tg.Signed(t, http.MethodPut, "/"+b+"?cors", doc, http.Header{"Content-Md5": {ContentMD5([]byte("other"))}}); r.Status != 400 || r.Code() != "BadDigest" {
		t.Fatalf("CORS with a wrong Content-MD5: %d %s", r.Status, r.Body)
	}
	many := "<CORSConfiguration>" + strings.Repeat(`<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>`, 101) + "</CORSConfiguration>"
	if r := tg.Signed(t, http.MethodPut, "/"+b+"?cors", []byte(many), http.Header{"Content-Md5": {ContentMD5([]byte(many))}}); r.Status != 400 || r.Code() != "MalformedXML" {
		t.Fatalf("101 CORS rules: %d %s", r.Status, r.Body)
	}
	huge := "<CORSConfiguration><CORSRule><ID>" + strings.Repeat("x", 70<<10) + "</ID></CORSRule></CORSConfiguration>"
	if r := tg.Signed(t, http.MethodPut, "/"+b+"?cors", []byte(huge), http.Header{"Content-Md5": {ContentMD5([]byte(huge))}}); r.Status != 400 || r.Code() != "MalformedXML" {
		t.Fatalf("oversized CORS body: %d %s", r.Status, r.Body)
	}
	if r := tg.Signed(t, http.MethodPut, "/"+b+"?cors", []byte("<CORSConfiguration><CORSRule>"), http.Header{"Content-Md5": {ContentMD5([]byte("<CORSConfiguration><CORSRule>"))}}); r.Status != 400 || r.Code() != "MalformedXML" {
		t.Fatalf("truncated CORS XML: %d %s", r.Status, r.Body)
	}
	if _, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: &b})
	WantError(t, err, "NoSuchCORSConfiguration", 404)
}
