package main

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/endpoint-rpc/endpoint/handlers"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// grpcService describes, by hand, the service protoc would generate for
//
//	service Bench {
//	  rpc String(Text) returns (Text);
//	  rpc Gob(Payload) returns (Text);
//	}
//
// with the messages of protoCodec.
var grpcService = grpc.ServiceDesc{
	ServiceName: "bench.Bench",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "String", Handler: grpcString},
		{MethodName: "Gob", Handler: grpcGob},
	},
	Metadata: "bench.proto",
}

// Full method names, as clients call them.
const (
	grpcStringMethod = "/bench.Bench/String"
	grpcGobMethod    = "/bench.Bench/Gob"
)

// grpcString echoes text after "OK ", as STRING does.
func grpcString(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
	in := new(textMsg)
	if err := dec(in); err != nil {
		return nil, err
	}
	h := func(_ context.Context, req any) (any, error) {
		return &textMsg{S: "OK " + req.(*textMsg).S}, nil
	}
	if ic == nil {
		return h(ctx, in)
	}
	return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: grpcStringMethod}, h)
}

// grpcGob takes the nested struct and replies as GOB does.
func grpcGob(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
	in := new(handlers.GobPayload)
	if err := dec(in); err != nil {
		return nil, err
	}
	h := func(_ context.Context, req any) (any, error) {
		return &textMsg{S: gobReply(req.(*handlers.GobPayload))}, nil
	}
	if ic == nil {
		return h(ctx, in)
	}
	return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: grpcGobMethod}, h)
}

// serveGRPC serves the gRPC peer on l with default settings.
func serveGRPC(l net.Listener) (stop func(), err error) {
	return serveGRPCWith(l, nil)
}

// serveGRPCWith serves the gRPC peer on l with the transport credentials
// creds (nil: none, plain HTTP/2) and default settings otherwise.
func serveGRPCWith(l net.Listener, creds credentials.TransportCredentials) (stop func(), err error) {
	opts := []grpc.ServerOption{grpc.ForceServerCodecV2(protoCodec{})}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	s := grpc.NewServer(opts...)
	s.RegisterService(&grpcService, struct{}{})
	go s.Serve(l)
	return s.Stop, nil
}

// grpcConn is one grpc.ClientConn, which is one HTTP/2 connection.
type grpcConn struct {
	cc *grpc.ClientConn
}

// grpcStringRequest is the request of every String call; it is only read.
var grpcStringRequest = &textMsg{S: stringPayload}

func dialGRPC(_ context.Context, addr string) (Conn, error) {
	return dialGRPCWith(addr, insecure.NewCredentials())
}

// dialGRPCWith makes a grpc.ClientConn to addr with the transport
// credentials creds. It connects, and makes its TLS handshake if any, on
// the first call.
func dialGRPCWith(addr string, creds credentials.TransportCredentials) (Conn, error) {
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(protoCodec{})))
	if err != nil {
		return nil, err
	}
	return &grpcConn{cc: cc}, nil
}

func (g *grpcConn) String() error {
	var reply textMsg
	if err := g.cc.Invoke(context.Background(), grpcStringMethod, grpcStringRequest, &reply); err != nil {
		return err
	}
	return checkReplyString(reply.S, wantString)
}

func (g *grpcConn) Gob() error {
	var reply textMsg
	if err := g.cc.Invoke(context.Background(), grpcGobMethod, gobPayload, &reply); err != nil {
		return err
	}
	return checkReplyString(reply.S, wantGob)
}

// Pipe keeps depth unary calls in flight from depth goroutines, each a stream
// on the one HTTP/2 connection.
func (g *grpcConn) Pipe(depth int, stop *atomic.Bool) (int64, error) {
	return pipeWorkers(depth, stop, g.String)
}

func (g *grpcConn) Close() error { return g.cc.Close() }
