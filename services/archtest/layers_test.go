package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/coffer-project/coffer/"

// roles are the top-level role directories.
var roles = []string{"metadata", "blobstore", "authd", "corsd", "gateway"}

// clientPackages are role packages other roles may import: client
// libraries of a role, as DESIGN.md places the erasure-coding client in
// blobstore/.
var clientPackages = map[string]bool{
	module + "blobstore/client": true,
	// authd's pure packages, for the gateway's credential cache
	// (gateway/authcache): it verifies SigV4 itself with the scope-bound
	// signing keys authd hands out, and applies the one authorization
	// decision locally, so the steady state pays no authd round trip. Both
	// are pure (no I/O, no secrets, no key lookup) and are the very code
	// authd runs, so the gateway cannot drift from authd's rules.
	module + "authd/sigv4":  true,
	module + "authd/policy": true,
	// corsd's pure rule package, for the R2-style front-end: R2's JSON
	// rule shape is converted and validated by the same code corsd runs
	// (FromR2/ToR2 beside Validate), so a CORS change is made in one file.
	// It does no I/O and holds no state.
	module + "corsd/policy": true,
}

func roleOf(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	for _, r := range roles {
		if r == top {
			return r
		}
	}
	return ""
}

// TestImportLayers checks, for non-test code: a role never imports another
// role's packages (only generated clients under proto/gen and sanctioned
// client libraries); the shared platform (services/{errs,runtime,discovery})
// never imports a role; proto/gen imports nothing of ours but proto/gen.
// Tests may cross layers to start real roles.
func TestImportLayers(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		checked++
		from := roleOf(p.ImportPath)
		rest := strings.TrimPrefix(p.ImportPath, module)
		platform := strings.HasPrefix(rest, "services/errs") || strings.HasPrefix(rest, "services/runtime") || strings.HasPrefix(rest, "services/discovery")
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := roleOf(imp)
			switch {
			case strings.HasPrefix(rest, "proto/gen/") && !strings.HasPrefix(imp, module+"proto/gen/"):
				t.Errorf("%s (generated) imports %s", p.ImportPath, imp)
			case platform && (to != "" || strings.HasPrefix(imp, module+"services/app")):
				t.Errorf("shared platform %s imports %s", p.ImportPath, imp)
			case from != "" && to != "" && from != to && !clientPackages[imp]:
				t.Errorf("role package %s imports %s, another role's internals (use its generated client)", p.ImportPath, imp)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("checked only %d packages; go list output changed?", checked)
	}
}
