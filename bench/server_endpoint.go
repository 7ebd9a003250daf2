package main

import (
	"log/slog"
	"net"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// serveEndpoint serves the library under test on l: an Endpoint with the
// built-in handlers and default limits, logging to nowhere so that logging
// does not dominate the figures.
func serveEndpoint(l net.Listener) (stop func(), err error) {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	handlers.Register(e)
	go e.Serve(l)
	return func() { e.Close() }, nil
}
