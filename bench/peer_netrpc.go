package main

import (
	"context"
	"net"
	"net/rpc"
	"sync/atomic"

	"github.com/endpoint-rpc/endpoint/handlers"
)

// RPCService is the net/rpc peer's service: the same two calls as the wire's
// STRING and GOB, with the same replies. net/rpc's gob codec keeps one
// encoder and decoder per connection, so type definitions travel once.
type RPCService struct{}

// String echoes text after "OK ", as STRING does.
func (RPCService) String(text string, reply *string) error {
	*reply = "OK " + text
	return nil
}

// Gob takes the nested struct and replies as GOB does.
func (RPCService) Gob(v *handlers.GobPayload, reply *string) error {
	*reply = gobReply(v)
	return nil
}

// serveNetRPC serves net/rpc on l, one goroutine per connection.
func serveNetRPC(l net.Listener) (stop func(), err error) {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Bench", RPCService{}); err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed by stop
			}
			go srv.ServeConn(c)
		}
	}()
	return func() { l.Close() }, nil
}

// netRPCConn is an rpc.Client on one connection.
type netRPCConn struct {
	c *rpc.Client
}

func dialNetRPC(ctx context.Context, addr string) (Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &netRPCConn{c: rpc.NewClient(c)}, nil
}

func (n *netRPCConn) String() error {
	var reply string
	if err := n.c.Call("Bench.String", stringPayload, &reply); err != nil {
		return err
	}
	return checkReplyString(reply, wantString)
}

func (n *netRPCConn) Gob() error {
	var reply string
	if err := n.c.Call("Bench.Gob", gobPayload, &reply); err != nil {
		return err
	}
	return checkReplyString(reply, wantGob)
}

// Pipe keeps depth calls in flight from depth goroutines; rpc.Client
// multiplexes them on its one connection.
func (n *netRPCConn) Pipe(depth int, stop *atomic.Bool) (int64, error) {
	return pipeWorkers(depth, stop, n.String)
}

func (n *netRPCConn) Close() error { return n.c.Close() }
