package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// serveEndpoint serves the library under test on l: an Endpoint with the
// built-in handlers and default limits, logging to nowhere so that logging
// does not dominate the figures. It adds GOBS, the nested-struct call as a
// typed command with the gob session codec: the same value and the same reply
// as GOB (and as net/rpc's Bench.Gob), with type definitions sent once per
// connection.
func serveEndpoint(l net.Listener) (stop func(), err error) {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	handlers.Register(e)
	e.Handle("GOBS", endpoint.Typed(func(_ context.Context, v *handlers.GobPayload) (*string, error) {
		reply := gobReply(v)
		return &reply, nil
	}))
	go e.Serve(l)
	return func() { e.Close() }, nil
}
