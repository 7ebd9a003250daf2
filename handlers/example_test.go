package handlers_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

func ExampleRegister() {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	handlers.Register(e)
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
	fmt.Println(c.Call(ctx, "STRING", "hello"))
	fmt.Println(c.CallGob(ctx, "GOB", handlers.GobPayload{
		N: 42, S: "the answer",
		C: &handlers.GobPayload{N: 7, S: "nested"},
	}))
	c.Close()
	e.Shutdown(ctx)
	<-served
	// Output:
	// OK hello <nil>
	// OK N=42 S="the answer" <nil>
}
