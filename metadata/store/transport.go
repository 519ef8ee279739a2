package store

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// TLS runs the Raft transport over mutual TLS. hashicorp/raft's TCP
// transport authenticates nothing: whoever reaches the port can send
// AppendEntries or RequestVote. With TLS set, both ends present a
// certificate from the cluster CA naming the metadata role (the
// configurations come from services/certs: Identity.ServerConfig("metadata")
// and Identity.ClientConfig("metadata")), so only metadata nodes take part.
type TLS struct {
	Server *tls.Config
	Client *tls.Config
}

// handshakeTimeout bounds a TLS handshake on the Raft port, so a connection
// that never completes one does not hold a goroutine.
const handshakeTimeout = 10 * time.Second

// tlsStream is a raft.StreamLayer over TLS.
type tlsStream struct {
	net.Listener
	advertise net.Addr
	client    *tls.Config
}

// newTLSTransport is raft.NewTCPTransportWithConfig over TLS: it binds
// bind, advertises advertise (or the bound address, which must then name a
// host), and dials peers with the client configuration.
func newTLSTransport(bind string, advertise net.Addr, t *TLS, cfg *raft.NetworkTransportConfig) (*raft.NetworkTransport, error) {
	lis, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	addr := advertise
	if addr == nil {
		addr = lis.Addr()
	}
	if tcp, ok := addr.(*net.TCPAddr); !ok || tcp.IP == nil || tcp.IP.IsUnspecified() {
		lis.Close()
		return nil, fmt.Errorf("store: raft address %v is not advertisable (set an advertise address)", addr)
	}
	s := &tlsStream{Listener: &handshakingListener{lis, t.Server}, advertise: addr, client: t.Client}
	cfg.Stream = s
	return raft.NewNetworkTransportWithConfig(cfg), nil
}

// Dial implements raft.StreamLayer: a TLS connection whose handshake
// (certificate checks included) completes within timeout.
func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", string(address), s.client)
}

// Addr implements raft.StreamLayer: the advertised address.
func (s *tlsStream) Addr() net.Addr { return s.advertise }

// handshakingListener accepts TLS connections whose handshake runs on the
// connection's first read, under a deadline, so Accept never blocks on a
// slow peer and a silent one is dropped.
type handshakingListener struct {
	net.Listener
	config *tls.Config
}

func (l *handshakingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakingConn{Conn: tls.Server(c, l.config)}, nil
}

type handshakingConn struct {
	*tls.Conn
	once sync.Once
	err  error
}

func (c *handshakingConn) handshake() error {
	c.once.Do(func() {
		_ = c.Conn.SetDeadline(time.Now().Add(handshakeTimeout))
		if c.err = c.Conn.Handshake(); c.err == nil {
			c.err = c.Conn.SetDeadline(time.Time{})
		}
		if c.err != nil {
			c.Conn.Close()
			c.err = errors.Join(errors.New("store: raft TLS handshake"), c.err)
		}
	})
	return c.err
}

func (c *handshakingConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *handshakingConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
