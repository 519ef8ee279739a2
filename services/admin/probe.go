package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/coffer-project/coffer/services/certs"
	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/runtime"
)

// adminProbe is `coffer admin probe`: can this container, with these
// credentials (or none), reach each role's gRPC port, Raft port and etcd?
// It asks each address for its gRPC health (open to every role under
// mutual TLS), opens a TLS connection to each Raft port as a peer would,
// and asks etcd for the cluster's registrations. Without --mtls-* it
// speaks TLS with no client certificate (and trusts any server): an
// intruder on the network, which is how the compose e2e shows that a
// container without a certificate gets nowhere.
func adminProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coffer admin probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addrs := fs.String("addrs", "", "comma-separated gRPC addresses to probe")
	raftAddrs := fs.String("raft-addrs", "", "comma-separated Raft addresses of metadata nodes to probe (a TLS handshake as a metadata peer)")
	etcd := fs.String("etcd-endpoints", "", "etcd endpoints to probe")
	timeout := fs.Duration("timeout", 5*time.Second, "how long each probe may take")
	mtls := addMTLSFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 || (*addrs == "" && *etcd == "" && *raftAddrs == "") {
		return usageError{errors.New("probe --addrs A,B..., --raft-addrs R,... and/or --etcd-endpoints E")}
	}
	if err := mtls.load(); err != nil {
		return err
	}
	failed := 0
	for _, a := range splitList(*addrs) {
		err := func() error {
			cc, err := runtime.Dial("passthrough:///"+a, probeCreds(mtls.identity()))
			if err != nil {
				return err
			}
			defer cc.Close()
			pctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			resp, err := healthpb.NewHealthClient(cc).Check(pctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %s\n", a, resp.GetStatus())
			return nil
		}()
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: refused or unreachable: %v\n", a, err)
		}
	}
	for _, a := range splitList(*raftAddrs) {
		if err := probeRaft(a, mtls.identity(), *timeout); err != nil {
			failed++
			fmt.Fprintf(stdout, "raft %s: refused or unreachable: %v\n", a, err)
		} else {
			fmt.Fprintf(stdout, "raft %s: handshake accepted\n", a)
		}
	}
	if *etcd != "" {
		opts := discovery.EtcdOptions{Endpoints: splitList(*etcd), Prefix: "coffer"}
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
		if id := mtls.identity(); id != nil {
			opts.TLS = id.EtcdClientConfig()
		}
		err := func() error {
			e, err := discovery.NewEtcd(opts)
			if err != nil {
				return err
			}
			defer e.Close()
			pctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			_, err = e.Client().Get(pctx, "coffer/")
			return err
		}()
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "etcd %s: refused or unreachable: %v\n", *etcd, err)
		} else {
			fmt.Fprintf(stdout, "etcd %s: answers\n", *etcd)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of the probed endpoints refused or did not answer", failed)
	}
	return nil
}

// adminWait is `coffer admin wait`: it does nothing until it is stopped, so
// that a tools container (the image has no shell) stays up for `docker
// exec` — the compose cluster's admin container.
func adminWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(stdout, "waiting; run operator commands with `docker exec <this container> /coffer admin ...`")
	<-ctx.Done()
	return nil
}

// probeRaft opens a TLS connection to a Raft port as a metadata peer would
// (with id's certificate; without one, with none) and reports whether the
// server kept it. Under TLS 1.3 a refused client certificate shows on the
// first read, so the probe reads once: an alert is a refusal, silence (the
// server waiting for a Raft request) is acceptance.
func probeRaft(addr string, id *certs.Identity, timeout time.Duration) error {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	if id != nil {
		cfg = id.ClientConfig(discovery.Metadata)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(min(timeout, 2*time.Second)))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	if err == nil {
		return nil
	}
	return err
}

// probeCreds are the identity's credentials, or TLS with no certificate.
func probeCreds(id *certs.Identity) grpc.DialOption {
	if id != nil {
		return runtime.ClientCredentials(id, "")
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}))
}
