package main

import (
	"context"
	"sync/atomic"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// endpointClientConn drives the endpoint with the library's own Client, so
// that the Client's overhead shows beside the wire client's.
type endpointClientConn struct {
	c *endpoint.Client
}

func dialEndpointClient(ctx context.Context, addr string) (Conn, error) {
	c, err := endpoint.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &endpointClientConn{c: c}, nil
}

func (e *endpointClientConn) String() error {
	reply, err := e.c.Call(context.Background(), "STRING", stringPayload)
	if err != nil {
		return err
	}
	return checkReplyString(reply, wantString)
}

func (e *endpointClientConn) Gob() error {
	reply, err := e.c.CallGob(context.Background(), "GOB", gobPayload)
	if err != nil {
		return err
	}
	return checkReplyString(reply, wantGob)
}

// Pipe pipelines through the Client's own machinery: it is safe for many
// goroutines and writes each call as soon as it is made.
func (e *endpointClientConn) Pipe(depth int, stop *atomic.Bool) (int64, error) {
	return pipeWorkers(depth, stop, e.String)
}

func (e *endpointClientConn) Close() error { return e.c.Close() }
