package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/coffer-project/coffer/services/errs"
)

// serverMetrics are the per-process gRPC server metrics.
type serverMetrics struct {
	handled *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffer_grpc_server_handled_total",
			Help: "gRPC calls handled, by method and code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coffer_grpc_server_handling_seconds",
			Help:    "gRPC call latency, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"method"}),
	}
	reg.MustRegister(m.handled, m.latency)
	return m
}

// The chain runs outermost first: request id → logging+metrics →
// authorization (mTLS only) → recovery → error translation → handler. Recovery sits inside logging so a recovered
// panic is logged and counted like any other Internal error.

func (s *Server) unaryInterceptors() []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			ctx = WithRequestID(ctx, requestIDFromIncoming(ctx))
			start := time.Now()
			resp, err := h(ctx, req)
			s.observe(ctx, info.FullMethod, start, err)
			return resp, err
		},
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := s.authorize(ctx, info.FullMethod); err != nil {
				return nil, errs.ToStatus(err).Err()
			}
			return h(ctx, req)
		},
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
			defer func() {
				if r := recover(); r != nil {
					err = s.recovered(ctx, info.FullMethod, r)
				}
			}()
			return h(ctx, req)
		},
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			if err != nil {
				return nil, errs.ToStatus(err).Err()
			}
			return resp, nil
		},
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

func (s *Server) streamInterceptors() []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{
		func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			ctx := WithRequestID(ss.Context(), requestIDFromIncoming(ss.Context()))
			start := time.Now()
			err := h(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
			s.observe(ctx, info.FullMethod, start, err)
			return err
		},
		func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := s.authorize(ss.Context(), info.FullMethod); err != nil {
				return errs.ToStatus(err).Err()
			}
			return h(srv, ss)
		},
		func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = s.recovered(ss.Context(), info.FullMethod, r)
				}
			}()
			return h(srv, ss)
		},
		func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := h(srv, ss); err != nil {
				return errs.ToStatus(err).Err()
			}
			return nil
		},
	}
}

func (s *Server) recovered(ctx context.Context, method string, r any) error {
	s.log.ErrorContext(ctx, "panic in gRPC handler", "method", method, "panic", fmt.Sprint(r),
		"request_id", RequestID(ctx), "stack", string(debug.Stack()))
	return errs.ToStatus(errs.E(errs.Internal, method, fmt.Errorf("panic: %v", r))).Err()
}

func (s *Server) observe(ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err)
	s.metrics.handled.WithLabelValues(method, code.String()).Inc()
	s.metrics.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
	level := slog.LevelDebug
	// A stream the client closed (health watches end at every reconnect)
	// is routine, not news.
	if err != nil && code != codes.Canceled {
		level = slog.LevelInfo
		if k := errs.KindOf(errs.FromStatus(method, err)); k == errs.Internal || k == errs.DataLoss {
			level = slog.LevelError
		}
	}
	s.log.Log(ctx, level, "grpc", "method", method, "code", code.String(),
		"duration", time.Since(start), "request_id", RequestID(ctx), "err", err)
}

// Client interceptors: propagate the request id, turn statuses back into
// domain errors. Every client built by Dial has them.

func clientUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := RequestID(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, RequestIDHeader, id)
	}
	return errs.FromStatus(method, invoker(ctx, method, req, reply, cc, opts...))
}

type clientStream struct {
	grpc.ClientStream
	method string
}

func (c *clientStream) SendMsg(m any) error {
	return errs.FromStatus(c.method, c.ClientStream.SendMsg(m))
}
func (c *clientStream) RecvMsg(m any) error {
	// io.EOF is not a status and passes through FromStatus unchanged.
	return errs.FromStatus(c.method, c.ClientStream.RecvMsg(m))
}
func (c *clientStream) CloseSend() error { return c.ClientStream.CloseSend() }

func clientStreamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if id := RequestID(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, RequestIDHeader, id)
	}
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, errs.FromStatus(method, err)
	}
	return &clientStream{ClientStream: cs, method: method}, nil
}
