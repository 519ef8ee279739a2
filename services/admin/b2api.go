package admin

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Keys and buckets are managed through the public B2 Native API, over HTTP
// or HTTPS, exactly as any B2 client does: b2_authorize_account with an
// application key, then b2_create_key, b2_update_bucket and the rest with
// its account token. The operator's key needs the capabilities each call
// needs (writeKeys to create keys...), and nothing here reaches past the
// gateway.

// Environment defaults of the B2 flags: the credentials the server was
// bootstrapped with (make run, the compose cluster's deploy/.env).
const (
	EnvEndpoint = "COFFER_ENDPOINT"
	EnvKeyID    = "COFFER_ACCESS_KEY_ID"
	EnvKey      = "COFFER_SECRET_ACCESS_KEY"
	EnvCA       = "COFFER_CA_CERT"
)

// apiFlags say which gateway to call, as which key.
type apiFlags struct {
	endpoint, keyID, key, ca *string
	timeout                  *time.Duration
}

func addAPIFlags(fs *flag.FlagSet) *apiFlags {
	return &apiFlags{
		endpoint: fs.String("endpoint", envOr(EnvEndpoint, "http://127.0.0.1:9000"), "the gateway's URL (https:// with --tls-cert; default $"+EnvEndpoint+")"),
		keyID:    fs.String("key-id", os.Getenv(EnvKeyID), "application key id (default $"+EnvKeyID+")"),
		key:      fs.String("key", "", "application key (default $"+EnvKey+"; better left to the environment)"),
		ca:       fs.String("ca-cert", os.Getenv(EnvCA), "PEM CA to trust for https (e.g. coffer cert dev's ca.pem; default $"+EnvCA+")"),
		timeout:  fs.Duration("timeout", 2*time.Minute, "how long the command may take"),
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// b2API is an authorized B2 Native API session.
type b2API struct {
	http      *http.Client
	apiURL    string
	token     string
	accountID string
}

// b2Error is a B2 error response.
type b2Error struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *b2Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// connect authorizes with the flags' key.
func (f *apiFlags) connect(ctx context.Context) (*b2API, error) {
	key := *f.key
	if key == "" {
		key = os.Getenv(EnvKey)
	}
	if *f.keyID == "" || key == "" {
		return nil, usageError{fmt.Errorf("an application key is needed: --key-id and $%s (or --key)", EnvKey)}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if *f.ca != "" {
		pem, err := os.ReadFile(*f.ca)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", *f.ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	c := &b2API{http: &http.Client{Transport: tr}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(*f.endpoint, "/")+"/b2api/v4/b2_authorize_account", nil)
	if err != nil {
		return nil, usageError{err}
	}
	req.SetBasicAuth(*f.keyID, key)
	var auth struct {
		AccountID string `json:"accountId"`
		Token     string `json:"authorizationToken"`
		APIInfo   struct {
			StorageAPI struct {
				APIURL string `json:"apiUrl"`
			} `json:"storageApi"`
		} `json:"apiInfo"`
	}
	if err := c.do(req, &auth); err != nil {
		return nil, fmt.Errorf("b2_authorize_account: %w", err)
	}
	c.apiURL, c.token, c.accountID = auth.APIInfo.StorageAPI.APIURL, auth.Token, auth.AccountID
	return c, nil
}

// call posts a B2 API call and decodes its answer into out.
func (c *b2API) call(ctx context.Context, name string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"/b2api/v4/"+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.token)
	req.Header.Set("Content-Type", "application/json")
	if err := c.do(req, out); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (c *b2API) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		e := &b2Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e.Code, e.Message = "error", strings.TrimSpace(string(b))
		}
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
