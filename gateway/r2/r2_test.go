package r2_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	cloudflare "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/r2"

	"github.com/coffer-project/coffer/gateway/conformance"
	"github.com/coffer-project/coffer/services/clustertest"
)

func sdk(c *clustertest.Cluster, token string) *cloudflare.Client {
	return cloudflare.NewClient(
		option.WithBaseURL(c.Endpoint+"/client/v4/"),
		option.WithAPIToken(token),
		option.WithMaxRetries(0),
	)
}

func apiCode(err error) (int, int) {
	var ae *cloudflare.Error
	if !errors.As(err, &ae) {
		return 0, 0
	}
	code := 0
	if len(ae.Errors) > 0 {
		code = int(ae.Errors[0].Code)
	}
	return ae.StatusCode, code
}

// TestCloudflareSDK drives buckets and bucket CORS with Cloudflare's own Go
// SDK pointed at the gateway, and compares what it reads back field by field.
func TestCloudflareSDK(t *testing.T) {
	c := clustertest.Start(t)
	ctx := context.Background()
	acct := c.AccountID()
	cf := sdk(c, clustertest.AccessKeyID+":"+clustertest.SecretKey)

	name := conformance.BucketName("rtwo")
	b, err := cf.R2.Buckets.New(ctx, r2.BucketNewParams{AccountID: cloudflare.F(acct), Name: cloudflare.F(name)})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if b.Name != name || b.StorageClass != r2.BucketStorageClassStandard || b.Jurisdiction != r2.BucketJurisdictionDefault || b.CreationDate == "" {
		t.Fatalf("created bucket: %+v", b)
	}
	_, err = cf.R2.Buckets.New(ctx, r2.BucketNewParams{AccountID: cloudflare.F(acct), Name: cloudflare.F(name)})
	if st, code := apiCode(err); st != 409 || code != 10073 {
		t.Fatalf("duplicate create: %d %d %v", st, code, err)
	}
	_, err = cf.R2.Buckets.New(ctx, r2.BucketNewParams{AccountID: cloudflare.F(acct), Name: cloudflare.F("Bad_Name")})
	if st, code := apiCode(err); st != 400 || code != 10005 {
		t.Fatalf("bad name: %d %d %v", st, code, err)
	}
	got, err := cf.R2.Buckets.Get(ctx, name, r2.BucketGetParams{AccountID: cloudflare.F(acct)})
	if err != nil || got.Name != name || got.CreationDate != b.CreationDate {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := cf.R2.Buckets.List(ctx, r2.BucketListParams{AccountID: cloudflare.F(acct), NameContains: cloudflare.F("rtwo")})
	if err != nil || len(list.Buckets) != 1 || list.Buckets[0].Name != name {
		t.Fatalf("list: %+v %v", list, err)
	}

	// CORS: none → 404; put; read back field by field; clear.
	_, err = cf.R2.Buckets.CORS.Get(ctx, name, r2.BucketCORSGetParams{AccountID: cloudflare.F(acct)})
	if st, code := apiCode(err); st != 404 || code != 10059 {
		t.Fatalf("get cors before put: %d %d %v", st, code, err)
	}
	_, err = cf.R2.Buckets.CORS.Update(ctx, name, r2.BucketCORSUpdateParams{
		AccountID: cloudflare.F(acct),
		Rules: cloudflare.F([]r2.BucketCORSUpdateParamsRule{{
			ID: cloudflare.F("Allow Local Development"),
			Allowed: cloudflare.F(r2.BucketCORSUpdateParamsRulesAllowed{
				Methods: cloudflare.F([]r2.BucketCORSUpdateParamsRulesAllowedMethod{"GET", "HEAD"}),
				Origins: cloudflare.F([]string{"http://localhost:3000"}),
				Headers: cloudflare.F([]string{"x-requested-by"}),
			}),
			ExposeHeaders: cloudflare.F([]string{"Content-Encoding"}),
			MaxAgeSeconds: cloudflare.F(3600.0),
		}}),
	})
	if err != nil {
		t.Fatalf("put cors: %v", err)
	}
	cors, err := cf.R2.Buckets.CORS.Get(ctx, name, r2.BucketCORSGetParams{AccountID: cloudflare.F(acct)})
	if err != nil || len(cors.Rules) != 1 {
		t.Fatalf("get cors: %+v %v", cors, err)
	}
	r := cors.Rules[0]
	if r.ID != "Allow Local Development" || strings.Join(methods(r.Allowed.Methods), ",") != "GET,HEAD" ||
		strings.Join(r.Allowed.Origins, ",") != "http://localhost:3000" || strings.Join(r.Allowed.Headers, ",") != "x-requested-by" ||
		strings.Join(r.ExposeHeaders, ",") != "Content-Encoding" || r.MaxAgeSeconds != 3600 {
		t.Fatalf("rule read back: %+v", r)
	}
	_, err = cf.R2.Buckets.CORS.Update(ctx, name, r2.BucketCORSUpdateParams{
		AccountID: cloudflare.F(acct),
		Rules: cloudflare.F([]r2.BucketCORSUpdateParamsRule{{Allowed: cloudflare.F(r2.BucketCORSUpdateParamsRulesAllowed{
			Methods: cloudflare.F([]r2.BucketCORSUpdateParamsRulesAllowedMethod{"PATCH"}), Origins: cloudflare.F([]string{"*"}),
		})}}),
	})
	if st, code := apiCode(err); st != 400 || code != 10040 {
		t.Fatalf("bad method: %d %d %v", st, code, err)
	}
	if _, err := cf.R2.Buckets.CORS.Delete(ctx, name, r2.BucketCORSDeleteParams{AccountID: cloudflare.F(acct)}); err != nil {
		t.Fatalf("delete cors: %v", err)
	}
	_, err = cf.R2.Buckets.CORS.Get(ctx, name, r2.BucketCORSGetParams{AccountID: cloudflare.F(acct)})
	if st, _ := apiCode(err); st != 404 {
		t.Fatalf("get cors after delete: %v", err)
	}
	if _, err := cf.R2.Buckets.Delete(ctx, name, r2.BucketDeleteParams{AccountID: cloudflare.F(acct)}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = cf.R2.Buckets.Get(ctx, name, r2.BucketGetParams{AccountID: cloudflare.F(acct)})
	if st, code := apiCode(err); st != 404 || code != 10006 {
		t.Fatalf("get after delete: %d %d %v", st, code, err)
	}

	// Authentication and the account in the path.
	_, err = sdk(c, clustertest.AccessKeyID+":wrong-secret").R2.Buckets.List(ctx, r2.BucketListParams{AccountID: cloudflare.F(acct)})
	if st, code := apiCode(err); st != 401 || code != 10002 {
		t.Fatalf("bad token: %d %d %v", st, code, err)
	}
	_, err = cf.R2.Buckets.List(ctx, r2.BucketListParams{AccountID: cloudflare.F("ffffffffffff")})
	if st, code := apiCode(err); st != 403 || code != 10003 {
		t.Fatalf("other account: %d %d %v", st, code, err)
	}
}

func methods(ms []r2.BucketCORSGetResponseRulesAllowedMethod) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

// TestEnvelopeShape checks the raw envelope: all four fields on success and
// on error, and an unknown route answered in the same shape.
func TestEnvelopeShape(t *testing.T) {
	c := clustertest.Start(t)
	acct := c.AccountID()
	do := func(method, path string) (int, map[string]any) {
		req, _ := http.NewRequest(method, c.Endpoint+path, nil)
		req.Header.Set("Authorization", "Bearer "+clustertest.AccessKeyID+":"+clustertest.SecretKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, body)
		}
		for _, k := range []string{"success", "errors", "messages", "result"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("%s %s: envelope lacks %q: %s", method, path, k, body)
			}
		}
		return resp.StatusCode, m
	}
	st, m := do("GET", "/client/v4/accounts/"+acct+"/r2/buckets")
	if st != 200 || m["success"] != true || m["result_info"] == nil {
		t.Fatalf("list: %d %v", st, m)
	}
	st, m = do("GET", "/client/v4/accounts/"+acct+"/r2/metrics")
	if st != 404 || m["success"] != false {
		t.Fatalf("unknown route: %d %v", st, m)
	}
}

