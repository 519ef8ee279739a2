package runtime

import (
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"

	"github.com/coffer-project/coffer/services/bufpool"
)

// Dial returns a client connection to target with the standard client
// interceptors (request-id propagation, status → domain error). The
// connection is lazy: dialling a role that is not up yet succeeds, and calls
// wait for it (or fail with Unavailable) as gRPC decides.
//
// The connection is plaintext unless extra carries transport credentials
// (ClientCredentials: mutual TLS towards a role, the last option wins).
func Dial(target string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(clientUnary),
		grpc.WithChainStreamInterceptor(clientStreamInterceptor),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
		experimental.WithBufferPool(bufpool.GRPC()),
		grpc.WithReadBufferSize(TransportBufferSize),
		grpc.WithWriteBufferSize(TransportBufferSize),
	}
	cc, err := grpc.NewClient(target, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("runtime: dial %s: %w", target, err)
	}
	return cc, nil
}
