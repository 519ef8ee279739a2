package admin

import (
	"context"

	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"

	blobclient "github.com/coffer-project/coffer/blobstore/client"
	authv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/auth/v1"
	"github.com/coffer-project/coffer/services/discovery"
	"github.com/coffer-project/coffer/services/runtime"
)

// Operator runs inside the cluster — lifecycle passes on the metadata
// leader, scrub, repair and GC on blobstore nodes — have no public API:
// they are gRPC calls to the roles. Each takes the operator's application
// key, exchanged for an account token with authd (AuthorizeAccount) and
// checked by the role it reaches (AuthService.VerifyOperator: an
// unrestricted key with writeKeys). Under mutual TLS the operator also
// presents a certificate naming the admin role (--mtls-*).

// clusterFlags say how to reach the roles and as whom.
type clusterFlags struct {
	addr, blobAddrs, etcd, prefix *string
	keyID, key                    *string
	timeout                       *time.Duration
	mtls                          *mtlsFlags
}

func addClusterFlags(fs *flag.FlagSet, timeout time.Duration) *clusterFlags {
	return &clusterFlags{
		addr:      fs.String("addr", "127.0.0.1:9100", "gRPC address of the roles when there is no etcd (the all-in-one server's --grpc-addr)"),
		blobAddrs: fs.String("blobstore-addrs", "", "blobstore nodes' gRPC addresses when there is no etcd (default: --addr)"),
		etcd:      fs.String("etcd-endpoints", os.Getenv(discovery.EnvEtcdEndpoints), "etcd endpoints to find the roles in (default $"+discovery.EnvEtcdEndpoints+")"),
		prefix:    fs.String("etcd-prefix", "coffer", "etcd key prefix of the cluster"),
		keyID:     fs.String("key-id", os.Getenv(EnvKeyID), "operator's application key id: an unrestricted key with writeKeys (default $"+EnvKeyID+")"),
		key:       fs.String("key", "", "the application key (default $"+EnvKey+"; better left to the environment)"),
		timeout:   fs.Duration("timeout", timeout, "how long the command may take"),
		mtls:      addMTLSFlags(fs),
	}
}

// cluster is a connection to the roles for one command.
type cluster struct {
	f     *clusterFlags
	etcd  *discovery.Etcd
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
	token string
}

// open connects (lazily) and obtains the operator's account token.
func (f *clusterFlags) open(ctx context.Context) (*cluster, error) {
	if err := f.mtls.load(); err != nil {
		return nil, err
	}
	key := *f.key
	if key == "" {
		key = os.Getenv(EnvKey)
	}
	if *f.keyID == "" || key == "" {
		return nil, usageError{fmt.Errorf("an operator's application key is needed: --key-id and $%s (or --key)", EnvKey)}
	}
	c := &cluster{f: f, conns: map[string]*grpc.ClientConn{}}
	if *f.etcd != "" {
		opts := discovery.EtcdOptions{Endpoints: splitList(*f.etcd), Prefix: *f.prefix}
		if id := f.mtls.identity(); id != nil {
			opts.TLS = id.EtcdClientConfig()
		}
		e, err := discovery.NewEtcd(opts)
		if err != nil {
			return nil, err
		}
		c.etcd = e
	}
	cc, err := c.role(discovery.Authd)
	if err != nil {
		c.close()
		return nil, err
	}
	resp, err := authv1.NewAuthServiceClient(cc).AuthorizeAccount(ctx, &authv1.AuthorizeAccountRequest{KeyId: *f.keyID, Secret: key})
	if err != nil {
		c.close()
		return nil, fmt.Errorf("authorize the operator's key: %w", err)
	}
	c.token = resp.GetAuthorizationToken()
	return c, nil
}

// role is a connection to any instance of role.
func (c *cluster) role(role string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.conns[role]; cc != nil {
		return cc, nil
	}
	target, opts := "passthrough:///"+*c.f.addr, []grpc.DialOption{c.f.mtls.creds(role)}
	if c.etcd != nil {
		t, err := c.etcd.Target(role)
		if err != nil {
			return nil, err
		}
		target, opts = t, append(c.etcd.DialOptions(role), opts...)
	}
	cc, err := runtime.Dial(target, opts...)
	if err != nil {
		return nil, err
	}
	c.conns[role] = cc
	return cc, nil
}

// blobNodes lists the blobstore nodes' addresses.
func (c *cluster) blobNodes(ctx context.Context) ([]string, error) {
	if c.etcd != nil {
		return c.etcd.Endpoints(ctx, discovery.Blobstore)
	}
	if *c.f.blobAddrs != "" {
		return splitList(*c.f.blobAddrs), nil
	}
	return []string{*c.f.addr}, nil
}

// node is a connection to one blobstore node.
func (c *cluster) node(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := "node:" + addr
	if cc := c.conns[key]; cc != nil {
		return cc, nil
	}
	cc, err := runtime.Dial("passthrough:///"+addr, append(blobclient.DialOptions(), c.f.mtls.creds(discovery.Blobstore))...)
	if err != nil {
		return nil, err
	}
	c.conns[key] = cc
	return cc, nil
}

func (c *cluster) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range c.conns {
		cc.Close()
	}
	if c.etcd != nil {
		_ = c.etcd.Close()
	}
}
