package discovery

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
)

// TestStaticBalancesOverEveryAddress dials a two-address Static target and
// checks both servers answer, i.e. the resolver handed gRPC both addresses.
func TestStaticBalancesOverEveryAddress(t *testing.T) {
	var addrs []string
	hits := map[string]int{}
	for i := 0; i < 2; i++ {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		hs := health.NewServer()
		hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		healthpb.RegisterHealthServer(srv, hs)
		go srv.Serve(lis)
		t.Cleanup(srv.Stop)
		addrs = append(addrs, lis.Addr().String())
	}
	s := NewStatic(map[string][]string{Blobstore: addrs, Metadata: addrs[:1]})
	if tgt, _ := s.Target(Metadata); tgt != "passthrough:///"+addrs[0] {
		t.Fatalf("single-address target %q", tgt)
	}
	tgt, err := s.Target(Blobstore)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(tgt, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// round_robin only picks connections that are READY, so the first calls
	// may all reach one server; keep calling until both answered.
	for len(hits) < 2 && ctx.Err() == nil {
		var p peer.Peer
		if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p)); err != nil {
			t.Fatal(err)
		}
		hits[p.Addr.String()]++
	}
	if len(hits) != 2 {
		t.Fatalf("calls went to %v, want both of %v", hits, addrs)
	}
	if _, err := s.Target(Corsd); err == nil {
		t.Fatal("want error for an unknown role")
	}
}
