package endpoint_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"strings"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// An embedding program registers its own command and serves it on a real
// listener; a Client calls it.
func ExampleEndpoint_Handle() {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	// UPPER takes one payload line and replies with it in upper case.
	e.HandleFunc("upper", func(_ context.Context, req *endpoint.Request) error {
		line, err := req.ReadLine()
		if err != nil {
			return err // a *ProtocolError: ERR, then the connection closes
		}
		return req.WriteLine(strings.ToUpper(string(line)))
	})

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()

	ctx := context.Background()
	c, err := endpoint.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	reply, err := c.Call(ctx, "UPPER", "hello, endpoint")
	fmt.Println(reply, err)
	c.Close()

	e.Shutdown(ctx)
	<-served
	// Output:
	// HELLO, ENDPOINT <nil>
}

func ExampleClient_Call() {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()

	ctx := context.Background()
	c, err := endpoint.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		c.Close()
		e.Shutdown(ctx)
		<-served
	}()

	reply, err := c.Call(ctx, "PING")
	fmt.Println(reply, err)

	// An ERR reply is a *RemoteError.
	_, err = c.Call(ctx, "NOSUCH")
	var re *endpoint.RemoteError
	if errors.As(err, &re) {
		fmt.Println("refused:", re.Message)
	}
	// Output:
	// PONG <nil>
	// refused: unknown command "NOSUCH"
}

// Shutdown lets the request in flight finish and get its reply, then Serve
// returns ErrEndpointClosed.
func ExampleEndpoint_Shutdown() {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	started, finish := make(chan struct{}), make(chan struct{})
	e.HandleFunc("SLOW", func(_ context.Context, req *endpoint.Request) error {
		close(started)
		<-finish
		return req.WriteLine("done")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()

	ctx := context.Background()
	c, err := endpoint.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	replied := make(chan string)
	go func() {
		reply, err := c.Call(ctx, "SLOW")
		replied <- fmt.Sprint(reply, " ", err)
	}()
	<-started

	shut := make(chan error)
	go func() { shut <- e.Shutdown(ctx) }()
	close(finish) // let the request finish: Shutdown waits for it
	fmt.Println("SLOW:", <-replied)
	fmt.Println("Shutdown:", <-shut)
	fmt.Println("Serve:", <-served)
	// Output:
	// SLOW: done <nil>
	// Shutdown: <nil>
	// Serve: endpoint: endpoint closed
}
