package admin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/coffer-project/coffer/services/certs"
	"github.com/coffer-project/coffer/services/discovery"
)

const certUsage = `coffer cert — certificates for HTTPS at the edge and mutual TLS between roles.

Usage:
  coffer cert dev [--dir ./coffer-data/tls] [--domains localhost,s3.localhost] [--host H,...]
      a local CA and a server certificate for localhost, 127.0.0.1, ::1, the
      domains and their wildcards (virtual-hosted buckets), to try HTTPS:
      coffer serve --tls-cert DIR/server.pem --tls-key DIR/server-key.pem,
      and give clients DIR/ca.pem (AWS_CA_BUNDLE, --ca-bundle, SSL_CERT_FILE).
      An existing CA in DIR is kept, so clients that trust it keep working.
  coffer cert ca --dir D [--days 3650] [--force]
      a cluster CA: D/ca.pem (every process trusts it) and D/ca-key.pem
      (keep it offline; it issues certificates)
  coffer cert issue --ca-dir D --role R[,R...] [--name N] [--out-dir O]
                    [--dns N,...] [--ip A,...] [--days 365]
      a certificate naming roles R (URI SANs spiffe://coffer/role/R), signed
      by the CA in D: O/N.pem and O/N-key.pem. Roles: metadata, blobstore,
      authd, corsd, gateway (what a process serves and calls as), admin
      (coffer admin), or any name for other clients; --dns/--ip add host
      names for servers that are reached by name (etcd).
  coffer cert cluster --dir D [--etcd-dns etcd]
      the CA (kept if present) and, for each role and for etcd, D/<role>/
      cert.pem, key.pem and ca.pem: what the compose cluster generates on
      its first start. Existing certificates are kept.

Every process of a cluster is then started with --cluster-ca, --cluster-cert
and --cluster-key (services/DESIGN.md, "Mutual TLS").
`

// Cert is the `coffer cert` command (args after "cert").
func Cert(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, certUsage)
		return map[bool]int{true: 2, false: 0}[len(args) == 0]
	}
	var err error
	switch args[0] {
	case "dev":
		err = certDev(args[1:], stdout, stderr)
	case "ca":
		err = certCA(args[1:], stdout, stderr)
	case "issue":
		err = certIssue(args[1:], stdout, stderr)
	case "cluster":
		err = certCluster(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "coffer cert: unknown command %q\n\n%s", args[0], certUsage)
		return 2
	}
	var usage usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "coffer cert %s: %v\n", args[0], err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "coffer cert %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ error }

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
)

// loadOrMakeCA loads dir/ca.pem and dir/ca-key.pem, or makes them.
func loadOrMakeCA(dir, name string, stdout io.Writer) (*certs.CA, error) {
	cf, kf := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if _, err := os.Stat(cf); err == nil {
		return certs.LoadCA(cf, kf)
	}
	ca, key, err := certs.NewCA(name, caValidity)
	if err != nil {
		return nil, err
	}
	if err := certs.WriteFiles(cf, ca.PEM, kf, key); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "wrote %s (the CA) and %s (its key)\n", cf, kf)
	return ca, nil
}

func certDev(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coffer cert dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", filepath.Join("coffer-data", "tls"), "directory for ca.pem, server.pem and their keys")
	domains := fs.String("domains", "localhost,s3.localhost", "the gateway's --domains: each gets a name and a wildcard (<bucket>.<domain>)")
	hosts := fs.String("host", "", "more host names or IP addresses the server is reached by (comma-separated)")
	days := fs.Int("days", 825, "validity of the server certificate in days")
	if err := parse(fs, args); err != nil {
		return err
	}
	ca, err := loadOrMakeCA(*dir, "coffer development CA", stdout)
	if err != nil {
		return err
	}
	leaf := certs.Leaf{CommonName: "coffer development server", Validity: time.Duration(*days) * 24 * time.Hour,
		DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}}
	for _, d := range splitList(*domains) {
		leaf.DNSNames = append(leaf.DNSNames, strings.ToLower(d), "*."+strings.ToLower(d))
	}
	for _, h := range splitList(*hosts) {
		if ip := net.ParseIP(h); ip != nil {
			leaf.IPs = append(leaf.IPs, ip)
		} else {
			leaf.DNSNames = append(leaf.DNSNames, strings.ToLower(h))
		}
	}
	leaf.DNSNames = dedupe(leaf.DNSNames)
	c, k, err := ca.Issue(leaf)
	if err != nil {
		return err
	}
	cf, kf := filepath.Join(*dir, "server.pem"), filepath.Join(*dir, "server-key.pem")
	if err := certs.WriteFiles(cf, c, kf, k); err != nil {
		return err
	}
	caFile := filepath.Join(*dir, "ca.pem")
	fmt.Fprintf(stdout, "wrote %s and %s for %s, 127.0.0.1, ::1\n", cf, kf, strings.Join(leaf.DNSNames, ", "))
	fmt.Fprintf(stdout, "serve:   coffer serve --tls-cert %s --tls-key %s\n", cf, kf)
	fmt.Fprintf(stdout, "clients: AWS_CA_BUNDLE=%s aws --endpoint-url https://127.0.0.1:9000 s3 ls\n", caFile)
	fmt.Fprintf(stdout, "         SSL_CERT_FILE=%s (Go), REQUESTS_CA_BUNDLE=%s (b2 CLI, python)\n", caFile, caFile)
	return nil
}

