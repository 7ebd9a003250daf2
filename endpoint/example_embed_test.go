package endpoint_test

// README begins
import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// Example_embedding serves a custom command, UPPER, next to the built-ins,
// and calls it with the Client.
func Example_embedding() {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	handlers.Register(e) // STRING, GOB, CHAT; HELP and PING are always there

	// UPPER: the payload is one line; the reply is that line in upper case.
	e.HandleFunc("UPPER", func(ctx context.Context, req *endpoint.Request) error {
		line, err := req.ReadLine() // bounded by e.MaxLineBytes
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return fmt.Errorf("nothing to upper-case") // the client gets "ERR nothing to upper-case"
		}
		return req.WriteLine(strings.ToUpper(string(line)))
	})

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go e.Serve(l)
	defer e.Shutdown(context.Background())

	c, err := endpoint.Dial(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	reply, err := c.Call(context.Background(), "UPPER", "hello, endpoint")
	fmt.Println(reply, err)
	_, err = c.Call(context.Background(), "UPPER", "")
	fmt.Println(err)
	// Output:
	// HELLO, ENDPOINT <nil>
	// endpoint: UPPER: nothing to upper-case
}

// README ends