// TestDeletedKeyRefusedLikeS3: a key warmed into every cache — an S3
// signature, an R2 Bearer "<id>:<secret>" and an R2 Bearer account token —
// is deleted; R2 refuses it within the same bound as S3, because both read
// the gateway's one credential cache, which follows metadata's key changes
// (R2 used to keep its own 5 s cache).
func TestDeletedKeyRefusedLikeS3(t *testing.T) {
	c := clustertest.Start(t)
	ctx := context.Background()
	admin := conformance.NewB2(t, conformance.B2Target{Endpoint: c.Endpoint, KeyID: clustertest.AccessKeyID, Key: clustertest.SecretKey}, 2)
	k := admin.Must("b2_create_key", map[string]any{"accountId": admin.AccountID, "keyName": "doomed",
		"capabilities": []string{"listBuckets", "listAllBucketNames"}})
	id, secret := k["applicationKeyId"].(string), k["applicationKey"].(string)
	s3c := conformance.Target{Endpoint: c.Endpoint, Region: "us-east-1"}.AWSWithKeys(t, id, secret)
	token := conformance.NewB2WithKey(t, c.Endpoint, id, secret, 2).Token
	bearers := map[string]*cloudflare.Client{"key": sdk(c, id+":"+secret), "token": sdk(c, token)}
	s3ok := func() bool { _, err := s3c.ListBuckets(ctx, &s3.ListBucketsInput{}); return err == nil }
	r2ok := func(cf *cloudflare.Client) bool {
		_, err := cf.R2.Buckets.List(ctx, r2.BucketListParams{AccountID: cloudflare.F(c.AccountID())})
		return err == nil
	}
	for i := 0; i < 3; i++ { // warm every cache
		if !s3ok() {
			t.Fatal("S3 refuses the new key")
		}
		for name, cf := range bearers {
			if !r2ok(cf) {
				t.Fatalf("R2 refuses the new key's %s", name)
			}
		}
	}
	start := time.Now()
	admin.Must("b2_delete_key", map[string]any{"applicationKeyId": id})
	const bound = 3 * time.Second // R2 used to take 5 s
	refused := map[string]time.Duration{}
	for len(refused) < 3 && time.Since(start) < 10*time.Second {
		if _, ok := refused["s3"]; !ok && !s3ok() {
			refused["s3"] = time.Since(start)
		}
		for name, cf := range bearers {
			if _, ok := refused["r2 "+name]; !ok && !r2ok(cf) {
				refused["r2 "+name] = time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range []string{"s3", "r2 key", "r2 token"} {
		d, ok := refused[name]
		t.Logf("%s refused the deleted key after %v", name, d)
		if !ok || d > bound {
			t.Errorf("%s still accepted the deleted key %v after b2_delete_key (bound %v)", name, time.Since(start), bound)
		}
	}
}
