package endpoint_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// A Pool spreads calls over three endpoints, two connections to each. The
// endpoints greet every connection, so the Pool's Dialer is told to read the
// greeting. CHAT, which would take a pooled connection over, is refused.
func ExamplePool() {
	var addrs []string
	var servers []*endpoint.Endpoint
	var served []chan error
	for i := range 3 {
		e := &endpoint.Endpoint{
			Logger:   slog.New(slog.DiscardHandler),
			Greeting: fmt.Sprintf("endpoint %d ready", i),
		}
		handlers.Register(e) // STRING, GOB, CHAT
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- e.Serve(l) }()
		addrs = append(addrs, l.Addr().String())
		servers = append(servers, e)
		served = append(served, done)
	}

	// README pool begins
	p := endpoint.NewPool("tcp", addrs, endpoint.PoolConfig{
		Dialer:       endpoint.Dialer{Greeting: true}, // TLSConfig, Timeout, KeepAlive as for Dial
		ConnsPerAddr: 2,
	})
	defer p.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := p.Call(ctx, "STRING", "hello") // on the next healthy connection
	fmt.Println(reply, err)
	reply, err = p.CallGob(ctx, "GOB", handlers.GobPayload{N: 1, S: "x"})
	fmt.Println(reply, err)
	// A call whose connection had broken before its request was written is
	// retried on another connection; once the request may have been written,
	// the error is returned as it is (wrapping endpoint.ErrConnBroken when
	// the connection broke): the Pool never sends a command twice.
	_, err = p.Call(ctx, "CHAT")
	fmt.Println(err)
	// README pool ends

	p.Close()
	_, err = p.Call(ctx, "PING")
	fmt.Println(err)
	for i, e := range servers {
		e.Shutdown(ctx)
		<-served[i]
	}
	// Output:
	// OK hello <nil>
	// OK N=1 S="x" <nil>
	// endpoint: CHAT takes its connection over: dial a Client for it, not a Pool
	// endpoint: pool closed
}
