//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coffer-project/coffer/gateway/conformance"
)

// consoles checks the web console each gateway of the compose cluster
// publishes: the page comes with its strict CSP, and the console's origin
// answers the public B2 API (the gateway's own handler), handing out an
// API URL on that same origin (the browser stays same-origin) and, for
// the links a user copies and shares, the download URL of its gateway's
// published port (--console-gateway-port).
func consoles(t *testing.T, c *cluster) {
	hc := &http.Client{Timeout: time.Minute}
	for i, console := range c.consoles {
		resp, err := hc.Get(console + "/")
		if err != nil {
			t.Fatalf("console %s: %v", console, err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "<title>coffer console</title>") {
			t.Fatalf("console %s: %d %.200s", console, resp.StatusCode, page)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("console %s: CSP %q", console, csp)
		}
		b2 := conformance.NewB2WithKey(t, console, keyID, secretKey, 3)
		if got, err := url.Parse(b2.APIURL); err != nil || "http://"+got.Host != console {
			t.Fatalf("console %s hands out apiUrl %s: the browser would leave its origin", console, b2.APIURL)
		}
		if got, err := url.Parse(b2.DownloadURL); err != nil || "http://"+got.Host != c.gateways[i] {
			t.Fatalf("console %s hands out downloadUrl %s, not its gateway's %s", console, b2.DownloadURL, c.gateways[i])
		}
		b2.Must("b2_list_buckets", map[string]any{"accountId": b2.AccountID})
	}
}
