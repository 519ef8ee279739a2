package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// testCluster is item 10: roles and endpoints, the Raft group, the
// blobstore nodes — what `coffer admin cluster` shows.
func testCluster(t *testing.T, e *env) {
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.click("Cluster")
	p.waitFor("the report", `!!document.querySelector('table[aria-label="Blobstore nodes"] tbody td')`)
	roles := eval[[]string](p, `[...document.querySelectorAll('table[aria-label="Roles"] tbody tr td:first-child')].map((td) => td.textContent)`)
	for _, r := range []string{"metadata", "blobstore", "authd", "corsd", "gateway"} {
		if !strings.Contains(strings.Join(roles, " "), r) {
			p.fail("role %s missing: %v", r, roles)
		}
	}
	// The same report the endpoint gives to a key with listKeys.
	req, _ := http.NewRequest(http.MethodGet, e.c.Console+"/api/cluster", nil)
	req.Header.Set("Authorization", e.b2.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct {
		Leader   string `json:"leader"`
		Metadata []struct {
			NodeID      string `json:"node_id"`
			Term        uint64 `json:"term"`
			CommitIndex uint64 `json:"commit_index"`
		} `json:"metadata"`
		Blobstore []struct {
			Zone      string `json:"zone"`
			Up        bool   `json:"up"`
			FreeBytes int64  `json:"free_bytes"`
		} `json:"blobstore"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || rep.Leader == "" || len(rep.Metadata) == 0 || len(rep.Blobstore) == 0 || !rep.Blobstore[0].Up {
		p.fail("cluster report: %v %+v", err, rep)
	}
	if got := p.text("main .cluster p strong"); got != rep.Leader {
		p.fail("the page says leader %q, the report %q", got, rep.Leader)
	}
	members := p.text(`table[aria-label="Raft members"] tbody`)
	nodes := p.text(`table[aria-label="Metadata nodes"] tbody`)
	blobs := p.text(`table[aria-label="Blobstore nodes"] tbody`)
	if !strings.Contains(members, "voter") || !strings.Contains(members, "leader") || !strings.Contains(nodes, rep.Metadata[0].NodeID) ||
		!strings.Contains(nodes, "Leader") || !strings.Contains(blobs, "up") || !strings.Contains(blobs, " of ") {
		p.fail("tables: members %q nodes %q blobs %q", members, nodes, blobs)
	}
	// Read-only: nothing on the page changes anything.
	if n := eval[float64](p, `document.querySelectorAll('main form, main input').length`); n != 0 {
		p.fail("the Cluster page has %v form controls", n)
	}
}
