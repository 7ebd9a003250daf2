package main

import (
	"context"
	"fmt"
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
	return serveEndpointWith(l, &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)})
}

// serveEndpointNoStats is serveEndpoint with stats counting off
// (Endpoint.NoStats): the endpoint row over this one is what counting costs.
func serveEndpointNoStats(l net.Listener) (stop func(), err error) {
	return serveEndpointWith(l, &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), NoStats: true})
}

// serveEndpointMW is serveEndpoint, stats on, with one middleware of the
// kind a real server installs: a per-command allow-list, looked up in a map
// for every request, that lets every command the benchmark sends through.
// This row over the endpoint row is what one middleware layer costs.
func serveEndpointMW(l net.Listener) (stop func(), err error) {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	e.Use(allowList("HELP", "PING", "STATS", "STRING", "GOB", "GOBS"))
	return serveEndpointWith(l, e)
}

// allowList is a middleware that refuses, with an ERR reply, any command not
// named.
func allowList(commands ...string) endpoint.Middleware {
	allowed := make(map[string]bool, len(commands))
	for _, c := range commands {
		allowed[c] = true
	}
	return func(next endpoint.Handler) endpoint.Handler {
		return endpoint.HandlerFunc(func(ctx context.Context, req *endpoint.Request) error {
			if !allowed[req.Command] {
				return fmt.Errorf("command %s not allowed", req.Command)
			}
			return next.ServeCommand(ctx, req)
		})
	}
}

// serveEndpointWith registers the built-in handlers and GOBS on e and serves
// it on l: with ServeTLS where e has a TLSConfig, with Serve otherwise.
func serveEndpointWith(l net.Listener, e *endpoint.Endpoint) (stop func(), err error) {
	handlers.Register(e)
	e.Handle("GOBS", endpoint.Typed(func(_ context.Context, v *handlers.GobPayload) (*string, error) {
		reply := gobReply(v)
		return &reply, nil
	}))
	if e.TLSConfig != nil {
		go e.ServeTLS(l)
	} else {
		go e.Serve(l)
	}
	return func() { e.Close() }, nil
}
