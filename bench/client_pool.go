package main

import (
	"context"
	"sync/atomic"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// poolConn drives the endpoint through an endpoint.Pool over its one address.
// Under a workload the connections are handles on one Pool with as many
// connections as the workload has (see sharedPool), so the workload's
// goroutines all call through the Pool, which hands each call to the next
// connection in turn; a handle dialled alone owns a Pool of one connection.
type poolConn struct {
	p   *endpoint.Pool
	own bool // Close closes p
}

func dialPool(_ context.Context, addr string) (Conn, error) {
	return &poolConn{p: newBenchPool(addr, 1), own: true}, nil
}

// sharedPool makes one Pool of conns connections to addr and returns a dial
// that hands out handles on it, and the Pool's close.
func sharedPool(addr string, conns int) (func(context.Context, string) (Conn, error), func() error) {
	p := newBenchPool(addr, conns)
	dial := func(context.Context, string) (Conn, error) { return &poolConn{p: p}, nil }
	return dial, p.Close
}

func newBenchPool(addr string, conns int) *endpoint.Pool {
	return endpoint.NewPool("tcp", []string{addr}, endpoint.PoolConfig{ConnsPerAddr: conns})
}

func (c *poolConn) String() error {
	reply, err := c.p.Call(context.Background(), "STRING", stringPayload)
	if err != nil {
		return err
	}
	return checkReplyString(reply, wantString)
}

func (c *poolConn) Gob() error {
	reply, err := c.p.CallGob(context.Background(), "GOB", gobPayload)
	if err != nil {
		return err
	}
	return checkReplyString(reply, wantGob)
}

// Pipe keeps depth calls in flight through the Pool from depth goroutines.
func (c *poolConn) Pipe(depth int, stop *atomic.Bool) (int64, error) {
	return pipeWorkers(depth, stop, c.String)
}

func (c *poolConn) Close() error {
	if c.own {
		return c.p.Close()
	}
	return nil
}