func certCA(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coffer cert ca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory for ca.pem and ca-key.pem (required)")
	days := fs.Int("days", 3650, "validity in days")
	force := fs.Bool("force", false, "replace an existing CA (every certificate it issued stops being trusted)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError{errors.New("--dir is required")}
	}
	cf, kf := filepath.Join(*dir, "ca.pem"), filepath.Join(*dir, "ca-key.pem")
	if _, err := os.Stat(cf); err == nil && !*force {
		return fmt.Errorf("%s exists (--force replaces it)", cf)
	}
	ca, key, err := certs.NewCA("coffer cluster CA", time.Duration(*days)*24*time.Hour)
	if err != nil {
		return err
	}
	if err := certs.WriteFiles(cf, ca.PEM, kf, key); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (give it to every process: --cluster-ca) and %s (keep it safe)\n", cf, kf)
	return nil
}

func certIssue(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coffer cert issue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caDir := fs.String("ca-dir", "", "directory holding ca.pem and ca-key.pem (required)")
	roles := fs.String("role", "", "comma-separated roles the certificate names (required)")
	name := fs.String("name", "", "file name stem (default: the roles joined by '-')")
	outDir := fs.String("out-dir", ".", "directory to write NAME.pem and NAME-key.pem to")
	dns := fs.String("dns", "", "comma-separated DNS names (servers reached by name, like etcd)")
	ips := fs.String("ip", "", "comma-separated IP addresses")
	days := fs.Int("days", 365, "validity in days")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *caDir == "" || *roles == "" {
		return usageError{errors.New("--ca-dir and --role are required")}
	}
	ca, err := certs.LoadCA(filepath.Join(*caDir, "ca.pem"), filepath.Join(*caDir, "ca-key.pem"))
	if err != nil {
		return err
	}
	leaf, err := leafFor(splitList(*roles), splitList(*dns), splitList(*ips), time.Duration(*days)*24*time.Hour)
	if err != nil {
		return usageError{err}
	}
	stem := *name
	if stem == "" {
		stem = strings.Join(leaf.Roles, "-")
	}
	c, k, err := ca.Issue(leaf)
	if err != nil {
		return err
	}
	cf, kf := filepath.Join(*outDir, stem+".pem"), filepath.Join(*outDir, stem+"-key.pem")
	if err := certs.WriteFiles(cf, c, kf, k); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s (roles %s)\n", cf, kf, strings.Join(leaf.Roles, ", "))
	return nil
}

func leafFor(roles, dns, ips []string, validity time.Duration) (certs.Leaf, error) {
	leaf := certs.Leaf{CommonName: strings.Join(roles, ","), Roles: roles, DNSNames: dns, Validity: validity}
	for _, a := range ips {
		ip := net.ParseIP(a)
		if ip == nil {
			return leaf, fmt.Errorf("%q is not an IP address", a)
		}
		leaf.IPs = append(leaf.IPs, ip)
	}
	return leaf, nil
}

// clusterRoles are the certificates `coffer cert cluster` makes: each
// serving role, the operator's, and etcd's (a server reached by name).
var clusterRoles = append(slices.Clone(discovery.Roles), certs.Admin, "etcd")

func certCluster(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coffer cert cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory: the CA in DIR/ca, each role's files in DIR/<role> (required)")
	etcdDNS := fs.String("etcd-dns", "etcd,localhost", "DNS names of etcd's server certificate")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError{errors.New("--dir is required")}
	}
	ca, err := loadOrMakeCA(filepath.Join(*dir, "ca"), "coffer cluster CA", stdout)
	if err != nil {
		return err
	}
	for _, role := range clusterRoles {
		out := filepath.Join(*dir, role)
		cf, kf := filepath.Join(out, "cert.pem"), filepath.Join(out, "key.pem")
		if _, err := os.Stat(cf); err == nil {
			continue
		}
		leaf := certs.Leaf{CommonName: role, Roles: []string{role}, Validity: leafValidity}
		if role == "etcd" {
			leaf.DNSNames, leaf.IPs = splitList(*etcdDNS), []net.IP{net.ParseIP("127.0.0.1")}
		}
		c, k, err := ca.Issue(leaf)
		if err != nil {
			return err
		}
		if err := certs.WriteFile(filepath.Join(out, "ca.pem"), ca.PEM, 0o644); err != nil {
			return err
		}
		if err := certs.WriteFiles(cf, c, kf, k); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s/{cert,key,ca}.pem\n", out)
	}
	return nil
}
