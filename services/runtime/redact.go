package runtime

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

// secretWords mark a flag whose value is a secret (--authd.bootstrap-secret,
// --authd.master-secret, anything named like a password or token). Paths to
// files holding secrets (--authd.kek-file, --tls-key) are not secrets.
var secretWords = []string{"secret", "password", "passwd", "token"}

func secretFlag(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// RedactArgs returns a copy of a command line with the values of secret
// flags replaced by <redacted>, in both "--name=value" and "--name value"
// forms.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if !strings.HasPrefix(a, "-") || a == "--" {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !secretFlag(name) {
			continue
		}
		if hasValue {
			out[i] = a[:strings.Index(a, "=")+1] + "<redacted>"
		} else if i+1 < len(out) && !strings.HasPrefix(out[i+1], "-") {
			out[i+1] = "<redacted>"
			i++
		}
	}
	return out
}

// cmdline is net/http/pprof's Cmdline with secret values redacted: the
// stock handler prints os.Args verbatim, bootstrap secrets included.
func cmdline(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, strings.Join(RedactArgs(os.Args), "\x00"))
}
