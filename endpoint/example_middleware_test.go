package endpoint_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// README middleware begins

// allowOnly is a middleware that refuses every command not named: the error
// it returns becomes the client's "ERR" line, and the handler never runs.
// (Refusing a command that has a payload leaves the payload unread, to be
// read as the next command line; return a *endpoint.ProtocolError to close
// the connection instead.)
func allowOnly(commands ...string) endpoint.Middleware {
	allowed := make(map[string]bool, len(commands))
	for _, c := range commands {
		allowed[c] = true
	}
	return func(next endpoint.Handler) endpoint.Handler {
		return endpoint.HandlerFunc(func(ctx context.Context, req *endpoint.Request) error {
			if !allowed[req.Command] {
				return fmt.Errorf("%s is not allowed here", req.Command)
			}
			return next.ServeCommand(ctx, req)
		})
	}
}

// README middleware ends

// timing is a middleware that records how long each command took, per
// command, and how many of its requests failed.
type timing struct {
	mu     sync.Mutex
	took   map[string][]time.Duration
	failed map[string]int
}

func (t *timing) middleware(next endpoint.Handler) endpoint.Handler {
	return endpoint.HandlerFunc(func(ctx context.Context, req *endpoint.Request) error {
		start := time.Now() // before: the handler has not run
		err := next.ServeCommand(ctx, req)
		t.mu.Lock() // after: handlers run on many connections at once
		defer t.mu.Unlock()
		t.took[req.Command] = append(t.took[req.Command], time.Since(start))
		if err != nil {
			t.failed[req.Command]++
		}
		return err
	})
}

// Use installs a timing middleware, outermost, so that it also times the
// requests the allow-list refuses, and then the allow-list.
func ExampleEndpoint_Use() {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	handlers.Register(e) // STRING, GOB, CHAT, STATS; HELP and PING are built in
	t := &timing{took: map[string][]time.Duration{}, failed: map[string]int{}}
	e.Use(t.middleware, allowOnly("PING", "STRING")) // before Serve

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go e.Serve(l)

	ctx := context.Background()
	c, err := endpoint.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		panic(err)
	}
	for _, call := range [][]string{{"PING"}, {"STRING", "hello"}, {"PING"}, {"HELP"}} {
		reply, err := c.Call(ctx, call[0], call[1:]...)
		fmt.Printf("%s: %q %v\n", call[0], reply, err)
	}
	c.Close()
	shutdownCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := e.Shutdown(shutdownCtx); err != nil {
		panic(err)
	}

	// Durations vary from run to run; their count does not.
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(t.took)) {
		fmt.Printf("timed %s: %d requests, %d failed\n", name, len(t.took[name]), t.failed[name])
	}
	// Output:
	// PING: "PONG" <nil>
	// STRING: "OK hello" <nil>
	// PING: "PONG" <nil>
	// HELP: "" endpoint: HELP: HELP is not allowed here
	// timed HELP: 1 requests, 1 failed
	// timed PING: 2 requests, 0 failed
	// timed STRING: 1 requests, 0 failed
}

// Stats counts every request as it is answered: by the time the client has
// the reply, the request is in the figures.
func ExampleEndpoint_Stats() {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	handlers.Register(e)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go e.Serve(l)

	ctx := context.Background()
	c, err := endpoint.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		panic(err)
	}
	c.Call(ctx, "PING")
	c.Call(ctx, "PING")
	c.Call(ctx, "STRING", "hello")
	c.Call(ctx, "NOPE") // an unknown command: an ERR reply

	s := e.Stats()
	fmt.Printf("connections=%d accepted=%d requests=%d errors=%d\n", s.Connections, s.Accepted, s.Requests, s.Errors)
	for _, name := range []string{"PING", "STRING", "unknown"} {
		cs := s.Commands[name]
		fmt.Printf("%s: %d requests, %d errors\n", name, cs.Requests, cs.Errors)
	}
	reply, _ := c.Call(ctx, "STATS") // the same figures, on the wire
	fmt.Println(reply)

	c.Close()
	shutdownCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := e.Shutdown(shutdownCtx); err != nil {
		panic(err)
	}
	// Output:
	// connections=1 accepted=1 requests=4 errors=1
	// PING: 2 requests, 0 errors
	// STRING: 1 requests, 0 errors
	// unknown: 1 requests, 1 errors
	// connections=1 members=0 requests=4 errors=1 accepted=1 refused=0 panics=0 protocol_errors=0 slow_members=0
}
